"""The intake behind the HTTP routes and the raw-topic intake, with a fake record sink in place of Kafka."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import CollectorRegistry

from services.ingest.core.ratelimit import RateLimit, RateLimiter
from services.ingest.intake import ForeignSourceError, Intake, RateLimitedError
from services.ingest.raw_intake import RawIntake
from services.ingest.settings import IngestSettings
from services.ingest.telemetry import IngestMetrics
from shared.events import Event, dump_event, event_adapter
from shared.producer import KafkaUnavailable, OutgoingRecord, event_records

pytestmark = pytest.mark.unit
NOW = datetime(2024, 4, 20, 3, 0, tzinfo=UTC)


class FakeSink:
    """Keeps what it was given; fails the first `failures` calls like an unreachable Kafka."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[OutgoingRecord] = []
        self.failures = failures

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaUnavailable("broker down")
        self.sent.extend(records)


def event(source: str = "portal-a", dossier: str = "D-1") -> Event:
    return event_adapter.validate_python(
        {"type": "dossier.rated", "event_id": str(uuid.uuid4()), "occurred_at": "2024-04-19T08:30:00+07:00",
         "source": source, "unit_code": "HD.STP", "dossier_id": dossier, "procedure_code": "P-1", "score": 4}
    )  # fmt: skip


def intake(sink: FakeSink, registry: CollectorRegistry, **limits: RateLimit) -> Intake:
    return Intake(
        publisher=sink, limiter=RateLimiter(limits, clock=lambda: 0.0), metrics=IngestMetrics(registry), topic="ev"
    )


async def test_accepted_batch_is_sent_keyed_by_entity_and_counted() -> None:
    sink, registry = FakeSink(), CollectorRegistry()
    batch = [event(dossier="D-1"), event(dossier="D-2")]
    ids = await intake(sink, registry).accept(batch, caller="portal-a", intake="http")
    assert ids == [e.event_id for e in batch]
    assert [(r.topic, r.key) for r in sink.sent] == [("ev", b"D-1"), ("ev", b"D-2")]
    assert [json.loads(r.value or b"")["event_id"] for r in sink.sent] == [str(i) for i in ids]
    labels = {"source": "portal-a", "type": "dossier.rated", "intake": "http"}
    assert registry.get_sample_value("civicpulse_ingest_events_accepted_total", labels) == 2


async def test_batch_with_another_sources_event_is_refused_whole() -> None:
    sink = FakeSink()
    with pytest.raises(ForeignSourceError, match="event 1 has source 'portal-b'"):
        await intake(sink, CollectorRegistry()).accept([event(), event("portal-b")], caller="portal-a", intake="http")
    assert sink.sent == []


async def test_batch_over_the_rate_is_refused_whole_with_the_wait() -> None:
    sink = FakeSink()
    limited = intake(sink, CollectorRegistry(), **{"portal-a": RateLimit(events_per_second=2, burst=2)})
    await limited.accept([event(), event()], caller="portal-a", intake="http")
    with pytest.raises(RateLimitedError) as caught:
        await limited.accept([event()], caller="portal-a", intake="http")
    assert caught.value.retry_after_s == pytest.approx(0.5)
    assert len(sink.sent) == 2


async def test_kafka_unavailable_reaches_the_caller_and_counts_as_rejected() -> None:
    registry = CollectorRegistry()
    with pytest.raises(KafkaUnavailable):
        await intake(FakeSink(failures=1), registry).accept([event()], caller="portal-a", intake="http")
    labels = {"source": "portal-a", "type": "dossier.rated", "intake": "http", "reason": "kafka_unavailable"}
    assert registry.get_sample_value("civicpulse_ingest_events_rejected_total", labels) == 1


