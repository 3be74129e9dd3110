"""The committed AsyncAPI document of the ingest topics is what `faststream docs gen` produces today."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "ingest.yaml"


def test_document_names_the_three_ingest_topics_and_the_dlq_headers() -> None:
    text = COMMITTED.read_text("utf-8")
    for address in ("civicpulse.events.raw", "civicpulse.events", "civicpulse.events.dlq"):
        assert f"address: {address}\n" in text
    assert "x-dlq-reason" in text
