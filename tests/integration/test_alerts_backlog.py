"""Backlog rules on real PostgreSQL: the read model's live backlog (rows written straight into the dossier
lifecycle's tables), rolled up the tree, overdue against the clock, and the engine firing on it from its timer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.alerts.core.ruleset import parse_rules
from services.alerts.database import Database
from services.alerts.inputs import UnitBacklog
from services.alerts.read_model import PostgresInputs
from services.metrics.dossiers import load_backlog
from shared.db import create_pool
from shared.kpi_catalogue import UNKNOWN_LEVEL
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import PostgresSettings
from tests.support.alerting import FakeClock, alerts_over

pytestmark = pytest.mark.integration
WARD, OTHER_WARD, DEPARTMENT = "H24.107", "H24.108", "H24.01"
RULES = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}
rules:
  - name: backlog-overdue.commune
    kind: backlog
    scope: {levels: [commune]}
    measure: overdue_share
    threshold: 0.15
    recovery_margin: 0.05
    min_in_progress: 20
    for: 10m
    annotations:
      summary: "{unit_name}: {overdue} of {in_progress} overdue ({value_text})"
      runbook_url: "{runbook_base_url}backlog-overdue.md"
    receivers: [ops]
"""


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(PostgresSettings(pg_dsn=pg_dsn))
    async with pool.acquire() as connection:
        await sync_reference_data(connection, load_reference_data())
    yield pool
    await pool.close()


async def open_dossier(
    pool: asyncpg.Pool[Any], dossier_id: str, *, unit: str, due: datetime, paused: bool = False
) -> None:
    """A dossier in progress as the metrics service records it: its state row and its share of the aggregates."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "INSERT INTO dossier_state (dossier_id, unit_code, procedure_code, received_at, due_at, in_progress, "
            "paused, running_due) VALUES ($1, $2, 'P1', $3, $4, true, $5, $6)",
            dossier_id, unit, due - timedelta(days=5), due, paused, None if paused else due,
        )  # fmt: skip
        await connection.execute(
            "INSERT INTO backlog_units AS b (unit_code, in_progress, paused) VALUES ($1, 1, $2) ON CONFLICT (unit_code)"
            " DO UPDATE SET in_progress = b.in_progress + 1, paused = b.paused + excluded.paused",
            unit, int(paused),
        )  # fmt: skip
        if not paused:
            await connection.execute(
                "INSERT INTO backlog_due AS b (unit_code, due_day, running) "
                "VALUES ($1, ($2::timestamptz AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 1) "
                "ON CONFLICT (unit_code, due_day) DO UPDATE SET running = b.running + 1",
                unit, due,
            )  # fmt: skip


async def read_backlog(pool: asyncpg.Pool[Any]) -> dict[str, UnitBacklog]:
    """The live backlog as the alerts service's read-model adapter reads it."""
    return await PostgresInputs(Database(pool)).backlog()


async def db_now(pool: asyncpg.Pool[Any]) -> datetime:
    now: datetime = await pool.fetchval("SELECT now()")
    return now


async def test_the_view_rolls_the_backlog_up_the_tree_with_overdue_against_now(pool: asyncpg.Pool[Any]) -> None:
    now = await db_now(pool)
    await open_dossier(pool, "d1", unit=WARD, due=now - timedelta(days=3))  # overdue, in an earlier due hour
    await open_dossier(pool, "d2", unit=WARD, due=now - timedelta(microseconds=1))  # overdue, maybe this hour
    await open_dossier(pool, "d3", unit=WARD, due=now + timedelta(days=2))  # in time
    await open_dossier(pool, "d4", unit=WARD, due=now - timedelta(days=1), paused=True)  # paused: clock stopped
    await open_dossier(pool, "d5", unit=OTHER_WARD, due=now - timedelta(hours=5))
    await open_dossier(pool, "d6", unit="NEW.1", due=now - timedelta(hours=5))  # a code the tree lacks
    backlog = await read_backlog(pool)

    figures = {unit: (b.unit_level, b.in_progress, b.overdue, b.paused) for unit, b in backlog.items()}
    assert figures[WARD] == ("commune", 4, 2, 1)
    assert figures[OTHER_WARD] == ("commune", 1, 1, 0)
    assert figures["H24"] == ("province", 5, 3, 1)
    assert figures["NEW.1"] == (UNKNOWN_LEVEL, 1, 1, 0)
    assert figures[DEPARTMENT] == ("department", 0, 0, 0)  # every unit of the tree has a row, zeros included
    assert all(b.as_of >= now for b in backlog.values())

    # The same figures as the metrics service's own live backlog (GET /v1/backlog), read at the same moment.
    async with pool.acquire() as connection:
        as_of = backlog[WARD].as_of
        served = await load_backlog(connection, now=as_of, unknown_level=UNKNOWN_LEVEL)
    assert {u.unit_code: (u.figures.in_progress, u.figures.overdue, u.figures.paused) for u in served} == {
        unit: (in_progress, overdue, paused) for unit, (_, in_progress, overdue, paused) in figures.items()
    }


