"""The committed AsyncAPI document of the alerts topics is what `faststream docs gen` produces today."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "alerts.yaml"


def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMMITTED.read_text("utf-8"))
    return document


def test_document_receives_kpi_snapshots_and_sends_alert_changes() -> None:
    document = committed()
    channels = {name: channel["address"] for name, channel in document["channels"].items()}
    actions = {channels[op["channel"]["$ref"].rsplit("/", 1)[-1]]: op for op in document["operations"].values()}
    assert {address: op["action"] for address, op in actions.items()} == {
        "civicpulse.kpi.snapshots": "receive",
        "civicpulse.alerts": "send",
    }
    schemas = document["components"]["schemas"]
    received = next(s for name, s in schemas.items() if name.endswith(":Payload"))
    assert received["items"]["title"] == "KpiSnapshot"
    assert {"AlertChange", "AlertStatus"} <= set(schemas)
    sent = document["components"]["messages"]["alert-changes:Message"]
    assert sent["payload"] == {"$ref": "#/components/schemas/AlertChange"}
