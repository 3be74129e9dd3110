"""Grouped pages and scheduled digests over real PostgreSQL, delivered to a real HTTP sink by the service's parts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.alerts.core.ruleset import RuleSet, parse_rules
from services.alerts.delivery.webhook import SIGNATURE_HEADER, verify_signature
from services.alerts.digest import DigestScheduler
from services.alerts.inject import Alerts
from shared.db import create_pool
from shared.kpi_catalogue import VIETNAM
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import PostgresSettings
from shared.snapshots import KpiSnapshot
from tests.support.alerting import FakeClock, HttpSink, alerts_over

pytestmark = pytest.mark.integration
# 07:59 in Vietnam: the receivers' digests are due at 08:00.
T0 = datetime.now(VIETNAM).replace(hour=7, minute=59, second=0, microsecond=0).astimezone(UTC)
SECRET = "hook-secret"
DISTRICTS = ["HD.CG", "HD.GL", "HD.TK", "HD.NG", "HD.TM", "HD.NS", "HD.KT", "HD.TH", "HD.BG", "HD.KM"]


def rules_for(sink: HttpSink) -> RuleSet:
    return parse_rules(f"""
receivers:
  - {{name: ops, type: webhook, url: "{sink.url}/hook", secret_env: TEST_HOOK_SECRET, group_wait: 30s,
     group_interval: 2m}}
  - {{name: chat, type: slack, url_env: TEST_SLACK_URL, group_wait: 30s}}
rules:
  - name: online-low
    kpi: online_submission_rate
    scope: {{levels: [district]}}
    target: 0.87
    recovery_margin: 0.01
    annotations: {{summary: "{{unit_name}} online submission at {{value_pct}}"}}
    receivers: [ops, chat]
  - name: full-online-gap
    notify: digest
    kpi: full_online_rate
    scope: {{levels: [district]}}
    target: 0.3
    for: 1h
    annotations: {{summary: "{{unit_name}} fully online at {{value_pct}}, target {{target_pct}}"}}
    receivers: [ops, chat]