async def test_a_dossier_turns_overdue_at_its_due_time_with_no_new_event(pool: asyncpg.Pool[Any]) -> None:
    now = await db_now(pool)
    await open_dossier(pool, "soon", unit=WARD, due=now + timedelta(seconds=1.5))
    assert (await read_backlog(pool))[WARD].overdue == 0
    await asyncio.sleep(2)
    assert (await read_backlog(pool))[WARD].overdue == 1


async def test_a_commune_with_too_large_an_overdue_share_fires_from_the_timer_and_resolves(
    pool: asyncpg.Pool[Any],
) -> None:
    now = await db_now(pool)
    for i in range(30):  # 30 dossiers in progress, 6 of them overdue (20% > 15%), 2 more due in a second
        due = now - timedelta(days=1) if i < 6 else now + timedelta(seconds=1) if i < 8 else now + timedelta(days=3)
        await open_dossier(pool, f"w{i}", unit=WARD, due=due)
    for i in range(10):  # a ward under the minimum sample, every dossier overdue: never alerts
        await open_dossier(pool, f"o{i}", unit=OTHER_WARD, due=now - timedelta(days=1))
    clock = FakeClock(now)
    async with AsyncExitStack() as stack:
        alerts = await stack.enter_async_context(
            alerts_over(pool, rules=parse_rules(RULES), clock=clock, alerts_runbook_base_url="https://runbooks/")
        )
        engine = alerts.engine
        await engine.start()
        state = await pool.fetchrow(
            "SELECT status, numerator, denominator FROM alert_state WHERE alert_id = $1",
            f"backlog-overdue.commune/{WARD}",
        )
        assert tuple(state) == ("pending", 6, 30)
        await asyncio.sleep(1.2)  # two more fall due: the next round reads 8 of 30, no event needed
        clock.advance(minutes=10)
        await engine.tick()
        row = await pool.fetchrow("SELECT * FROM alert_state WHERE alert_id = $1", f"backlog-overdue.commune/{WARD}")
        assert (row["status"], row["numerator"], row["denominator"], row["target"]) == ("firing", 8, 30, 0.15)
        assert row["annotations"] == {
            "summary": "Phường Hồng Bàng: 8 of 30 overdue (26.7%)",
            "runbook_url": "https://runbooks/backlog-overdue.md",
        }
        assert row["labels"]["measure"] == "overdue_share"
        assert await pool.fetchval("SELECT count(*) FROM alert_state WHERE subject = $1", OTHER_WARD) == 0

        # Five of the overdue dossiers are settled (the metrics service clears their state and aggregates): 3 of
        # 25 is 12% (inside the margin: still firing); then one more, 2 of 24 (8.3%) clears.
        await settle(pool, [f"w{i}" for i in range(5)], unit=WARD)
        clock.advance(minutes=1)
        await engine.tick()
        assert await status(pool, WARD) == "firing"
        await settle(pool, ["w5"], unit=WARD)
        clock.advance(minutes=1)
        await engine.tick()
        assert await status(pool, WARD) == "resolved"
    kinds = await pool.fetch("SELECT kind FROM notification_outbox WHERE receiver = 'ops' ORDER BY id")
    assert [k["kind"] for k in kinds] == ["firing", "resolved"]


async def settle(pool: asyncpg.Pool[Any], dossiers: list[str], *, unit: str) -> None:
    """Dossiers completed: out of the backlog and their due buckets, as the metrics service's deltas do."""
    async with pool.acquire() as connection, connection.transaction():
        rows = await connection.fetch(
            "UPDATE dossier_state SET in_progress = false, running_due = NULL, completed_at = now() "
            "WHERE dossier_id = ANY($1::text[]) RETURNING due_at",
            dossiers,
        )
        await connection.execute(
            "UPDATE backlog_units SET in_progress = in_progress - $2 WHERE unit_code = $1", unit, len(rows)
        )
        for row in rows:
            await connection.execute(
                "UPDATE backlog_due SET running = running - 1 "
                "WHERE unit_code = $1 AND due_day = ($2::timestamptz AT TIME ZONE 'Asia/Ho_Chi_Minh')::date",
                unit, row["due_at"],
            )  # fmt: skip


async def status(pool: asyncpg.Pool[Any], unit: str) -> str:
    value: str = await pool.fetchval(
        "SELECT status FROM alert_state WHERE alert_id = $1", f"backlog-overdue.commune/{unit}"
    )
    return value
