"""The composition root: parts given by keyword replace the built ones, and nothing connects before the lifespan."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.ingest.auth import Credentials
from services.ingest.core.adapters import AdapterContext
from services.ingest.main import build_service, create_app
from services.ingest.settings import IngestSettings
from shared.producer import OutgoingRecord

pytestmark = pytest.mark.unit
NOW = datetime(2024, 4, 20, 3, 0, tzinfo=UTC)
AUTH = {"Authorization": "Bearer demo-token"}


class KeptRecords:
    """A record sink that keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[OutgoingRecord] = []

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        self.sent.extend(records)


def rated(occurred_at: str = "2024-04-19T08:30:00+07:00") -> dict[str, object]:
    return {"type": "dossier.rated", "event_id": str(uuid.uuid4()), "occurred_at": occurred_at, "source": "demo",
            "unit_code": "HD.STP", "dossier_id": "D-1", "procedure_code": "P-1", "score": 4}  # fmt: skip


async def test_a_given_producer_clock_and_registry_are_the_ones_the_api_uses() -> None:
    sink, registry = KeptRecords(), CollectorRegistry()
    app = create_app(
        IngestSettings(kafka_bootstrap="127.0.0.1:1", topic_events="ev"),
        producer=sink,
        registry=registry,
        clock=lambda: NOW,
        credentials=Credentials.development(),
        adapter_context=AdapterContext.from_mapping({}),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest") as client:
        accepted = await client.post("/v1/events", json=[rated()], headers=AUTH)
        too_late = await client.post("/v1/events", json=[rated("2024-04-22T08:00:00+07:00")], headers=AUTH)
    assert accepted.status_code == 202, accepted.text
    assert [(r.topic, r.key) for r in sink.sent] == [("ev", b"D-1")]
    assert too_late.status_code == 422  # two days after the given clock's now
    labels = {"source": "demo", "type": "dossier.rated", "intake": "http"}
    assert registry.get_sample_value("civicpulse_ingest_events_accepted_total", labels) == 1


def test_building_the_service_connects_to_nothing() -> None:
    service = build_service(
        IngestSettings(kafka_bootstrap="127.0.0.1:1"),
        credentials=Credentials.development(),
        adapter_context=AdapterContext.from_mapping({}),
    )
    assert not service.broker.running
