"""The outbox dispatcher against real receivers: an HTTP sink, aiosmtpd, the Debian Alertmanager, and Kafka."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from services.alerts.core.ruleset import RuleSet, parse_rules
from services.alerts.delivery.base import Deliverer, Receivers
from services.alerts.delivery.webhook import SIGNATURE_HEADER, verify_signature
from services.alerts.dispatcher import Dispatcher, DispatchOptions
from services.alerts.inject import Alerts
from shared.db import create_pool
from shared.producer import RecordProducer, RecordSink, TopicPartitions
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, PostgresSettings, TopicSettings
from shared.snapshots import KpiSnapshot
from tests.support.alerting import (
    Alertmanager,
    FakeClock,
    HttpSink,
    RecordedChanges,
    SmtpSink,
    alerts_over,
    eventually,
)

pytestmark = pytest.mark.integration
T0 = datetime.now(UTC).replace(microsecond=0)
SECRET = "hook-secret"


def rules_for(sink: HttpSink, smtp: SmtpSink, alertmanager_url: str, receivers: str = "ops, mail, am, chat") -> RuleSet:
    return parse_rules(f"""
receivers:
  - {{name: ops, type: webhook, url: "{sink.url}/hook", secret_env: TEST_HOOK_SECRET}}
  - {{name: mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, from_address: alerts@civicpulse.test,
     to: [oncall@civicpulse.test]}}
  - {{name: am, type: alertmanager, url: "{alertmanager_url}", resend_interval: 1s}}
  - {{name: chat, type: slack, url_env: TEST_SLACK_URL}}
rules:
  - name: online-low
    kpi: online_submission_rate
    scope: {{levels: [district]}}
    target: 0.87
    recovery_margin: 0.01
    min_denominator: 50
    annotations: {{summary: "{{unit_name}} online submission at {{value_pct}}", description: "target {{target_pct}}"}}
    receivers: [{receivers}]
""")


class Harness:
    """The service's parts over one database (built by its factory), a hand-driven clock, a recorded changes topic."""

    def __init__(self, pool: asyncpg.Pool[Any], alerts: Alerts, clock: FakeClock, changes: RecordedChanges) -> None:
        self.pool, self.alerts, self.clock, self.changes = pool, alerts, clock, changes
        self.rules, self.engine, self.metrics = alerts.engine.rules, alerts.engine, alerts.metrics
        self.deliverers = alerts.receivers.current

    def dispatcher(self, deliverers: Mapping[str, Deliverer] | None = None, **options: Any) -> Dispatcher:
        """A dispatcher with these options (base 1 s, cap 8 s by default) over the harness's outbox."""
        chosen = deliverers if deliverers is not None else self.deliverers
        return Dispatcher(
            outbox=self.alerts.storage.outbox,
            receivers=Receivers(chosen),
            options=DispatchOptions(**{"backoff_base_s": 1.0, "backoff_max_s": 8.0, **options}),
            metrics=self.metrics,
            clock=self.clock,
            rng=random.Random(7),
        )

    async def fire(self, unit: str = "HD.CG", value: float = 0.5) -> None:
        await self.engine.on_snapshots([snapshot(unit, value, self.clock.now)])

    async def drain(self, dispatcher: Dispatcher, *, rounds: int = 20, step_s: float = 10.0) -> None:
        """Dispatch and let time pass until nothing is due any more."""
        for _ in range(rounds):
            await dispatcher.dispatch_once()
            self.clock.advance(seconds=step_s)


def snapshot(unit: str, ratio: float, at: datetime) -> KpiSnapshot:
    return KpiSnapshot(
        kpi="online_submission_rate",
        window="30d",
        unit_code=unit,
        unit_level="district",
        numerator=round(ratio * 1000),
        denominator=1000,
        ratio=ratio,
        window_start=at - timedelta(days=30),
        window_end=at,
        computed_at=at,
    )


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    server = HttpSink().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
async def pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool[Any]]:
    pool = await create_pool(PostgresSettings(pg_dsn=pg_dsn))
    async with pool.acquire() as connection:
        await sync_reference_data(connection, load_reference_data())
    yield pool
    await pool.close()


