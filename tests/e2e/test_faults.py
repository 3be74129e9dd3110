"""Faults with ground truth: simulator → ingest → Kafka → metrics as real processes, broken on purpose.

Each case ends by comparing the hourly counters and every KPI numerator and denominator of every unit with what
the acknowledged events (the simulator's --record file) imply. Numbers must match exactly.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import free_port
from shared.migrations import migrate
from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics
from tests.support.pipeline import (
    Pipeline,
    expected_backlog,
    expected_counts,
    expected_kpis,
    ingest_503s,
    read_record,
    served_backlog,
    served_kpis,
    simulator_done,
    stored_counts,
)
from tests.support.services import ServiceUnderTest, poll

pytestmark = pytest.mark.e2e


async def wait_until_counted(pipeline: Pipeline, expected: int, *, within: float = 240) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while (n := await pipeline.counted()) < expected:
        assert loop.time() < deadline, f"only {n} of {expected} events counted after {within:.0f}s"
        await asyncio.sleep(0.3)


async def assert_ground_truth(pipeline: Pipeline, record: Path) -> None:
    events = read_record(record)
    await wait_until_counted(pipeline, len(events))
    assert await pipeline.counted() == len(events)
    assert await stored_counts(pipeline.pg_dsn) == expected_counts(events)
    metrics = pipeline.metrics[-1]
    pipeline.wait_snapshot(metrics, events)
    expected = expected_kpis(events, pipeline.refdata)
    served = served_kpis(metrics)
    mismatches = {scope: (served.get(scope), want) for scope, want in expected.items() if served.get(scope) != want}
    assert mismatches == {}


def assert_backlog(pipeline: Pipeline, metrics: ServiceUnderTest, record: Path) -> None:
    """/v1/backlog equals the ground truth at the moment it was computed for (overdue-ness moves with the clock)."""
    events = read_record(record)

    def mismatches() -> dict[str, tuple[tuple[int, int, int] | None, tuple[int, int, int]]]:
        computed, served = served_backlog(metrics)
        if computed is None:
            return {"<none yet>": (None, (0, 0, 0))}
        expected = expected_backlog(events, pipeline.refdata, now=computed)
        return {unit: (served.get(unit), want) for unit, want in expected.items() if served.get(unit) != want}

    poll(lambda: not mismatches(), timeout=60, what="served backlog equals the ground truth")
    assert mismatches() == {}


@pytest.fixture
def pipeline(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path) -> Iterator[Pipeline]:
    built = Pipeline(kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, workdir=tmp_path)
    yield built
    built.stop()


async def test_metrics_sigkilled_three_times_mid_stream(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.ingest.start()
    metrics = pipeline.add_metrics()
    record = tmp_path / "record.ndjson"
    simulator = pipeline.simulate(events=24_000, seed=1, record=record)
    for target in (3_000, 8_000, 14_000):
        await wait_until_counted(pipeline, target)
        metrics.kill()
        metrics.start()
    simulator_done(simulator, tmp_path / "simulate-1.log")
    await assert_ground_truth(pipeline, record)


async def test_two_metrics_replicas_one_killed_mid_stream(pipeline: Pipeline, tmp_path: Path) -> None:
    pipeline.ingest.start()
    first = pipeline.add_metrics("metrics-a")
    pipeline.add_metrics("metrics-b")
    record = tmp_path / "record.ndjson"
    simulator = pipeline.simulate(events=16_000, seed=2, record=record)
    await wait_until_counted(pipeline, 5_000)
    first.kill()
    simulator_done(simulator, tmp_path / "simulate-2.log")
    await assert_ground_truth(pipeline, record)


async def test_replayed_traffic_and_a_new_group_from_offset_zero_change_nothing(
    pipeline: Pipeline, tmp_path: Path, pg_admin_dsn: str, pg_template: str
) -> None:
    pipeline.ingest.start()
    pipeline.add_metrics()
    record = tmp_path / "record.ndjson"
    simulator_done(pipeline.simulate(events=8_000, seed=3, record=record), tmp_path / "simulate-3.log")
    # The same traffic again: same seed, same event ids; upstream re-sending a day's batch looks like this.
    simulator_done(pipeline.simulate(events=8_000, seed=3, record=record), tmp_path / "simulate-3.log")
    await assert_ground_truth(pipeline, record)
    before = await stored_counts(pipeline.pg_dsn)

    # A new consumer group re-reads the topic from offset 0 into the same database: nothing changes.
    replay = pipeline.add_metrics("metrics-replay", CIVICPULSE_METRICS_GROUP_ID=f"replay-{uuid.uuid4().hex[:6]}")
    poll(lambda: replay.metric("civicpulse_events_duplicate_total") >= 16_000, timeout=120,
         what="the new group re-read both copies of the traffic")  # fmt: skip
    assert await stored_counts(pipeline.pg_dsn) == before


@pytest.fixture
async def own_kafka(tmp_path: Path) -> AsyncIterator[KafkaNode]:
    node = KafkaNode(home=tmp_path / "kafka", port=free_port(), controller_port=free_port(),
                     jar_cache=REPO_ROOT / ".civicpulse" / "kafka-jars", heap="384m")  # fmt: skip
    node.start()
    yield node
    node.stop()


async def test_kafka_stopped_and_restarted_while_traffic_flows(
    own_kafka: KafkaNode, pg_dsn: str, tmp_path: Path
) -> None:
    kafka = KafkaSettings(kafka_bootstrap=own_kafka.bootstrap)
    topics = TopicSettings(events_partitions=3, other_partitions=1)
    await ensure_topics(kafka, topics)
    pipeline = Pipeline(kafka=kafka, topics=topics, pg_dsn=pg_dsn, workdir=tmp_path)
    try:
        pipeline.ingest.start()
        pipeline.add_metrics()
        record = tmp_path / "record.ndjson"
        simulator = pipeline.simulate(events=20_000, seed=4, record=record, rate="1000/s")
        await wait_until_counted(pipeline, 3_000)
        own_kafka.stop()
        await asyncio.sleep(6)  # clients keep sending into a dead broker: 503s, never a 202
        own_kafka.start()
        simulator_done(simulator, tmp_path / "simulate-4.log")
        await assert_ground_truth(pipeline, record)
        assert ingest_503s(pipeline.ingest) > 0, "the outage should have been visible to clients as 503"
    finally:
        pipeline.stop()


async def test_postgres_stopped_and_restarted_while_traffic_flows(
    kafka_settings: KafkaSettings, topics: TopicSettings, tmp_path: Path
) -> None:
    node = PostgresNode(home=tmp_path / "pg", port=free_port())
    node.start()
    dsn = node.create_database("faults")
    connection = await asyncpg.connect(dsn)
    await migrate(connection)
    await connection.close()
    pipeline = Pipeline(kafka=kafka_settings, topics=topics, pg_dsn=dsn, workdir=tmp_path)
    try:
        pipeline.ingest.start()
        pipeline.add_metrics()
        record = tmp_path / "record.ndjson"
        simulator = pipeline.simulate(events=16_000, seed=5, record=record, rate="1000/s")
        await wait_until_counted(pipeline, 3_000)
        node.stop(mode="immediate")  # like a crash: open transactions are lost, not committed
        await asyncio.sleep(6)
        node.start()
        simulator_done(simulator, tmp_path / "simulate-5.log")
        await assert_ground_truth(pipeline, record)
    finally:
        pipeline.stop()
        node.stop(mode="immediate")


async def test_backlog_after_a_sigkill_duplicates_and_a_replay_from_offset_zero(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    pipeline.ingest.start()
    metrics = pipeline.add_metrics()
    record = tmp_path / "record.ndjson"
    # Full histories (pauses, payments, completions) over the past 20 days, so some are overdue, then live.
    history = ["--backfill", "20d", "--backfill-events", "6000"]
    simulator = pipeline.simulate(events=6_000, seed=6, record=record, extra=history)
    await wait_until_counted(pipeline, 4_000)
    metrics.kill()
    metrics.start()
    simulator_done(simulator, tmp_path / "simulate-6.log")
    # The same histories again: every event a duplicate.
    simulator_done(pipeline.simulate(events=6_000, seed=6, record=record, extra=history), tmp_path / "simulate-6.log")
    events = read_record(record)
    await wait_until_counted(pipeline, len(events))
    assert await stored_counts(pipeline.pg_dsn) == expected_counts(events)
    truth = expected_backlog(events, pipeline.refdata, now=datetime.now(UTC))
    for figure in range(3):  # some dossiers in progress, some overdue, some paused: the comparison means something
        assert sum(t[figure] for t in truth.values()) > 0, figure
    assert_backlog(pipeline, metrics, record)

    # A new consumer group re-reads the topic from offset 0 into the same database: the backlog stays.
    replay = pipeline.add_metrics("metrics-replay", CIVICPULSE_METRICS_GROUP_ID=f"replay-{uuid.uuid4().hex[:6]}")
    poll(lambda: replay.metric("civicpulse_events_duplicate_total") >= 2 * len(events), timeout=120,
         what="the new group re-read both copies of the histories")  # fmt: skip
    assert_backlog(pipeline, replay, record)
