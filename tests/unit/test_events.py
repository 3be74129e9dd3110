"""The canonical event contract: what validates and what is a clear error."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from shared.events import DossierReceived, dump_event, event_json_schema, parse_event

pytestmark = pytest.mark.unit


def received(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "type": "dossier.received",
        "occurred_at": "2026-03-31T23:30:00+07:00",
        "source": "dvc-haiduong",
        "unit_code": "HD.CG.01",
        "schema_version": 1,
        "dossier_id": "H23.1-240415-0001",
        "procedure_code": "1.001234",
        "channel": "online",
        "service_level": "full_online",
        "essential": True,
        "digitized": True,
    }
    event.update(overrides)
    return event


def errors_of(raw: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        parse_event(orjson.dumps(raw))
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def test_valid_event_round_trips_through_json() -> None:
    event = parse_event(orjson.dumps(received()))
    assert isinstance(event, DossierReceived)
    assert parse_event(dump_event(event)) == event
    assert event.key == "H23.1-240415-0001"


def test_unknown_field_is_an_error_naming_it() -> None:
    assert errors_of(received(colour="blue")) == [(("dossier.received", "colour"), "extra_forbidden")]


def test_naive_datetime_is_an_error() -> None:
    assert errors_of(received(occurred_at="2026-03-31T23:30:00")) == [
        (("dossier.received", "occurred_at"), "timezone_aware")
    ]


@pytest.mark.parametrize("score", [0, 6, "5", 4.5])
def test_out_of_range_or_non_integer_score_is_an_error(score: object) -> None:
    raw = {k: v for k, v in received(type="dossier.rated", score=score).items()
           if k not in ("channel", "service_level", "essential", "digitized")}  # fmt: skip
    [(loc, _)] = errors_of(raw)
    assert loc == ("dossier.rated", "score")


def test_unknown_type_is_an_error() -> None:
    [(_, kind)] = errors_of(received(type="dossier.teleported"))
    assert kind == "union_tag_invalid"


def test_unknown_schema_version_is_an_error() -> None:
    assert errors_of(received(schema_version=3)) == [(("dossier.received", "schema_version"), "literal_error")]


def test_a_version_1_event_stays_valid_and_new_events_are_version_2() -> None:
    old = parse_event(orjson.dumps(received(schema_version=1)))
    assert old.schema_version == 1
    new = parse_event(orjson.dumps({k: v for k, v in received().items() if k != "schema_version"}))
    assert new.schema_version == 2


def dossier_event(kind: str, **fields: Any) -> dict[str, Any]:
    base = {k: v for k, v in received().items() if k not in ("channel", "service_level", "essential", "digitized")}
    return base | {"type": kind, **fields}


def test_lifecycle_events_validate_and_are_keyed_by_dossier() -> None:
    events = [
        parse_event(orjson.dumps(dossier_event("dossier.paused", reason="supplement"))),
        parse_event(orjson.dumps(dossier_event("dossier.paused", reason="financial_obligation"))),
        parse_event(orjson.dumps(dossier_event("dossier.resumed"))),
        parse_event(orjson.dumps(dossier_event("dossier.paid", channel="national_portal", amount_vnd=50_000))),
        parse_event(orjson.dumps(dossier_event("dossier.paid", channel="direct"))),
    ]
    assert [e.type for e in events] == ["dossier.paused"] * 2 + ["dossier.resumed"] + ["dossier.paid"] * 2
    assert {e.key for e in events} == {"H23.1-240415-0001"}


def test_a_pause_needs_a_known_reason_and_a_payment_a_known_channel() -> None:
    [(loc, kind)] = errors_of(dossier_event("dossier.paused", reason="lunch"))
    assert (loc, kind) == (("dossier.paused", "reason"), "enum")
    [(loc, kind)] = errors_of(dossier_event("dossier.paid", channel="bitcoin"))
    assert (loc, kind) == (("dossier.paid", "channel"), "enum")
    [(loc, kind)] = errors_of(dossier_event("dossier.paid", channel="direct", amount_vnd=-1))
    assert (loc, kind) == (("dossier.paid", "amount_vnd"), "greater_than_equal")


def test_a_stopped_completion_and_the_optional_766_facts_validate() -> None:
    completed = parse_event(orjson.dumps(dossier_event(
        "dossier.completed", outcome="stopped", result_channel="in_person", electronic_result=False,
    )))  # fmt: skip
    assert completed.type == "dossier.completed"
    assert completed.outcome == "stopped"
    facts = {"fee_bearing": True, "reused_data": False, "from_personal_store": True, "population_data": True}
    event = parse_event(orjson.dumps(received(**facts)))
    assert isinstance(event, DossierReceived)
    assert (event.fee_bearing, event.reused_data, event.from_personal_store, event.population_data) == (
        True, False, True, True,
    )  # fmt: skip
    assert parse_event(orjson.dumps(received())).fee_bearing is None


def test_feedback_score_is_optional() -> None:
    event = parse_event(
        orjson.dumps({"event_id": str(uuid.uuid4()), "type": "feedback.closed", "occurred_at": "2026-01-02T00:00:00Z",
                      "source": "pakn", "unit_code": "HD", "feedback_id": "PA-1", "on_time": True})
    )  # fmt: skip
    assert event.key == "PA-1"


def test_committed_json_schema_matches_the_models() -> None:
    committed = Path(__file__).resolve().parents[2] / "shared" / "schema" / "events.schema.json"
    assert json.loads(committed.read_text("utf-8")) == json.loads(json.dumps(event_json_schema()))
