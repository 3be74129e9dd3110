"""Dossier lifecycle against real PostgreSQL: state, backlog and processing time on hand-computed fixtures."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.metrics import dossiers, store
from services.metrics.core.processing import bin_error, bin_of, bin_value, percentile
from shared.events import Event, event_adapter
from shared.kpi_catalogue import UNKNOWN_LEVEL
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 10, 12, 30, tzinfo=UTC)  # 19:30 in Vietnam
T0 = NOW - timedelta(days=10)
DAYS = timedelta(days=1)
MINUTES = timedelta(minutes=1)
WARD, OTHER_WARD, PROVINCE = "H24.100", "H24.101", "H24"


def event(kind: str, at: datetime, dossier: str, *, unit: str = WARD, **fields: Any) -> Event:
    base = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": "demo",
            "unit_code": unit, "dossier_id": dossier, "procedure_code": "1.0001"}  # fmt: skip
    return event_adapter.validate_python(base | fields)


def received(at: datetime, dossier: str, *, due: datetime | None = None, unit: str = WARD, **fields: Any) -> Event:
    facts = {"channel": "online", "service_level": "full_online", "essential": False, "digitized": True,
             "due_at": due.isoformat() if due else None}  # fmt: skip
    return event("dossier.received", at, dossier, unit=unit, **(facts | fields))


def completed(at: datetime, dossier: str, *, unit: str = WARD) -> Event:
    return event("dossier.completed", at, dossier, unit=unit, outcome="approved", result_channel="online",
                 electronic_result=True)  # fmt: skip


def paused(at: datetime, dossier: str, reason: str = "supplement") -> Event:
    return event("dossier.paused", at, dossier, reason=reason)


def resumed(at: datetime, dossier: str) -> Event:
    return event("dossier.resumed", at, dossier)


@pytest.fixture
async def conn(pg_conn: asyncpg.Connection[Any]) -> asyncpg.Connection[Any]:
    await sync_reference_data(pg_conn, load_reference_data())
    return pg_conn


async def backlog(conn: asyncpg.Connection[Any], unit: str, *, at: datetime) -> tuple[int, int, int]:
    figures = {b.unit_code: b.figures for b in await dossiers.load_backlog(conn, now=at, unknown_level=UNKNOWN_LEVEL)}
    f = figures[unit]
    return f.in_progress, f.overdue, f.paused


async def test_processing_time_deducts_pauses_on_a_hand_computed_fixture(conn: asyncpg.Connection[Any]) -> None:
    # A: 8 days received -> completed, paused 1 day (supplement) and half a day (payment): 6.5 days.
    # B: 2 days, no pause. C: 4 days, paused 1 day: 3 days. Nearest rank of 3: median C, p90 A.
    histories = [
        [received(T0, "A"), paused(T0 + 2 * DAYS, "A"), resumed(T0 + 3 * DAYS, "A"),
         paused(T0 + 5 * DAYS, "A", "financial_obligation"), resumed(T0 + 5.5 * DAYS, "A"),
         completed(T0 + 8 * DAYS, "A")],
        [received(T0, "B"), completed(T0 + 2 * DAYS, "B")],
        [received(T0 + DAYS, "C"), paused(T0 + 2 * DAYS, "C"), resumed(T0 + 3 * DAYS, "C"),
         completed(T0 + 5 * DAYS, "C")],
    ]  # fmt: skip
    events = [e for history in histories for e in history]
    random.Random(3).shuffle(events)
    for start in range(0, len(events), 4):
        await store.record_batch(conn, events[start : start + 4])
    histogram = await dossiers.processing_histogram(
        conn, unit=PROVINCE, first_day=(T0 - DAYS).date(), last_day=NOW.date(), procedure=None
    )
    assert histogram == {bin_of(2.0): 1, bin_of(3.0): 1, bin_of(6.5): 1}
    median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)
    assert median is not None
    assert p90 is not None
    assert abs(bin_value(median) - 3.0) <= bin_error(median) == 0.125
    assert abs(bin_value(p90) - 6.5) <= bin_error(p90) == 0.125
    assert await backlog(conn, PROVINCE, at=NOW) == (0, 0, 0)


async def test_a_dossier_turns_overdue_with_no_new_event(conn: asyncpg.Connection[Any]) -> None:
    await store.record_batch(conn, [
        received(NOW - DAYS, "due-this-hour", due=NOW + 10 * MINUTES),
        received(NOW - DAYS, "due-in-two-hours", due=NOW + 2 * 60 * MINUTES),
        received(NOW - DAYS, "no-due"),
        received(NOW - 5 * DAYS, "paused-past-due", due=NOW - DAYS, unit=OTHER_WARD),
        paused(NOW - 3 * DAYS, "paused-past-due"),
    ])  # fmt: skip
    assert await backlog(conn, PROVINCE, at=NOW) == (4, 0, 1)
    assert await backlog(conn, WARD, at=NOW + 20 * MINUTES) == (3, 1, 0)  # within the due hour: counted exactly
    assert await backlog(conn, WARD, at=NOW + 3 * 60 * MINUTES) == (3, 2, 0)  # a whole due hour behind
    assert await backlog(conn, OTHER_WARD, at=NOW + 3 * 60 * MINUTES) == (1, 0, 1)  # its clock stands still
    await store.record_batch(conn, [resumed(NOW, "paused-past-due")])
    assert await backlog(conn, PROVINCE, at=NOW + 3 * 60 * MINUTES) == (4, 3, 0)
    oldest = await dossiers.oldest_overdue(conn, unit=PROVINCE, now=NOW + 3 * 60 * MINUTES, limit=2)
    assert [(d.dossier_id, d.unit_code, round(d.days_overdue, 3), round(d.paused_days, 3)) for d in oldest] == [
        ("paused-past-due", OTHER_WARD, 1.125, 3.0),
        ("due-this-hour", WARD, round(170 / 1440, 3), 0.0),
    ]


async def test_a_completion_before_its_reception(conn: asyncpg.Connection[Any]) -> None:
    await store.record_batch(conn, [completed(T0 + 3 * DAYS, "early")])
    assert await backlog(conn, PROVINCE, at=NOW) == (0, 0, 0)
    await store.record_batch(conn, [received(T0, "early", due=T0 + DAYS)])
    assert await backlog(conn, PROVINCE, at=NOW) == (0, 0, 0)  # already done: never in progress, never overdue
    histogram = await dossiers.processing_histogram(
        conn, unit=WARD, first_day=(T0 - DAYS).date(), last_day=NOW.date(), procedure="1.0001"
    )
    assert histogram == {bin_of(3.0): 1}


async def test_a_replayed_pause_counts_once(conn: asyncpg.Connection[Any]) -> None:
    pause = paused(NOW - 2 * DAYS, "replayed")
    await store.record_batch(conn, [received(NOW - 3 * DAYS, "replayed", due=NOW - DAYS), pause])
    outcome = await store.record_batch(conn, [pause, pause])
    assert (outcome.new, outcome.duplicates) == ([], 2)
    assert await backlog(conn, PROVINCE, at=NOW) == (1, 0, 1)
    assert await conn.fetchval("SELECT supplements FROM dossier_state WHERE dossier_id = 'replayed'") == 1
    await store.record_batch(conn, [resumed(NOW - DAYS, "replayed"), pause])
    assert await backlog(conn, PROVINCE, at=NOW) == (1, 1, 0)  # paused 1 day of the 3, due a day ago: overdue


def random_histories(count: int, *, seed: int) -> list[Event]:
    rng = random.Random(seed)
    units = [WARD, OTHER_WARD, "H24.102", "H24.01"]
    events: list[Event] = []
    for i in range(count):
        dossier, unit = f"R{i}", rng.choice(units)
        start = NOW - timedelta(hours=rng.randint(1, 24 * 20))
        events.append(received(start, dossier, unit=unit, due=start + timedelta(hours=rng.randint(1, 24 * 15))))
        moment = start
        for _ in range(rng.choice([0, 0, 1, 2])):
            moment += timedelta(hours=rng.randint(1, 48))
            events.append(paused(moment, dossier, rng.choice(["supplement", "financial_obligation"])))
            if rng.random() < 0.7:
                moment += timedelta(hours=rng.randint(1, 48))
                events.append(resumed(moment, dossier))
        if rng.random() < 0.6:
            events.append(completed(moment + timedelta(hours=rng.randint(1, 72)), dossier, unit=unit))
    return events


async def aggregates(conn: asyncpg.Connection[Any]) -> tuple[object, ...]:
    return (
        {tuple(r) for r in await conn.fetch("SELECT * FROM backlog_units WHERE in_progress <> 0 OR paused <> 0")},
        {tuple(r) for r in await conn.fetch("SELECT * FROM backlog_due WHERE running <> 0")},
        {tuple(r) for r in await conn.fetch("SELECT * FROM processing_time_daily WHERE dossiers <> 0")},
        await backlog(conn, PROVINCE, at=NOW),
    )


async def test_state_and_aggregates_do_not_depend_on_order_batching_or_replays(
    conn: asyncpg.Connection[Any], pg_dsn: str
) -> None:
    events = random_histories(400, seed=11)
    await store.record_batch(conn, events)
    in_order = await aggregates(conn)
    states = {r["dossier_id"]: dossiers.state_of(r) for r in await conn.fetch("SELECT * FROM dossier_state")}

    other = await asyncpg.connect(pg_dsn)
    try:
        await other.execute("TRUNCATE dossier_state, backlog_units, backlog_due, processing_time_daily, "
                            "processed_events")  # fmt: skip
        shuffled = list(events)
        random.Random(5).shuffle(shuffled)
        for start in range(0, len(shuffled), 37):
            await store.record_batch(other, shuffled[start : start + 37])
        await store.record_batch(other, shuffled[:300])  # a replay of part of the stream
        assert await aggregates(other) == in_order
        again = {r["dossier_id"]: dossiers.state_of(r) for r in await other.fetch("SELECT * FROM dossier_state")}
        assert again == states
    finally:
        await other.close()


async def test_closed_dossiers_leave_the_hot_state_after_retention(conn: asyncpg.Connection[Any]) -> None:
    long_ago = NOW - 100 * DAYS
    await store.record_batch(
        conn, [received(long_ago, "closed"), completed(long_ago + DAYS, "closed"), received(long_ago, "open")]
    )
    await conn.execute("UPDATE dossier_state SET touched_at = $1", NOW - 90 * DAYS)
    deleted = await dossiers.prune_dossiers(conn, closed_before=NOW - 60 * DAYS, buckets_before=NOW - 400 * DAYS)
    assert deleted == 1
    assert [r["dossier_id"] for r in await conn.fetch("SELECT dossier_id FROM dossier_state")] == ["open"]
    assert await backlog(conn, WARD, at=NOW) == (1, 0, 0)
    assert await dossiers.processing_histogram(conn, unit=WARD, first_day=long_ago.date(), last_day=NOW.date(),
                                               procedure=None) == {bin_of(1.0): 1}  # fmt: skip
