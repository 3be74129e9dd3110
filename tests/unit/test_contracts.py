"""The wire contracts in shared/: committed schemas match the models, and real messages satisfy them."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import orjson
import pytest

from services.cli.admin import CONTRACT_SCHEMAS, SCHEMA_DIR, contract_schema_text
from services.metrics.core.kpis import DEFAULT_KPIS
from shared.alert_changes import AlertChange, AlertStatus
from shared.kpi_catalogue import KPI_NAMES, WindowName
from shared.snapshots import KpiSnapshot, snapshot_adapter

pytestmark = pytest.mark.unit
AT = datetime(2026, 7, 1, 3, tzinfo=UTC)


def committed(name: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((SCHEMA_DIR / name).read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("name", list(CONTRACT_SCHEMAS))
def test_committed_schema_matches_the_models(name: str) -> None:
    assert (SCHEMA_DIR / name).read_text("utf-8") == contract_schema_text(name)


def test_metrics_defines_exactly_the_catalogue_kpis() -> None:
    assert tuple(k.name for k in DEFAULT_KPIS) == KPI_NAMES


def snapshot(**changes: object) -> KpiSnapshot:
    base = KpiSnapshot(
        kpi="online_submission_rate", window="30d", unit_code="H24.100", unit_level="commune", numerator=87,
        denominator=100, ratio=0.87, window_start=AT, window_end=AT, computed_at=AT,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_published_snapshot_satisfies_the_committed_schema() -> None:
    message = orjson.loads(snapshot_adapter.dump_json(snapshot()))
    jsonschema.validate(message, committed("kpi_snapshot.schema.json"))
    assert snapshot_adapter.validate_python(message) == snapshot()


def test_a_snapshot_without_data_has_a_null_ratio_and_still_satisfies_the_schema() -> None:
    message = orjson.loads(snapshot_adapter.dump_json(snapshot(numerator=0, denominator=0, ratio=None)))
    jsonschema.validate(message, committed("kpi_snapshot.schema.json"))
    assert message["ratio"] is None


def test_the_snapshot_schema_refuses_a_kpi_outside_the_catalogue() -> None:
    message = orjson.loads(snapshot_adapter.dump_json(snapshot(kpi="made_up_rate")))
    with pytest.raises(jsonschema.ValidationError, match="made_up_rate"):
        jsonschema.validate(message, committed("kpi_snapshot.schema.json"))


def test_snapshot_key_keeps_one_scope_on_one_partition() -> None:
    assert snapshot().key == b"online_submission_rate|30d|H24.100"


def test_a_published_alert_change_satisfies_the_committed_schema() -> None:
    change = AlertChange(
        id=uuid.uuid4(), alert_id="online_submission_rate.district/HD.CG", rule="online_submission_rate.district",
        subject="HD.CG", severity="warning", from_status=AlertStatus.PENDING, to_status=AlertStatus.FIRING, at=AT,
        episode=1, value=0.6, target=0.8, numerator=60, denominator=100, labels={"unit": "HD.CG"}, annotations={},
    )  # fmt: skip
    message = orjson.loads(change.model_dump_json())
    jsonschema.validate(message, committed("alert_change.schema.json"))
    assert AlertChange.model_validate(message) == change


def test_catalogue_schema_lists_every_kpi_and_window() -> None:
    defs = committed("kpi_catalogue.schema.json")["$defs"]
    assert isinstance(defs, dict)
    assert defs["KpiName"]["enum"] == list(KPI_NAMES)
    assert defs["WindowName"]["enum"] == [w.value for w in WindowName]
    assert defs["Timezone"]["const"] == "Asia/Ho_Chi_Minh"


def test_every_contract_schema_is_committed() -> None:
    assert sorted(p.name for p in Path(SCHEMA_DIR).glob("*.schema.json")) == sorted(CONTRACT_SCHEMAS)
