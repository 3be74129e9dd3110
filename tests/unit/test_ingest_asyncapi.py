"""The committed AsyncAPI document of the ingest topics is what `faststream docs gen` produces today."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.ingest.asyncapi import app

pytestmark = pytest.mark.unit
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "asyncapi" / "ingest.yaml"
REGENERATE = "faststream docs gen --factory services.ingest.asyncapi:app --yaml --out docs/asyncapi/ingest.yaml"


def test_committed_asyncapi_document_is_up_to_date() -> None:
    generated = app().schema.to_specification().to_yaml()
    # Compared as data: FastStream keeps publishers in a WeakSet, so channel order varies from run to run.
    assert yaml.safe_load(generated) == yaml.safe_load(COMMITTED.read_text("utf-8")), f"regenerate it: {REGENERATE}"


def test_document_names_the_three_ingest_topics_and_the_dlq_headers() -> None:
    text = COMMITTED.read_text("utf-8")
    for address in ("civicpulse.events.raw", "civicpulse.events", "civicpulse.events.dlq"):
        assert f"address: {address}\n" in text
    assert "x-dlq-reason" in text
