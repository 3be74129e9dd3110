"""Counting and snapshots against real PostgreSQL, on a hand-computed fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.metrics import store
from services.metrics.core.counters import COUNTERS, aggregate
from services.metrics.core.kpis import DEFAULT_KPIS
from shared.events import Event, event_adapter
from shared.refdata import UnitLevel, load_reference_data
from shared.refdata.store import sync_reference_data
from tests.support.factories import completed, feedback, random_events, rated, received

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 10, 12, 30, tzinfo=UTC)  # 19:30 in Vietnam
HOURS = timedelta(hours=1)
DAYS = timedelta(days=1)


def online_commune_procedure() -> str:
    data = load_reference_data()
    return next(
        p.code
        for p in data.catalogue.procedures.values()
        if p.unit_level == UnitLevel.COMMUNE and p.service_level.value != "offline"
    )


def fixture_events() -> list[Event]:
    proc = online_commune_procedure()
    recent = NOW - HOURS
    events = [
        *(
            received(unit="HD.CG.01", at=recent, channel="online", level="full_online", essential=True, procedure=proc)
            for _ in range(3)
        ),
        received(
            unit="HD.CG.01", at=recent, channel="in_person", level="partial_online", digitized=False, procedure=proc
        ),
        *(received(unit="HD.CG.02", at=NOW - 3 * DAYS, channel="online", procedure=proc) for _ in range(2)),
        received(unit="HD.GL.01", at=NOW - 40 * DAYS, channel="postal", procedure=proc),
        completed(unit="HD.CG.01", at=recent, electronic=True, due=recent + DAYS),
        completed(unit="HD.CG.01", at=recent, electronic=False, due=recent - 2 * DAYS),
        *(rated(unit="HD.CG.01", at=recent, score=s) for s in (5, 4, 2)),
        feedback(unit="HD.GL.01", at=NOW - 2 * HOURS, on_time=True, score=5),
        feedback(unit="HD.GL.01", at=NOW - 2 * HOURS, on_time=False, score=None),
        received(unit="XX.99", at=recent, channel="online", procedure=proc),
    ]
    return events


async def snapshot_table(connection: asyncpg.Connection[Any]) -> dict[tuple[str, str, str], tuple[int, int]]:
    snapshots = await store.compute_snapshots(connection, now=NOW, definitions=DEFAULT_KPIS)
    return {s.scope: (s.numerator, s.denominator) for s in snapshots}


@pytest.fixture
async def conn(pg_conn: asyncpg.Connection[Any]) -> asyncpg.Connection[Any]:
    await sync_reference_data(pg_conn, load_reference_data())
    return pg_conn


async def test_every_kpi_on_the_hand_computed_fixture(conn: asyncpg.Connection[Any]) -> None:
    events = fixture_events()
    outcome = await store.record_batch(conn, [*events, events[0]])  # the first one sent twice
    assert (len(outcome.new), outcome.duplicates) == (len(events), 1)
    kpis = await snapshot_table(conn)
    expected = {
        ("online_submission_rate", "1d", "HD"): (3, 4),
        ("online_submission_rate", "7d", "HD"): (5, 6),
        ("online_submission_rate", "30d", "HD"): (5, 6),
        ("online_submission_rate", "mtd", "HD"): (5, 6),
        ("online_submission_rate", "qtd", "HD"): (5, 6),
        ("online_submission_rate", "ytd", "HD"): (5, 7),
        ("online_submission_rate", "1d", "HD.CG"): (3, 4),
        ("online_submission_rate", "7d", "HD.CG.02"): (2, 2),
        ("online_submission_rate", "1d", "HD.CG.02"): (0, 0),
        ("online_submission_rate", "ytd", "HD.GL"): (0, 1),
        ("online_submission_rate", "1d", "XX.99"): (1, 1),
        ("full_online_rate", "1d", "HD"): (3, 4),
        ("digitization_rate", "1d", "HD"): (3, 4),
        ("essential_online_rate", "1d", "HD"): (3, 3),
        ("online_result_rate", "1d", "HD"): (1, 2),
        ("on_time_rate", "1d", "HD.CG.01"): (1, 2),
        ("satisfaction_rate", "1d", "HD"): (2, 3),
        ("feedback_satisfaction_rate", "1d", "HD.GL"): (1, 1),
        ("feedback_on_time_rate", "1d", "HD"): (1, 2),
        ("feedback_on_time_rate", "1d", "HD.CG"): (0, 0),
    }
    assert {scope: kpis[scope] for scope in expected} == expected


async def test_usage_rate_counts_distinct_offered_procedures_with_an_online_dossier(
    conn: asyncpg.Connection[Any],
) -> None:
    await store.record_batch(conn, fixture_events())
    offered = await conn.fetchval(
        "SELECT count(*) FROM procedure_catalogue WHERE unit_code = 'HD.CG.01' AND service_level <> 'offline'"
    )
    kpis = await snapshot_table(conn)
    assert kpis[("online_service_usage_rate", "1d", "HD.CG.01")] == (1, offered)
    assert kpis[("online_service_usage_rate", "1d", "HD.CG.02")] == (0, offered)
    assert kpis[("online_service_usage_rate", "7d", "HD.CG.02")] == (1, offered)


async def test_published_procedure_joins_the_usage_denominator(conn: asyncpg.Connection[Any]) -> None:
    before = await snapshot_table(conn)
    publish = event_adapter.validate_python(
        {
            "event_id": "00000000-0000-4000-8000-000000000001",
            "type": "procedure.published",
            "occurred_at": NOW.isoformat(),
            "source": "demo",
            "unit_code": "HD.CG.01",
            "procedure_code": "NEW.PROC.1",
            "service_level": "full_online",
        }
    )
    await store.record_batch(conn, [publish])
    after = await snapshot_table(conn)
    scope = ("online_service_usage_rate", "1d", "HD.CG.01")
    assert after[scope][1] == before[scope][1] + 1


async def test_counts_equal_the_ground_truth_whatever_the_batching_and_order(conn: asyncpg.Connection[Any]) -> None:
    events = random_events(3000, seed=7, now=NOW, days=10)
    shuffled = list(reversed(events))
    for start in range(0, len(shuffled), 170):
        await store.record_batch(conn, shuffled[start : start + 170])
    await store.record_batch(conn, events[:900])  # a replay of part of the stream
    rows = await conn.fetch(f"SELECT bucket, unit_code, procedure_code, {', '.join(COUNTERS)} FROM kpi_counts_hourly")  # noqa: S608
    stored = {(r["bucket"], r["unit_code"], r["procedure_code"]): [r[c] for c in COUNTERS] for r in rows}
    assert stored == {tuple(k): v for k, v in aggregate(events).items()}
    assert await conn.fetchval("SELECT count(*) FROM processed_events") == len(events)


async def test_retention_prunes_old_buckets_rollups_and_event_ids(conn: asyncpg.Connection[Any]) -> None:
    old, recent = NOW - 500 * DAYS, NOW - HOURS
    await store.record_batch(conn, [received(unit="HD.CG.01", at=old), received(unit="HD.CG.01", at=recent)])
    await conn.execute("UPDATE processed_events SET processed_at = $1 WHERE occurred_at = $2", old, old)
    deleted = await store.prune(conn, buckets_before=NOW - 400 * DAYS, event_ids_before=NOW - 45 * DAYS)
    assert deleted == (3, 1)  # the old hourly, unit-hourly and daily rows; the old event id
    assert await conn.fetchval("SELECT count(*) FROM kpi_counts_hourly") == 1
    assert await conn.fetchval("SELECT count(*) FROM kpi_counts_daily") == 1
    assert await conn.fetchval("SELECT count(*) FROM processed_events") == 1
