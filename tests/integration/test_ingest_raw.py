"""Raw-topic intake against the session's real Kafka: valid records to events in order per key, the rest to the DLQ."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.ingest.main import create_app
from services.ingest.settings import IngestSettings
from shared.settings import KafkaSettings, TopicSettings

pytestmark = pytest.mark.integration
NOW = datetime(2024, 4, 20, 3, 0, tzinfo=UTC)
TWO_MIB = 2 * 1024 * 1024


def rated(dossier: str, seq: int, **overrides: Any) -> bytes:
    event = {
        "type": "dossier.rated", "event_id": str(uuid.uuid4()), "occurred_at": f"2024-04-19T08:{seq:02d}:00+07:00",
        "source": "portal-k", "unit_code": "HD.STP", "dossier_id": dossier, "procedure_code": "TTHC.STP.001",
        "score": 1 + seq % 5, **overrides,
    }  # fmt: skip
    return json.dumps(event).encode()


@asynccontextmanager
async def ingest_running(settings: IngestSettings) -> AsyncIterator[None]:
    app = create_app(settings, clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        yield


async def produce(
    kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]
) -> list[Any]:
    """Produce (key, value, headers) records in order with an independent producer; their metadata."""
    producer = AIOKafkaProducer(**kafka.aiokafka_options(), max_request_size=4 * TWO_MIB, acks="all")
    await producer.start()
    try:
        return [await producer.send_and_wait(topic, v, key=k, headers=h or None) for k, v, h in records]
    finally:
        await producer.stop()


async def consume_until(kafka: KafkaSettings, topic: str, *, count: int, within_s: float = 30) -> list[Any]:
    """Every record of the topic once at least `count` are there (an independent consumer, from the start)."""
    consumer = AIOKafkaConsumer(
        topic, **kafka.aiokafka_options(), group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
        max_partition_fetch_bytes=4 * TWO_MIB, fetch_max_bytes=8 * TWO_MIB,
    )  # fmt: skip
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within_s
    try:
        while len(records) < count:
            assert time.monotonic() < deadline, f"{len(records)} of {count} records on {topic} after {within_s}s"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
        await asyncio.sleep(0.5)  # anything beyond `count` would be a duplicate: give it a chance to show
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def committed_matches_end(kafka: KafkaSettings, topic: str, group: str, *, within_s: float = 30) -> bool:
    admin = AIOKafkaAdminClient(**kafka.aiokafka_options())
    consumer = AIOKafkaConsumer(**kafka.aiokafka_options(), group_id=None)
    await admin.start()
    await consumer.start()
    try:
        (described,) = await admin.describe_topics([topic])
        partitions = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            committed = await admin.list_consumer_group_offsets(group)
            if all(committed.get(tp) is not None and committed[tp].offset == ends[tp] for tp in partitions if ends[tp]):
                return True
            await asyncio.sleep(0.2)
        return False
    finally:
        await consumer.stop()
        await admin.close()


@pytest.fixture
def raw_settings(kafka_settings: KafkaSettings, topics: TopicSettings) -> Callable[[], IngestSettings]:
    group = f"ingest-{uuid.uuid4().hex[:8]}"
    return lambda: IngestSettings(**kafka_settings.model_dump(), **topics.model_dump(), ingest_group_id=group)


async def test_bad_records_go_to_the_dlq_untouched_while_valid_ones_arrive_in_order_per_key(
    kafka_settings: KafkaSettings, topics: TopicSettings, raw_settings: Callable[[], IngestSettings]
) -> None:
    garbage = b"\x00\xffnot json at all\n"
    wrong_schema = json.dumps({"type": "dossier.rated", "dossier_id": "K-1", "score": 9}).encode()
    unknown_type = json.dumps({"type": "dossier.teleported", "dossier_id": "K-1"}).encode()
    huge = b'{"type": "dossier.rated", "pad": "' + b"x" * TWO_MIB + b'"}'
    future = rated("K-2", 0, occurred_at=(NOW + timedelta(days=2)).isoformat())
    valid = {key: [rated(key, seq) for seq in range(6)] for key in ("K-1", "K-2", "K-3")}
    bad = {
        "not_json": (garbage, [("content-type", b"application/json")]),
        "schema": (wrong_schema, []),
        "unknown_type": (unknown_type, []),
        "oversized": (huge, []),
        "future": (future, [("trace", b"abc")]),
    }
    records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]] = []
    bad_iter = iter(bad.items())
    for seq in range(6):
        for key in valid:
            records.append((key.encode(), valid[key][seq], [("binary", b"\xff\xfe")] if seq == 2 else []))
        if (item := next(bad_iter, None)) is not None:
            records.append((b"K-1", item[1][0], item[1][1]))
    metadata = await produce(kafka_settings, topics.topic_raw, records)
    where = {value: (m.partition, m.offset) for (_, value, _), m in zip(records, metadata, strict=True)}

    settings = raw_settings()
    async with ingest_running(settings):
        events = await consume_until(kafka_settings, topics.topic_events, count=18)
        dead = await consume_until(kafka_settings, topics.topic_dlq, count=5)
        assert await committed_matches_end(kafka_settings, topics.topic_raw, settings.ingest_group_id)

    assert len(events) == 18
    for key, sent in valid.items():
        arrived = [json.loads(r.value)["event_id"] for r in events if r.key == key.encode()]
        assert arrived == [json.loads(v)["event_id"] for v in sent]
    assert len(dead) == 5
    by_reason = {dict(r.headers)["x-dlq-reason"].decode(): r for r in dead}
    assert set(by_reason) == set(bad)
    for reason, (original, original_headers) in bad.items():
        record = by_reason[reason]
        headers = {k: v.decode() for k, v in record.headers if k.startswith("x-")}
        assert record.value == original
        assert record.key == b"K-1"
        assert headers["x-source-topic"] == topics.topic_raw
        assert (int(headers["x-source-partition"]), int(headers["x-source-offset"])) == where[original]
        assert datetime.fromisoformat(headers["x-dlq-at"]) == NOW
        assert headers["x-dlq-error"]
        assert [h for h in record.headers if not h[0].startswith("x-")] == original_headers
    assert "2097" in dict(by_reason["oversized"].headers)["x-dlq-error"].decode()


async def test_committed_records_are_not_processed_again_after_a_restart(
    kafka_settings: KafkaSettings, topics: TopicSettings, raw_settings: Callable[[], IngestSettings]
) -> None:
    await produce(kafka_settings, topics.topic_raw, [(b"K-1", rated("K-1", 1), []), (b"K-1", b"junk", [])])
    async with ingest_running(raw_settings()):
        await consume_until(kafka_settings, topics.topic_events, count=1)
        await consume_until(kafka_settings, topics.topic_dlq, count=1)
        assert await committed_matches_end(kafka_settings, topics.topic_raw, raw_settings().ingest_group_id)

    await produce(kafka_settings, topics.topic_raw, [(b"K-1", rated("K-1", 2), [])])
    async with ingest_running(raw_settings()):
        events = await consume_until(kafka_settings, topics.topic_events, count=2)
        dead = await consume_until(kafka_settings, topics.topic_dlq, count=1)

    assert [json.loads(r.value)["occurred_at"][11:16] for r in events] == ["08:01", "08:02"]
    assert len(dead) == 1