""")


def snapshot(kpi: str, unit: str, ratio: float, at: datetime) -> KpiSnapshot:
    return KpiSnapshot(
        kpi=kpi, window="30d", unit_code=unit, unit_level="district", numerator=round(ratio * 1000), denominator=1000,
        ratio=ratio, window_start=at - timedelta(days=30), window_end=at, computed_at=at,
    )  # fmt: skip


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    server = HttpSink().start()
    yield server
    server.stop()


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


@pytest.fixture
async def alerts(pool: asyncpg.Pool[Any], sink: HttpSink, clock: FakeClock) -> AsyncIterator[Alerts]:
    environ = {"TEST_HOOK_SECRET": SECRET, "TEST_SLACK_URL": f"{sink.url}/slack"}
    async with alerts_over(pool, rules=rules_for(sink), clock=clock, environ=environ) as built:
        await built.engine.start()
        yield built


async def rounds(alerts: Alerts, clock: FakeClock, *, count: int, seconds: float) -> None:
    """Timer ticks, digest checks and dispatch rounds as time passes."""
    for _ in range(count):
        await alerts.engine.tick()
        await alerts.digests.send_due()
        await alerts.dispatcher.dispatch_once()
        clock.advance(seconds=seconds)


async def test_ten_alerts_due_to_one_receiver_within_the_group_wait_arrive_as_one_notification(
    alerts: Alerts, sink: HttpSink, clock: FakeClock, pool: asyncpg.Pool[Any]
) -> None:
    for i, unit in enumerate(DISTRICTS):  # ten alerts fire over 20 seconds
        await alerts.engine.on_snapshots([snapshot("online_submission_rate", unit, 0.5 + i / 100, clock.now)])
        await alerts.dispatcher.dispatch_once()
        clock.advance(seconds=2)
    assert sink.delivered() == []  # the first is 20 s old: inside the 30 s group wait
    await rounds(alerts, clock, count=3, seconds=10)

    [group] = [r.json() for r in sink.delivered("/hook")]
    assert (group["kind"], group["count"], group["firing"], group["resolved"]) == ("group", 10, 10, 0)
    assert sorted(n["subject"] for n in group["notifications"]) == sorted(DISTRICTS)
    assert {n["labels"]["notify"] for n in group["notifications"]} == {"page"}
    [request] = sink.delivered("/hook")
    assert verify_signature(SECRET.encode(), request.body, request.headers[SIGNATURE_HEADER])
    assert request.headers["X-CivicPulse-Notification-Id"] == group["id"]
    [slack] = [r.json() for r in sink.delivered("/slack")]
    assert slack["text"].startswith("[10 ALERTS: 10 firing, 0 resolved]")
    rows = await pool.fetch("SELECT status, count(*) AS n FROM notification_outbox WHERE receiver = 'ops' GROUP BY 1")
    assert {r["status"]: r["n"] for r in rows} == {"grouped": 10, "delivered": 1}

    # All ten recover at once: one group of resolutions, not before the group interval since the first group.
    for unit in DISTRICTS:
        await alerts.engine.on_snapshots([snapshot("online_submission_rate", unit, 0.95, clock.now)])
    await rounds(alerts, clock, count=6, seconds=10)  # 60 s: the 2 min interval has not passed
    assert len(sink.delivered("/hook")) == 1
    await rounds(alerts, clock, count=8, seconds=10)
    groups = [r.json() for r in sink.delivered("/hook")]
    assert [(g["count"], g["firing"], g["resolved"]) for g in groups] == [(10, 10, 0), (10, 0, 10)]


async def test_digest_alerts_wait_for_the_scheduled_digest_which_is_sent_once_per_slot_with_changes(
    alerts: Alerts, sink: HttpSink, clock: FakeClock, pool: asyncpg.Pool[Any]
) -> None:
    gaps = {"HD.CG": 0.16, "HD.GL": 0.10, "HD.TK": 0.25, "HD.NG": 0.35}
    await alerts.engine.on_snapshots([snapshot("full_online_rate", u, v, clock.now) for u, v in gaps.items()])
    await rounds(alerts, clock, count=1, seconds=0)  # 07:59: yesterday's slot, nothing was firing then
    clock.advance(minutes=61)  # 09:00: past `for` and past today's 08:00 slot
    await rounds(alerts, clock, count=1, seconds=0)
    firing = await pool.fetch("SELECT alert_id FROM alert_state WHERE status = 'firing' ORDER BY alert_id")
    assert [r["alert_id"] for r in firing] == [
        "full-online-gap/HD.CG",
        "full-online-gap/HD.GL",
        "full-online-gap/HD.TK",
    ]
    await rounds(alerts, clock, count=3, seconds=1)

    [digest] = [r.json() for r in sink.delivered("/hook")]  # no page for any of them: one digest
    assert digest["kind"] == "digest"
    assert [e["subject"] for e in digest["entries"]] == ["HD.GL", "HD.CG", "HD.TK"]  # worst first
    assert [e["labels"]["notify"] for e in digest["entries"]] == ["digest"] * 3
    assert datetime.fromisoformat(digest["slot"]).astimezone(VIETNAM).hour == 8
    [slack] = [r.json() for r in sink.delivered("/slack")]
    assert slack["text"].startswith("[DIGEST] 3 below target")

    # A second replica comes to the same slot: it records and sends nothing.
    replica = DigestScheduler(digests=alerts.storage.digests, known=alerts.engine, clock=clock)
    assert await replica.send_due() == []

    # Tomorrow: one better, one cleared, and the change since this digest.
    await alerts.engine.on_snapshots(
        [snapshot("full_online_rate", u, v, clock.now) for u, v in {"HD.CG": 0.20, "HD.TK": 0.40}.items()]
    )
    clock.advance(days=1)
    await rounds(alerts, clock, count=3, seconds=1)
    digests = [r.json() for r in sink.delivered("/hook")]
    assert len(digests) == 2
    second = digests[1]
    assert [(e["subject"], e["new"], round(e["change"], 3)) for e in second["entries"]] == [
        ("HD.GL", False, 0.0),
        ("HD.CG", False, 0.04),
    ]
    assert [c["alert_id"] for c in second["cleared"]] == ["full-online-gap/HD.TK"]
    assert second["id"] != digest["id"]
    stored = await pool.fetch("SELECT receiver, count(*) AS n FROM alert_digest GROUP BY 1 ORDER BY 1")
    assert [(r["receiver"], r["n"]) for r in stored] == [("chat", 3), ("ops", 3)]  # yesterday's (empty) included
