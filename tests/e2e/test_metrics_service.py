"""The metrics service as a real process: every event counted exactly once through crashes, replicas and replays."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.metrics.core.counters import COUNTERS, aggregate
from shared.events import DossierReceived, Event
from shared.settings import KafkaSettings, TopicSettings
from tests.support.factories import random_events
from tests.support.services import ServiceUnderTest, poll, produce, service_env

pytestmark = pytest.mark.e2e
ROOT = "H24"  # today's province of the sample tree; its closure folds in the units of its predecessor HD


async def stored_counts(dsn: str) -> dict[tuple[Any, ...], list[int]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            f"SELECT bucket, unit_code, procedure_code, {', '.join(COUNTERS)} FROM kpi_counts_hourly"  # noqa: S608
        )
    finally:
        await connection.close()
    return {(r["bucket"], r["unit_code"], r["procedure_code"]): [r[c] for c in COUNTERS] for r in rows}


async def counted(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(await connection.fetchval("SELECT count(*) FROM processed_events"))
    finally:
        await connection.close()


def ground_truth(events: list[Event]) -> dict[tuple[Any, ...], list[int]]:
    unique = {e.event_id: e for e in events}
    return {tuple(k): v for k, v in aggregate(unique.values()).items()}


def root_online_rate(service: ServiceUnderTest) -> dict[str, Any] | None:
    items = service.get(f"/v1/kpis?kpi=online_submission_rate&window=30d&unit={ROOT}").json()["items"]
    return items[0] if items else None


async def wait_counted(dsn: str, expected: int, *, within: float = 180) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while (n := await counted(dsn)) < expected:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {n} of {expected} events counted after {within:.0f}s")
        await asyncio.sleep(0.3)


@pytest.fixture
def metrics_service(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path) -> Iterator[Any]:
    started: list[ServiceUnderTest] = []
    group = f"metrics-{uuid.uuid4().hex[:6]}"

    def make(name: str = "metrics", **extra: str) -> ServiceUnderTest:
        settings = {"CIVICPULSE_METRICS_GROUP_ID": group, "CIVICPULSE_METRICS_BATCH_MAX_RECORDS": "500", **extra}
        env = service_env(kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, **settings)
        service = ServiceUnderTest(name, ["metrics", "serve"], env=env, log_dir=tmp_path)
        started.append(service)
        return service

    yield make
    for service in started:
        service.kill()


async def test_duplicates_and_a_replay_from_offset_zero_change_nothing(
    metrics_service: Any, kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str
) -> None:
    events = random_events(4000, seed=11)
    resent = random.Random(1).sample(events, 800)  # upstream sends some twice
    stream = events + resent
    random.Random(2).shuffle(stream)
    await produce(kafka_settings, topics.topic_events, stream)
    service = metrics_service()
    service.start()
    await wait_counted(pg_dsn, len(events))
    first = await stored_counts(pg_dsn)
    assert first == ground_truth(events)

    # The root's 30-day online submission rate is every received dossier of the last 20 days.
    received = [e for e in events if isinstance(e, DossierReceived)]
    poll(
        lambda: (root_online_rate(service) or {}).get("denominator") == len(received),
        timeout=30,
        what="snapshot reflects every received dossier",
    )
    item = root_online_rate(service)
    assert item is not None
    assert item["numerator"] == sum(1 for e in received if e.channel.value == "online")
    service.stop()

    replay = metrics_service("metrics-replay", CIVICPULSE_METRICS_GROUP_ID=f"replay-{uuid.uuid4().hex[:6]}")
    replay.start()
    poll(
        lambda: replay.metric("civicpulse_events_duplicate_total") >= len(stream),
        timeout=120,
        what="the replay consumed the whole topic",
    )
    assert await stored_counts(pg_dsn) == first


async def test_sigkill_mid_stream_three_times_loses_and_doubles_nothing(
    metrics_service: Any, kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str
) -> None:
    events = random_events(12000, seed=21)
    service = metrics_service()
    service.start()
    chunks = [events[i : i + 3000] for i in range(0, len(events), 3000)]
    for n, chunk in enumerate(chunks):
        await produce(kafka_settings, topics.topic_events, chunk)
        if n < 3:
            target = n * 3000 + 500
            await wait_counted(pg_dsn, target)  # it is mid-stream: part of this chunk counted, the rest not
            service.kill()
            service.start()
    await wait_counted(pg_dsn, len(events))
    assert await stored_counts(pg_dsn) == ground_truth(events)


async def test_two_replicas_one_stopped_mid_stream_give_the_same_totals(
    metrics_service: Any, kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str
) -> None:
    events = random_events(10000, seed=31)
    first, second = metrics_service("metrics-a"), metrics_service("metrics-b")
    first.start()
    second.start()
    await produce(kafka_settings, topics.topic_events, events[:5000])
    await wait_counted(pg_dsn, 2000)
    second.stop()  # SIGTERM mid-stream: a handler cancelled at shutdown must not commit its batch
    await produce(kafka_settings, topics.topic_events, events[5000:])
    await wait_counted(pg_dsn, len(events))
    assert await stored_counts(pg_dsn) == ground_truth(events)
