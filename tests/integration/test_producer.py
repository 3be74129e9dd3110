"""The record producer against the session's real Kafka: per-key partitions and order, exact headers, big batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.partitioner import DefaultPartitioner
from faststream.kafka import KafkaBroker
from prometheus_client import CollectorRegistry

from shared.kafka import create_broker
from shared.producer import KafkaUnavailable, OutgoingRecord, RecordProducer, TopicPartitions
from shared.settings import KafkaSettings, TopicSettings

pytestmark = pytest.mark.integration


@pytest.fixture
async def broker(kafka_settings: KafkaSettings) -> AsyncIterator[KafkaBroker]:
    broker = create_broker(kafka_settings, registry=CollectorRegistry(), app_name="test", max_batch_size=16 * 1024)
    await broker.start()
    yield broker
    await broker.stop()


async def consume(kafka: KafkaSettings, topic: str, *, count: int, within_s: float = 30) -> list[Any]:
    """The topic's first `count` records, read by an independent consumer."""
    consumer = AIOKafkaConsumer(topic, **kafka.aiokafka_options(), group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + within_s
    try:
        while len(records) < count:
            assert time.monotonic() < deadline, f"{len(records)} of {count} records on {topic} after {within_s}s"
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def test_each_key_lands_on_the_default_partitioners_partition_in_order_even_past_a_producer_batch(
    broker: KafkaBroker, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    # 600 records of ~200 bytes: more than one 16 KiB producer batch per partition, so batches overflow and split.
    records = [
        OutgoingRecord(topics.topic_events, f"K-{i % 40}".encode(), f"{i:05d}".encode() * 40) for i in range(600)
    ]
    await RecordProducer(broker, timeout_s=30, partitions=TopicPartitions(kafka_settings)).send_all(records)
    arrived = await consume(kafka_settings, topics.topic_events, count=600)
    assert len(arrived) == 600
    partitioner, partitions = DefaultPartitioner(), list(range(topics.events_partitions))
    assert {(r.key, r.partition) for r in arrived} == {
        (key, partitioner(key, partitions, partitions)) for key in {r.key for r in records}
    }
    for key in {r.key for r in records}:
        sent = [r.value for r in records if r.key == key]
        assert [r.value for r in sorted(arrived, key=lambda r: r.offset) if r.key == key] == sent
    assert all(r.headers == () for r in arrived)  # nothing added: no correlation id, no content type


async def test_headers_are_written_as_given_and_records_without_a_key_get_through(
    broker: KafkaBroker, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    letters = [
        OutgoingRecord(topics.topic_dlq, None, b"no key", [("trace", b"t-1"), ("x-dlq-reason", b"not_json")]),
        OutgoingRecord(topics.topic_dlq, b"K-1", b"keyed", [("x-dlq-reason", b"schema")]),
        OutgoingRecord(topics.topic_dlq, b"K-2", b"binary", [("raw", b"\xff\xfe")]),
    ]
    await RecordProducer(broker, timeout_s=30, partitions=TopicPartitions(kafka_settings)).send_all(letters)
    arrived = sorted(await consume(kafka_settings, topics.topic_dlq, count=3), key=lambda r: r.offset)
    assert [(r.key, r.value) for r in arrived] == [(None, b"no key"), (b"K-1", b"keyed"), (b"K-2", b"binary")]
    assert [list(r.headers) for r in arrived[:2]] == [list(letters[0].headers), list(letters[1].headers)]
    # FastStream writes header values as text: bytes that are not UTF-8 are escaped, not lost.
    assert list(arrived[2].headers) == [("raw", b"\\xff\\xfe")]


async def test_a_broker_that_is_not_started_is_kafka_unavailable(
    kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    stopped = create_broker(kafka_settings, registry=CollectorRegistry(), app_name="test")
    with pytest.raises(KafkaUnavailable):
        await RecordProducer(stopped, timeout_s=2, partitions=TopicPartitions(kafka_settings)).send_all(
            [OutgoingRecord(topics.topic_events, b"k", b"v")]
        )


async def test_an_unknown_topic_is_kafka_unavailable(broker: KafkaBroker, kafka_settings: KafkaSettings) -> None:
    with pytest.raises(KafkaUnavailable):
        await asyncio.wait_for(
            RecordProducer(broker, timeout_s=2, partitions=TopicPartitions(kafka_settings)).send_all(
                [OutgoingRecord("no.such.topic", b"k", b"v")]
            ),
            10,
        )
