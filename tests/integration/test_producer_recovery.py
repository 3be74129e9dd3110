"""The record producer after a broker restart with sends queued: it delivers again, and loses nothing acknowledged.

A batch that expires while its partition has no leader (a moment after every broker restart) used to spend a
sequence number of aiokafka's idempotent producer, and from then on every send to that partition failed with
OutOfOrderSequenceNumber until the service was restarted. With `enable_idempotence=True` in `create_broker`
this test failed 3 runs of 3 (all sends after the restart refused). The short request timeout makes batches
expire within the broker's downtime, as the production 15 s does in a longer outage.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import CollectorRegistry

from shared.devstack.kafka import KafkaNode
from shared.kafka import create_broker
from shared.producer import KafkaUnavailable, OutgoingRecord, RecordProducer, TopicPartitions
from shared.settings import KafkaSettings

pytestmark = pytest.mark.integration
TOPIC = "recovery"
SENDERS = 4
STEADY = 40
"""Consecutive acknowledged sends after the restart that count as recovered."""


class Senders:
    """Sends 12-record batches over every partition, one after the other per sender, remembering each outcome."""

    def __init__(self, producer: RecordProducer) -> None:
        self.producer = producer
        self.acknowledged: set[bytes] = set()
        self.outcomes: list[str] = []
        self.stop = asyncio.Event()

    async def run(self, sender: int) -> None:
        batch = 0
        while not self.stop.is_set():
            batch += 1
            keys = [f"s{sender}-b{batch}-r{i}".encode() for i in range(12)]
            try:
                await self.producer.send_all([OutgoingRecord(TOPIC, key, b"x") for key in keys])
            except KafkaUnavailable as exc:
                self.outcomes.append(type(exc.__cause__).__name__)
            else:
                self.acknowledged.update(keys)
                self.outcomes.append("ok")
            await asyncio.sleep(0.05)

    def steady(self, *, since: int) -> bool:
        recent = self.outcomes[since:][-STEADY:]
        return len(recent) == STEADY and set(recent) == {"ok"}


async def records_on(settings: KafkaSettings) -> set[bytes]:
    consumer = AIOKafkaConsumer(TOPIC, **settings.aiokafka_options(), group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    keys: set[bytes] = set()
    try:
        while batches := await consumer.getmany(timeout_ms=2000):
            keys.update(record.key for records in batches.values() for record in records)
    finally:
        await consumer.stop()
    return keys


async def test_sends_are_acknowledged_again_after_a_broker_restart_and_none_acknowledged_is_lost(
    own_kafka: KafkaNode,
) -> None:
    settings = KafkaSettings(kafka_bootstrap=own_kafka.bootstrap, kafka_client_id="civicpulse-test")
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 6, 1)])
    await admin.close()
    broker = create_broker(settings, registry=CollectorRegistry(), app_name="test", request_timeout_ms=2000)
    await broker.start()
    senders = Senders(RecordProducer(broker, timeout_s=3, partitions=TopicPartitions(settings)))
    tasks = [asyncio.create_task(senders.run(n)) for n in range(SENDERS)]
    try:
        await asyncio.sleep(2)
        await asyncio.to_thread(own_kafka.stop)
        await asyncio.sleep(6)
        await asyncio.to_thread(own_kafka.start)
        restarted = len(senders.outcomes)
        deadline = time.monotonic() + 60
        while not senders.steady(since=restarted):
            assert time.monotonic() < deadline, f"not delivering 60 s after the restart: {senders.outcomes[-8:]}"
            await asyncio.sleep(0.2)
    finally:
        senders.stop.set()
        await asyncio.gather(*tasks)
        await broker.stop()
    assert set(senders.outcomes) - {"ok"}, "the outage refused no send: the restart was not exercised"
    assert senders.acknowledged <= await records_on(settings)
