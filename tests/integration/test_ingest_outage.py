"""Kafka stopped mid-run: the API answers 503 (never 202 for an event not in Kafka) and recovers by itself."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.main import create_app
from services.ingest.settings import IngestSettings
from shared.devstack.kafka import KafkaNode
from shared.settings import TopicSettings
from shared.topics import ensure_topics

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer demo-token"}


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ingest", timeout=60) as client,
    ):
        yield client


def batch(size: int) -> list[dict[str, object]]:
    now = datetime.now(UTC).isoformat()
    return [
        {"type": "feedback.closed", "event_id": str(uuid.uuid4()), "occurred_at": now, "source": "demo",
         "unit_code": "HD.STP", "feedback_id": f"F-{uuid.uuid4().hex[:6]}", "on_time": True}
        for _ in range(size)
    ]  # fmt: skip


class Sender:
    """Posts batches one after the other and remembers every answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.acknowledged: list[str] = []
        self.statuses: list[int] = []

    async def send(self) -> int:
        events = batch(5)
        response = await self.client.post("/v1/events", json=events, headers=AUTH)
        if response.status_code == 202:
            assert response.json()["event_ids"] == [e["event_id"] for e in events]
            self.acknowledged.extend(response.json()["event_ids"])
        else:
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
        self.statuses.append(response.status_code)
        return response.status_code

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.send()
            await asyncio.sleep(0.05)

    async def wait_for(self, status: int, *, after: int, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while status not in self.statuses[after:]:
            assert time.monotonic() < deadline, f"no {status} within {within_s}s: {self.statuses[after:]}"
            await asyncio.sleep(0.1)


async def test_broker_outage_answers_503_recovers_and_loses_no_acknowledged_event(own_kafka: KafkaNode) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(
        topic_raw=f"o{suffix}.raw", topic_events=f"o{suffix}.events", topic_dlq=f"o{suffix}.dlq",
        topic_snapshots=f"o{suffix}.snap", topic_alerts=f"o{suffix}.alerts", events_partitions=3, other_partitions=1,
    )  # fmt: skip
    settings = IngestSettings(
        kafka_bootstrap=own_kafka.bootstrap, **topics.model_dump(), ingest_publish_timeout_s=2.0, ingest_retry_after_s=1
    )
    await ensure_topics(settings, topics)
    async with running(create_app(settings)) as client:
        sender, stop = Sender(client), asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        try:
            await sender.wait_for(202, after=0, within_s=30)
            await asyncio.to_thread(own_kafka.stop)
            down_at = len(sender.statuses)
            await sender.wait_for(503, after=down_at, within_s=30)
            assert (await client.get("/readyz")).status_code == 503
            await asyncio.to_thread(own_kafka.start)
            up_at = len(sender.statuses)
            await sender.wait_for(202, after=up_at, within_s=90)
            assert (await client.get("/readyz")).status_code == 200
        finally:
            stop.set()
            await task
        assert await sender.send() == 202
    stored = subprocess.run(
        ["kcat", "-b", own_kafka.bootstrap, "-t", topics.topic_events, "-C", "-e", "-q", "-f", "%s\n"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    stored_ids = {line.split('"event_id":"')[1][:36] for line in stored.splitlines() if line}
    assert sender.acknowledged, "nothing was acknowledged"
    assert set(sender.acknowledged) <= stored_ids
    assert 503 in sender.statuses


def read_ids(bootstrap: str, topic: str) -> list[str]:
    out = subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-C", "-e", "-q", "-f", "%s\n"],
                         capture_output=True, text=True, check=False, timeout=60).stdout  # fmt: skip
    return [line.split('"event_id":"')[1][:36] for line in out.splitlines() if '"event_id":"' in line]


def produce_raw(bootstrap: str, topic: str, lines: list[str]) -> None:
    subprocess.run(["kcat", "-b", bootstrap, "-t", topic, "-P"], input="\n".join(lines) + "\n", text=True,
                   check=True, timeout=60)  # fmt: skip


async def test_raw_intake_survives_a_broker_restart_and_loses_no_record(own_kafka: KafkaNode) -> None:
    suffix = uuid.uuid4().hex[:8]
    topics = TopicSettings(
        topic_raw=f"r{suffix}.raw", topic_events=f"r{suffix}.events", topic_dlq=f"r{suffix}.dlq",
        topic_snapshots=f"r{suffix}.snap", topic_alerts=f"r{suffix}.alerts", events_partitions=3, other_partitions=1,
    )  # fmt: skip
    settings = IngestSettings(kafka_bootstrap=own_kafka.bootstrap, **topics.model_dump(), ingest_publish_timeout_s=2.0)
    await ensure_topics(settings, topics)
    before, after = batch(300), batch(300)
    async with running(create_app(settings)):
        produce_raw(own_kafka.bootstrap, topics.topic_raw, [json.dumps(e) for e in before])
        deadline = time.monotonic() + 60
        while len(set(read_ids(own_kafka.bootstrap, topics.topic_events))) < len(before):
            assert time.monotonic() < deadline, "raw records never reached the events topic"
            await asyncio.sleep(0.5)
        await asyncio.to_thread(own_kafka.stop)
        await asyncio.sleep(3)
        await asyncio.to_thread(own_kafka.start)
        produce_raw(own_kafka.bootstrap, topics.topic_raw, [json.dumps(e) for e in after] + ["not json at all"])
        wanted = {str(e["event_id"]) for e in before + after}
        deadline = time.monotonic() + 120
        while not wanted <= set(read_ids(own_kafka.bootstrap, topics.topic_events)):
            assert time.monotonic() < deadline, "the raw intake did not recover after the broker came back"
            await asyncio.sleep(0.5)
        deadline = time.monotonic() + 60
        while not subprocess.run(["kcat", "-b", own_kafka.bootstrap, "-t", topics.topic_dlq, "-C", "-e", "-q"],
                                 capture_output=True, text=True, check=False, timeout=60).stdout.strip():  # fmt: skip
            assert time.monotonic() < deadline, "the garbage record never reached the DLQ"
            await asyncio.sleep(0.5)
    assert set(read_ids(own_kafka.bootstrap, topics.topic_events)) == wanted