@asynccontextmanager
async def started(
    pool: asyncpg.Pool[Any], rules: RuleSet, clock: FakeClock, *, producer: RecordSink | None = None, **settings: Any
) -> AsyncIterator[Harness]:
    """A harness whose engine has started; the receivers' secrets come from its environment."""
    changes = RecordedChanges()
    slack_url = rules.receivers["ops"].url.unicode_string().replace("/hook", "/slack")  # type: ignore[union-attr]
    environ = {"TEST_HOOK_SECRET": SECRET, "TEST_SLACK_URL": slack_url}
    built = alerts_over(pool, rules=rules, clock=clock, producer=producer or changes, environ=environ, **settings)
    async with built as alerts:
        await alerts.engine.start()
        yield Harness(pool, alerts, clock, changes)


@pytest.fixture
async def harness(pool: asyncpg.Pool[Any], sink: HttpSink, smtp: SmtpSink) -> AsyncIterator[Harness]:
    """Every receiver kind, Alertmanager's pointed at the sink."""
    async with started(pool, rules_for(sink, smtp, f"{sink.url}/am-unused"), FakeClock(T0)) as built:
        yield built


@pytest.fixture
async def webhook_only(pool: asyncpg.Pool[Any], sink: HttpSink, smtp: SmtpSink) -> AsyncIterator[Harness]:
    """The rule notifies the webhook only (and the recorded changes topic)."""
    async with started(pool, rules_for(sink, smtp, f"{sink.url}/am-unused", receivers="ops"), FakeClock(T0)) as built:
        yield built


async def statuses(pool: asyncpg.Pool[Any]) -> dict[str, tuple[str, int]]:
    rows = await pool.fetch("SELECT receiver, status, attempts FROM notification_outbox")
    return {r["receiver"]: (r["status"], r["attempts"]) for r in rows}


async def test_webhook_email_and_chat_receive_the_firing_and_the_resolution(
    harness: Harness, sink: HttpSink, smtp: SmtpSink
) -> None:
    dispatcher = harness.dispatcher()
    await harness.fire()
    await harness.drain(dispatcher, rounds=2)
    await harness.fire(value=0.95)
    await harness.drain(dispatcher, rounds=2)
    hooks = sink.delivered("/hook")
    assert [h.json()["status"] for h in hooks] == ["firing", "resolved"]
    for hook in hooks:
        assert verify_signature(SECRET.encode(), hook.body, hook.headers[SIGNATURE_HEADER])
        assert hook.headers["X-CivicPulse-Notification-Id"] == hook.json()["id"]
    assert hooks[0].json()["annotations"]["summary"] == "Huyện Cẩm Giàng online submission at 50.0%"
    assert [m["Subject"] for m in smtp.messages] == [
        "[FIRING:warning] Huyện Cẩm Giàng online submission at 50.0%",
        "[RESOLVED] Huyện Cẩm Giàng online submission at 95.0%",
    ]
    assert [m["Message-ID"] for m in smtp.messages] == [f"<{h.json()['id']}@civicpulse>" for h in hooks]
    assert [s.json()["text"][:10] for s in sink.delivered("/slack")] == ["[FIRING:wa", "[RESOLVED]"]
    changes = [c["to_status"] for c in harness.changes.changes()]
    assert changes == ["pending", "firing", "resolved"]
    assert harness.metrics.sent.labels("ops")._value.get() == 2


async def test_a_receiver_down_for_a_while_gets_the_notification_once_after_it_recovers(
    webhook_only: Harness, sink: HttpSink
) -> None:
    dispatcher = webhook_only.dispatcher()
    sink.failing = True
    await webhook_only.fire()
    for _ in range(4):
        await dispatcher.dispatch_once()
        webhook_only.clock.advance(seconds=30)
    failed_attempts = sink.attempts("/hook")
    assert len(failed_attempts) == 4
    assert len({a.headers["X-CivicPulse-Notification-Id"] for a in failed_attempts}) == 1
    row = await webhook_only.pool.fetchrow(
        "SELECT attempts, next_attempt_at, last_error FROM notification_outbox WHERE receiver = 'ops'"
    )
    assert row["attempts"] == 4
    assert "answered 503" in row["last_error"]
    sink.failing = False
    await webhook_only.drain(dispatcher, rounds=5)
    assert len(sink.delivered("/hook")) == 1
    assert webhook_only.metrics.retried.labels("ops")._value.get() == 4


