"""The committed AsyncAPI document of the metrics topics is what `faststream docs gen` produces today."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "metrics.yaml"


def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMMITTED.read_text("utf-8"))
    return document


def test_document_receives_canonical_events_and_sends_snapshots_and_dead_letters() -> None:
    document = committed()
    actions = {
        document["channels"][op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]: op["action"]
        for op in document["operations"].values()
    }
    assert actions == {
        "civicpulse.events": "receive",
        "civicpulse.kpi.snapshots": "send",
        "civicpulse.events.dlq": "send",
    }
    schemas = document["components"]["schemas"]
    assert {"DossierReceived", "DossierCompleted", "FeedbackClosed", "KpiSnapshot"} <= set(schemas)
