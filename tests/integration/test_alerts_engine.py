"""The evaluation engine on real PostgreSQL with a hand-driven clock: state, history and outbox in one transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.alerts.core.ruleset import RuleSet, parse_rules
from services.alerts.engine import AlertEngine
from services.metrics import store as metrics_store
from shared.db import create_pool
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import PostgresSettings
from shared.snapshots import KpiSnapshot
from tests.support.alerting import FakeClock, alerts_over
from tests.support.factories import received

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
RULES = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
rules:
  - name: online-low
    kpi: online_submission_rate
    window: 30d
    scope: {levels: [district]}
    target: 0.87
    recovery_margin: 0.01
    min_denominator: 50
    for: 15m
    severity: warning
    labels: {team: ioc}
    annotations:
      summary: "{unit_name}: {value_pct} < {target_pct} ({window})"
      runbook_url: "{runbook_base_url}kpi-below-target.md"
    receivers: [ops, am]
  - name: source-quiet
    kind: source_stale
    quiet_for: 30m
    annotations: {summary: "{source} quiet for {age}"}
    receivers: [ops]
"""


def snapshot(
    unit: str,
    ratio: float | None,
    at: datetime,
    *,
    denominator: int = 1000,
    level: str = "district",
    kpi: str = "online_submission_rate",
) -> KpiSnapshot:
    numerator = round((ratio or 0) * denominator)
    return KpiSnapshot(
        kpi=kpi,
        window="30d",
        unit_code=unit,
        unit_level=level,
        numerator=numerator,
        denominator=denominator,
        ratio=ratio,
        window_start=at - timedelta(days=30),
        window_end=at,
        computed_at=at,
    )


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(PostgresSettings(pg_dsn=pg_dsn))
    async with pool.acquire() as connection:
        await sync_reference_data(connection, load_reference_data())
    yield pool
    await pool.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


EngineFactory = Callable[..., Awaitable[AlertEngine]]


@pytest.fixture
async def make_engine(pool: asyncpg.Pool[Any], clock: FakeClock) -> AsyncIterator[EngineFactory]:
    """Engines over the test database, each built by the service's factory (repeats every 4 hours)."""
    async with AsyncExitStack() as stack:

        async def make(rules: RuleSet | None = None) -> AlertEngine:
            alerts = await stack.enter_async_context(
                alerts_over(
                    pool,
                    rules=rules or parse_rules(RULES),
                    clock=clock,
                    alerts_repeat_interval_s=4 * 3600,
                    alerts_runbook_base_url="https://runbooks/",
                )
            )
            return alerts.engine

        yield make


async def outbox(pool: asyncpg.Pool[Any], receiver: str | None = None) -> list[tuple[str, str, str]]:
    rows = await pool.fetch("SELECT receiver, alert_id, kind FROM notification_outbox ORDER BY id")
    return [(r["receiver"], r["alert_id"], r["kind"]) for r in rows if receiver is None or r["receiver"] == receiver]


async def history(pool: asyncpg.Pool[Any]) -> list[tuple[str, str, str]]:
    rows = await pool.fetch("SELECT alert_id, from_status, to_status FROM alert_history ORDER BY id")
    return [(r["alert_id"], r["from_status"], r["to_status"]) for r in rows]


async def drop_for_20_minutes(engine: AlertEngine, clock: FakeClock, unit: str = "HD.CG") -> None:
    for _ in range(5):
        await engine.on_snapshots([snapshot(unit, 0.80, clock.now)])
        await engine.tick()
        clock.advance(minutes=5)