async def test_backoff_grows_and_an_undeliverable_notification_is_recorded_as_failed(
    webhook_only: Harness, sink: HttpSink
) -> None:
    dispatcher = webhook_only.dispatcher(max_attempts=4)
    sink.failing = True
    await webhook_only.fire()
    delays = []
    for _ in range(4):
        await dispatcher.dispatch_once()
        due = await webhook_only.pool.fetchval("SELECT next_attempt_at FROM notification_outbox WHERE receiver = 'ops'")
        delays.append((due - webhook_only.clock.now).total_seconds())
        webhook_only.clock.now = due
    nominal = [1.0, 2.0, 4.0]  # base 1 s, doubling; each jittered within its upper half
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=False)), delays
    assert (await statuses(webhook_only.pool))["ops"] == ("failed", 4)
    assert webhook_only.metrics.failed.labels("ops")._value.get() == 1
    await webhook_only.drain(dispatcher, rounds=3)
    assert len(sink.attempts("/hook")) == 4  # a failed one is never retried


async def test_a_dispatcher_that_dies_mid_delivery_leaves_it_to_be_redelivered_with_the_same_id(
    webhook_only: Harness, sink: HttpSink
) -> None:
    await webhook_only.fire()
    rows = await webhook_only.pool.fetch(  # a poller claims the row, sends it, and dies before settling it
        "UPDATE notification_outbox SET attempts = 1, next_attempt_at = $1 WHERE receiver = 'ops' "
        "RETURNING notification_id",
        webhook_only.clock.now + timedelta(seconds=60),
    )
    survivor = webhook_only.dispatcher(lease_s=60)
    await survivor.dispatch_once()
    assert sink.attempts("/hook") == []  # leased: nobody else sends it meanwhile
    webhook_only.clock.advance(seconds=61)
    await survivor.dispatch_once()
    [delivered] = sink.delivered("/hook")
    assert delivered.headers["X-CivicPulse-Notification-Id"] == str(rows[0]["notification_id"])


async def test_delivered_notifications_are_pruned_after_retention_and_failed_ones_kept(
    webhook_only: Harness, sink: HttpSink
) -> None:
    dispatcher = webhook_only.dispatcher(retention_s=3600, max_attempts=1)
    await webhook_only.fire("HD.CG")
    await webhook_only.drain(dispatcher, rounds=3)
    sink.failing = True
    await webhook_only.fire("HD.GL")
    await webhook_only.drain(dispatcher, rounds=3)
    assert await dispatcher.prune() == 0
    webhook_only.clock.advance(hours=2)
    assert await dispatcher.prune() == 5  # two notifications and three state changes were delivered
    assert (await statuses(webhook_only.pool))["ops"] == ("failed", 1)


async def test_one_alerts_notifications_reach_a_receiver_in_order(webhook_only: Harness, sink: HttpSink) -> None:
    dispatcher = webhook_only.dispatcher()
    sink.failing = True
    await webhook_only.fire()
    await dispatcher.dispatch_once()
    await webhook_only.fire(value=0.95)  # resolved while the firing notification still waits for a retry
    sink.failing = False
    await webhook_only.drain(dispatcher, rounds=5)
    assert [h.json()["status"] for h in sink.delivered("/hook")] == ["firing", "resolved"]


async def test_alertmanager_receives_the_alert_and_forwards_it_to_its_webhook(
    pool: asyncpg.Pool[Any], sink: HttpSink, smtp: SmtpSink, tmp_path: Path
) -> None:
    alertmanager = Alertmanager(tmp_path / "am", webhook_url=f"{sink.url}/from-am").start()
    clock = FakeClock(datetime.now(UTC))
    try:
        async with started(pool, rules_for(sink, smtp, alertmanager.url), clock) as harness:
            await through_alertmanager(harness, sink, alertmanager, clock)
    finally:
        alertmanager.stop()


