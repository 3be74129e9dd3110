"""Topics are created idempotently and drift is reported; the broker is real (checked with kcat)."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics

pytestmark = pytest.mark.integration


def unique_topics(**overrides: int) -> TopicSettings:
    s = uuid.uuid4().hex[:8]
    return TopicSettings(
        topic_raw=f"{s}.raw", topic_events=f"{s}.ev", topic_dlq=f"{s}.dlq", topic_snapshots=f"{s}.snap",
        topic_alerts=f"{s}.alerts", **overrides,
    )  # fmt: skip


async def test_ensure_creates_all_five_then_nothing(kafka_settings: KafkaSettings) -> None:
    topics = unique_topics(events_partitions=4)
    first = await ensure_topics(kafka_settings, topics)
    second = await ensure_topics(kafka_settings, topics)
    assert [r.created for r in first] == [True] * 5
    assert [r.created for r in second] == [False] * 5
    assert all(r.drift == [] for r in second)
    listing = subprocess.run(["kcat", "-b", kafka_settings.kafka_bootstrap, "-L", "-t", topics.topic_events],
                             capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
    assert "with 4 partitions" in listing


async def test_existing_topic_with_other_partitions_is_reported_as_drift(
    kafka_settings: KafkaSettings,
) -> None:
    topics = unique_topics(events_partitions=6)
    admin = AIOKafkaAdminClient(**kafka_settings.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topics.topic_events, 2, 1)])
    finally:
        await admin.close()
    reports = {r.name: r for r in await ensure_topics(kafka_settings, topics)}
    assert reports[topics.topic_events].created is False
    assert "partitions 2 (wanted 6)" in reports[topics.topic_events].drift


async def test_record_produced_by_kcat_is_read_back_by_kcat(kafka_settings: KafkaSettings) -> None:
    topics = unique_topics()
    await ensure_topics(kafka_settings, topics)
    bootstrap = kafka_settings.kafka_bootstrap
    subprocess.run(["kcat", "-b", bootstrap, "-t", topics.topic_events, "-P", "-K", ":"],
                   input="d-1:hello\n", text=True, check=True, timeout=30)  # fmt: skip
    out = subprocess.run(["kcat", "-b", bootstrap, "-t", topics.topic_events, "-C", "-e", "-q", "-f", "%k=%s\n"],
                         capture_output=True, text=True, check=True, timeout=30).stdout  # fmt: skip
    assert out == "d-1=hello\n"