async def test_kafka_refusals_are_logged_when_they_start_and_when_they_end_with_the_cause(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refusing = intake(FakeSink(failures=3), CollectorRegistry())
    with caplog.at_level("INFO", logger="services.ingest.intake"):
        for _ in range(3):
            with pytest.raises(KafkaUnavailable):
                await refusing.accept([event()], caller="portal-a", intake="http")
        await refusing.accept([event()], caller="portal-a", intake="http")
        await refusing.accept([event()], caller="portal-a", intake="http")
    lines = [(r.levelname, r.getMessage(), getattr(r, "error", None), getattr(r, "refused_batches", None))
             for r in caplog.records]  # fmt: skip
    assert lines == [
        ("WARNING", "Kafka refused a batch; answering 503 until it acknowledges again", "broker down", None),
        ("INFO", "Kafka acknowledges again", None, 3),
    ]


def record(
    value: bytes | None, offset: int, *, key: bytes | None = b"D-1", headers: Any = ()
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="raw", partition=2, offset=offset, timestamp=0, timestamp_type=0, key=key, value=value, checksum=None,
        serialized_key_size=0, serialized_value_size=0, headers=tuple(headers),
    )  # fmt: skip


class FakeMessage:
    """The part of FastStream's Kafka message the raw intake uses."""

    def __init__(self, records: tuple[ConsumerRecord[Any, Any], ...]) -> None:
        self.raw_message = records
        self.outcomes: list[str] = []

    async def ack(self) -> None:
        self.outcomes.append("ack")

    async def nack(self) -> None:
        self.outcomes.append("nack")


def raw_intake(sink: FakeSink, sleeps: list[float]) -> RawIntake:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings = IngestSettings(topic_events="ev", topic_dlq="dlq", ingest_max_record_bytes=1000)
    return RawIntake(settings=settings, publisher=sink, metrics=IngestMetrics(CollectorRegistry()),
                     clock=lambda: NOW, sleep=sleep)  # fmt: skip


def test_published_bytes_are_the_canonical_serialisation_of_every_event_type() -> None:
    common = {
        "event_id": str(uuid.uuid4()),
        "occurred_at": "2024-04-19T08:30:00+07:00",
        "source": "s",
        "unit_code": "U",
    }
    events = [
        event_adapter.validate_python({**common, **fields})
        for fields in (
            {"type": "dossier.received", "dossier_id": "D", "procedure_code": "P", "channel": "postal",
             "service_level": "offline", "essential": True, "digitized": False, "due_at": "2024-05-01T00:00:00Z"},
            {"type": "dossier.completed", "dossier_id": "D", "procedure_code": "P", "outcome": "withdrawn",
             "result_channel": "online", "electronic_result": False},
            {"type": "dossier.rated", "dossier_id": "D", "procedure_code": "P", "score": 1},
            {"type": "feedback.closed", "feedback_id": "F", "on_time": False, "score": None},
            {"type": "procedure.published", "procedure_code": "P", "service_level": "partial_online"},
        )
    ]  # fmt: skip
    records = event_records(events, topic="ev")
    assert [r.value for r in records] == [dump_event(e) for e in events]
    assert [r.key for r in records] == [b"D", b"D", b"D", b"F", b"U/P"]


async def test_raw_batch_keeps_consumption_order_across_events_and_dead_letters_then_commits() -> None:
    sink, sleeps = FakeSink(), []
    good = [event(dossier=f"D-{i}").model_dump_json().encode() for i in range(3)]
    message = FakeMessage((record(good[0], 0), record(b"junk", 1), record(good[1], 2), record(b"x" * 2000, 3),
                           record(good[2], 4)))  # fmt: skip
    await raw_intake(sink, sleeps).handle(message)
    assert [(r.topic, r.key) for r in sink.sent] == [
        ("ev", b"D-0"), ("dlq", b"D-1"), ("ev", b"D-1"), ("dlq", b"D-1"), ("ev", b"D-2")
    ]  # fmt: skip
    assert [dict(r.headers)["x-dlq-reason"] for r in sink.sent if r.topic == "dlq"] == [b"not_json", b"oversized"]
    assert message.outcomes == ["ack"]
    assert sleeps == []


async def test_raw_batch_kafka_cannot_acknowledge_is_rewound_after_a_growing_backoff_and_not_committed() -> None:
    sink, sleeps = FakeSink(failures=3), []
    intake_ = raw_intake(sink, sleeps)
    outcomes = []
    for _ in range(4):
        message = FakeMessage((record(event().model_dump_json().encode(), 0),))
        await intake_.handle(message)
        outcomes += message.outcomes
    assert outcomes == ["nack", "nack", "nack", "ack"]
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(sink.sent) == 1