async def through_alertmanager(harness: Harness, sink: HttpSink, alertmanager: Alertmanager, clock: FakeClock) -> None:
    """Firing, kept open by the resender, then resolved: Alertmanager forwards each to its webhook."""
    dispatcher = harness.dispatcher(deliverers={"am": harness.deliverers["am"]})
    await harness.fire()
    await dispatcher.dispatch_once()
    forwarded = await eventually(lambda: sink.delivered("/from-am"), timeout=20, what="alertmanager forwards")
    body = forwarded[0].json()
    assert body["status"] == "firing"
    [alert] = body["alerts"]
    assert alert["labels"]["alertname"] == "online-low"
    assert alert["labels"]["unit"] == "HD.CG"
    assert alert["annotations"]["summary"] == "Huyện Cẩm Giàng online submission at 50.0%"
    async with httpx.AsyncClient() as client:
        [held] = (await client.get(f"{alertmanager.url}/api/v2/alerts", params={"active": "true"})).json()
    ends_at = datetime.fromisoformat(held["endsAt"].replace("Z", "+00:00"))
    assert timedelta(seconds=2) <= ends_at - clock.now <= timedelta(seconds=4)  # three 1 s resend intervals
    clock.advance(seconds=5)  # long after the first endsAt: only the resend keeps the alert open
    await harness.alerts.resender.resend_due()
    async with httpx.AsyncClient() as client:
        [kept] = (await client.get(f"{alertmanager.url}/api/v2/alerts", params={"active": "true"})).json()
    assert datetime.fromisoformat(kept["endsAt"].replace("Z", "+00:00")) > ends_at
    clock.now = datetime.now(UTC)
    await harness.fire(value=0.95)
    await dispatcher.dispatch_once()
    resolved = await eventually(
        lambda: [r for r in sink.delivered("/from-am") if r.json()["status"] == "resolved"],
        timeout=20,
        what="alertmanager forwards the resolution",
    )
    assert resolved[0].json()["alerts"][0]["labels"]["unit"] == "HD.CG"
    async with httpx.AsyncClient() as client:
        active = (await client.get(f"{alertmanager.url}/api/v2/alerts", params={"active": "true"})).json()
    assert active == []


async def test_state_changes_are_published_to_the_alerts_topic_keyed_by_alert(
    pool: asyncpg.Pool[Any], sink: HttpSink, smtp: SmtpSink, kafka_settings: KafkaSettings, topics: TopicSettings
) -> None:
    from faststream.kafka import KafkaBroker

    broker = KafkaBroker(kafka_settings.kafka_bootstrap)
    await broker.start()
    try:
        rules = rules_for(sink, smtp, f"{sink.url}/am", receivers="ops")
        producer = RecordProducer(broker, timeout_s=10, partitions=TopicPartitions(kafka_settings))
        async with started(pool, rules, FakeClock(T0), producer=producer, topic_alerts=topics.topic_alerts) as harness:
            await harness.fire()
            await harness.drain(harness.dispatcher(), rounds=3)
    finally:
        await broker.stop()
    consumer = AIOKafkaConsumer(
        topics.topic_alerts,
        **kafka_settings.aiokafka_options(),
        auto_offset_reset="earliest",
        group_id=f"t-{uuid.uuid4().hex[:6]}",
    )
    await consumer.start()
    try:
        records: list[Any] = []
        for _ in range(60):  # a hang guard: the first group of a fresh broker takes a few seconds to form
            batch = await consumer.getmany(timeout_ms=500)
            records += [r for rs in batch.values() for r in rs]
            if len(records) >= 2:
                break
    finally:
        await consumer.stop()
    assert {r.key for r in records} == {b"online-low/HD.CG"}
    assert [orjson.loads(r.value)["to_status"] for r in records] == ["pending", "firing"]