async def test_a_kpi_below_target_for_longer_than_for_fires_once_and_resolves_once(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    engine = await make_engine()
    await engine.start()
    await drop_for_20_minutes(engine, clock)
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing")]
    state = await pool.fetchrow("SELECT * FROM alert_state WHERE alert_id = 'online-low/HD.CG'")
    fired_at = T0 + timedelta(minutes=15)
    assert (state["status"], state["value"], state["target"], state["fired_at"]) == ("firing", 0.8, 0.87, fired_at)
    assert state["annotations"] == {
        "summary": "Huyện Cẩm Giàng: 80.0% < 87.0% (30d)",
        "runbook_url": "https://runbooks/kpi-below-target.md",
    }
    assert state["labels"] == {
        "alertname": "online-low",
        "severity": "warning",
        "notify": "page",
        "team": "ioc",
        "unit": "HD.CG",
        "unit_level": "district",
        "kpi": "online_submission_rate",
        "window": "30d",
    }
    for value in (0.875, 0.879, 0.86):  # inside the margin, or breaching again: still the same firing alert
        await engine.on_snapshots([snapshot("HD.CG", value, clock.advance(minutes=1))])
    await engine.on_snapshots([snapshot("HD.CG", 0.9, clock.advance(minutes=1))])
    await engine.tick()
    await engine.on_snapshots([snapshot("HD.CG", 0.95, clock.advance(minutes=1))])
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing"), ("ops", "online-low/HD.CG", "resolved")]
    assert await outbox(pool, "am") == [("am", "online-low/HD.CG", "firing"), ("am", "online-low/HD.CG", "resolved")]
    assert await history(pool) == [
        ("online-low/HD.CG", "inactive", "pending"),
        ("online-low/HD.CG", "pending", "firing"),
        ("online-low/HD.CG", "firing", "resolved"),
    ]
    changes = await pool.fetch("SELECT payload FROM notification_outbox WHERE receiver = 'alerts-topic' ORDER BY id")
    assert [(c["payload"]["from_status"], c["payload"]["to_status"]) for c in changes] == [
        ("inactive", "pending"),
        ("pending", "firing"),
        ("firing", "resolved"),
    ]


async def test_a_recovery_inside_a_batch_cancels_the_pending_alert(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    engine = await make_engine()
    await engine.start()
    for minute in range(0, 30, 3):  # below, back above target, below: delivered together, every one counts
        at = T0 + timedelta(minutes=minute)
        await engine.on_snapshots(
            [
                snapshot("HD.CG", 0.86, at + timedelta(minutes=2)),
                snapshot("HD.CG", 0.80, at),
                snapshot("HD.CG", 0.875, at + timedelta(minutes=1)),
            ]
        )
        clock.now = at + timedelta(minutes=3)
        await engine.tick()
    assert await outbox(pool, "ops") == []
    statuses = [to for _, _, to in await history(pool)]
    assert "firing" not in statuses
    assert statuses.count("inactive") == 10


async def test_a_tiny_denominator_and_an_unwatched_kpi_produce_nothing(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    engine = await make_engine()
    await engine.start()
    for _ in range(10):
        await engine.on_snapshots(
            [
                snapshot("HD.CG", 0.1, clock.now, denominator=49),
                snapshot("HD.GL", 0.1, clock.now, kpi="satisfaction_rate"),
                snapshot("HD", 0.1, clock.now, level="province"),
            ]
        )
        await engine.tick()
        clock.advance(minutes=5)
    assert await pool.fetchval("SELECT count(*) FROM alert_state") == 0
    assert await outbox(pool) == []


async def test_a_restart_neither_forgets_a_firing_alert_nor_notifies_it_again(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    first = await make_engine()
    await first.start()
    await drop_for_20_minutes(first, clock)
    assert len(await outbox(pool, "ops")) == 1
    restarted = await make_engine()
    await restarted.start()
    for _ in range(10):
        await restarted.on_snapshots([snapshot("HD.CG", 0.80, clock.advance(minutes=10))])
        await restarted.tick()
    assert restarted.alerts["online-low/HD.CG"].state.status.value == "firing"
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing")]
    clock.advance(hours=3)  # four hours after firing: one repeat
    await restarted.tick()
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing"), ("ops", "online-low/HD.CG", "repeat")]


async def test_startup_evaluates_the_current_snapshot_table(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    async with pool.acquire() as connection:
        await metrics_store.write_snapshots(connection, [snapshot("HD.GL", 0.5, T0), snapshot("HD.CG", 0.95, T0)])
    engine = await make_engine()
    await engine.start()
    assert {a.state.alert_id: a.state.status.value for a in engine.alerts.values()} == {"online-low/HD.GL": "pending"}


async def test_a_silenced_alert_fires_and_is_listed_but_nobody_is_notified(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    await pool.execute(
        "INSERT INTO silences (id, matchers, starts_at, ends_at, author, comment) "
        "VALUES (gen_random_uuid(), $1, $2, $3, 'ops', 'planned outage')",
        [{"name": "unit", "value": "HD.CG", "is_regex": False, "is_equal": True}],
        T0,
        T0 + timedelta(hours=1),
    )
    engine = await make_engine()
    await engine.start()
    await drop_for_20_minutes(engine, clock)
    assert engine.alerts["online-low/HD.CG"].state.status.value == "firing"
    assert await outbox(pool, "ops") == []
    note = await pool.fetchval("SELECT note FROM alert_history WHERE to_status = 'firing'")
    assert note.startswith("notifications muted by silence")
    clock.advance(hours=1)  # the silence ends while the alert still fires: now it is notified
    await engine.tick()
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing")]


async def test_a_source_that_goes_quiet_raises_its_alert(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    async with pool.acquire() as connection:
        await metrics_store.record_batch(
            connection,
            [received(unit="HD.CG.01", at=T0, source="portal-a"), received(unit="HD.CG.01", at=T0, source="portal-b")],
        )
    engine = await make_engine()
    await engine.start()
    clock.advance(minutes=20)
    async with pool.acquire() as connection:
        await metrics_store.record_batch(connection, [received(unit="HD.CG.01", at=clock.now, source="portal-b")])
    clock.advance(minutes=11)
    await engine.tick()
    assert await outbox(pool, "ops") == [("ops", "source-quiet/portal-a", "firing")]
    row = await pool.fetchrow("SELECT annotations, value, target FROM alert_state WHERE subject = 'portal-a'")
    assert row["annotations"]["summary"] == "portal-a quiet for 31m"
    assert (row["value"], row["target"]) == (31 * 60, 30 * 60)
    async with pool.acquire() as connection:
        await metrics_store.record_batch(connection, [received(unit="HD.CG.01", at=clock.now, source="portal-a")])
    await engine.tick()
    assert [k for _, _, k in await outbox(pool, "ops")] == ["firing", "resolved"]


async def test_reloading_rules_keeps_alert_state_and_resolves_alerts_of_removed_rules(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    engine = await make_engine()
    await engine.start()
    await drop_for_20_minutes(engine, clock)
    await engine.reload(parse_rules(RULES.replace("{unit_name}:", "Alert for {unit_name}:")))
    assert engine.alerts["online-low/HD.CG"].state.status.value == "firing"
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing")]
    without = RULES.split("  - name: source-quiet", maxsplit=1)[0].replace("name: online-low", "name: online-low-v2")
    await engine.reload(parse_rules(without))
    assert engine.alerts["online-low/HD.CG"].state.status.value == "resolved"
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing"), ("ops", "online-low/HD.CG", "resolved")]
    removed = "SELECT note FROM alert_history WHERE alert_id = 'online-low/HD.CG' ORDER BY id DESC LIMIT 1"
    assert await pool.fetchval(removed) == "rule removed"
    assert engine.alerts["online-low-v2/HD.CG"].state.status.value == "pending"  # the new rule starts afresh


async def test_two_engines_on_one_database_fire_an_alert_once(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    first, second = await make_engine(), await make_engine()
    await first.start()
    await second.start()
    for _ in range(5):
        batch = [snapshot("HD.CG", 0.80, clock.now)]
        await first.on_snapshots(batch)
        await second.on_snapshots(batch)
        await second.tick()
        await first.tick()
        clock.advance(minutes=5)
    assert await outbox(pool, "ops") == [("ops", "online-low/HD.CG", "firing")]
    assert await history(pool) == [
        ("online-low/HD.CG", "inactive", "pending"),
        ("online-low/HD.CG", "pending", "firing"),
    ]


async def test_alerts_of_a_rule_removed_while_the_service_was_down_are_retired_at_start(
    pool: asyncpg.Pool[Any], clock: FakeClock, make_engine: EngineFactory
) -> None:
    engine = await make_engine()
    await engine.start()
    await drop_for_20_minutes(engine, clock)  # online-low/HD.CG fires
    await engine.on_snapshots([snapshot("HD.GL", 0.80, clock.now)])  # online-low/HD.GL is pending
    head, tail = RULES.split("  - name: online-low", maxsplit=1)[0], RULES.split("  - name: source-quiet")[1]
    without = parse_rules(head + "  - name: source-quiet" + tail)
    restarted = await make_engine(without)
    await restarted.start()
    rows = await pool.fetch("SELECT alert_id, status FROM alert_state ORDER BY alert_id")
    assert {(r["alert_id"], r["status"]) for r in rows} >= {
        ("online-low/HD.CG", "resolved"),
        ("online-low/HD.GL", "inactive"),
    }
    active = await pool.fetch("SELECT alert_id FROM alert_state WHERE status IN ('pending', 'firing')")
    assert [r["alert_id"] for r in active if r["alert_id"].startswith("online-low")] == []
