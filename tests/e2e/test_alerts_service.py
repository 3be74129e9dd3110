"""The alerts service as a real process: Kafka snapshots in; webhook, Alertmanager and email out; crashes survived."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.alerts.delivery.webhook import SIGNATURE_HEADER, verify_signature
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, TopicSettings
from shared.snapshots import KpiSnapshot, snapshot_adapter
from tests.support.alerting import Alertmanager, HttpSink, SmtpSink, eventually
from tests.support.factories import received
from tests.support.services import ServiceUnderTest, produce, service_env

pytestmark = pytest.mark.e2e
SECRET = "e2e-hook-secret"
TOKEN = "e2e-admin-token"
FAST = {
    "CIVICPULSE_ALERTS_OFFSET_RESET": "earliest",
    "CIVICPULSE_ALERTS_EVAL_INTERVAL_S": "0.3",
    "CIVICPULSE_ALERTS_DISPATCH_POLL_S": "0.2",
    "CIVICPULSE_ALERTS_DISPATCH_BACKOFF_BASE_S": "0.2",
    "CIVICPULSE_ALERTS_DISPATCH_BACKOFF_MAX_S": "1",
    "CIVICPULSE_ALERTS_RULES_POLL_S": "0.5",
    "CIVICPULSE_ALERTS_DISPATCH_LEASE_S": "5",
    "CIVICPULSE_ALERTS_ADMIN_TOKEN": TOKEN,
    "E2E_HOOK_SECRET": SECRET,
}


def kpi_rules(*, sink: HttpSink, receivers: str, for_: str, extra_receivers: str = "", summary: str = "") -> str:
    return f"""
receivers:
  - {{name: ops, type: webhook, url: "{sink.url}/hook", secret_env: E2E_HOOK_SECRET}}
{extra_receivers}
rules:
  - name: online-low
    kpi: online_submission_rate
    window: 30d
    scope: {{levels: [district]}}
    target: 0.87
    recovery_margin: 0.01
    min_denominator: 50
    for: {for_}
    severity: warning
    annotations:
      summary: "{summary or "{unit_name}: {value_pct} below {target_pct}"}"
      runbook_url: "{{runbook_base_url}}kpi-below-target.md"
    receivers: [{receivers}]
"""


def snapshot(unit: str, ratio: float, *, denominator: int = 1000) -> KpiSnapshot:
    at = datetime.now(UTC)
    return KpiSnapshot(
        kpi="online_submission_rate",
        window="30d",
        unit_code=unit,
        unit_level="district",
        numerator=round(ratio * denominator),
        denominator=denominator,
        ratio=ratio,
        window_start=at - timedelta(days=30),
        window_end=at,
        computed_at=at,
    )


class SnapshotFeed:
    """Publishes snapshots as the metrics service does (key kpi|window|unit, JSON body)."""

    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._producer = AIOKafkaProducer(**kafka.aiokafka_options(), acks="all")
        self._topic = topic

    async def send(self, *snapshots: KpiSnapshot) -> None:
        for item in snapshots:
            await self._producer.send_and_wait(
                self._topic, snapshot_adapter.dump_json(item), key="|".join(item.scope).encode()
            )


@pytest.fixture
async def feed(kafka_settings: KafkaSettings, topics: TopicSettings) -> AsyncIterator[SnapshotFeed]:
    built = SnapshotFeed(kafka_settings, topics.topic_snapshots)
    await built._producer.start()
    yield built
    await built._producer.stop()


@pytest.fixture
async def database(pg_dsn: str) -> str:
    connection = await asyncpg.connect(pg_dsn)
    try:
        await sync_reference_data(connection, load_reference_data())
    finally:
        await connection.close()
    return pg_dsn


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    server = HttpSink().start()
    yield server
    server.stop()


@pytest.fixture
def alerts_service(
    kafka_settings: KafkaSettings, topics: TopicSettings, database: str, tmp_path: Path
) -> Iterator[Callable[..., ServiceUnderTest]]:
    started: list[ServiceUnderTest] = []
    group = f"alerts-{uuid.uuid4().hex[:6]}"

    def make(rules: str, name: str = "alerts", **extra: str) -> ServiceUnderTest:
        rules_file = tmp_path / "rules.yaml"
        rules_file.write_text(rules)
        settings = {
            **FAST,
            "CIVICPULSE_ALERTS_RULES_FILE": str(rules_file),
            "CIVICPULSE_ALERTS_GROUP_ID": group,
            **extra,
        }
        env = service_env(kafka=kafka_settings, topics=topics, pg_dsn=database, **settings)
        service = ServiceUnderTest(name, ["alerts", "serve"], env=env, log_dir=tmp_path)
        started.append(service)
        return service

    yield make
    for service in started:
        service.kill()


async def query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(dsn)
    try:
        return list(await connection.fetch(sql, *args))
    finally:
        await connection.close()


def firing_gauge(service: ServiceUnderTest) -> float:
    """Sum of `civicpulse_alerts{state="firing",...}` on /metrics."""
    lines = service.get("/metrics").text.splitlines()
    firing = [line for line in lines if line.startswith("civicpulse_alerts{") and 'state="firing"' in line]
    return sum(float(line.rsplit(" ", 1)[1]) for line in firing)


def hooks_about(sink: HttpSink, unit: str) -> list[dict[str, Any]]:
    return [r.json() for r in sink.delivered("/hook") if r.json()["subject"] == unit]


async def test_a_kpi_alert_fires_once_reaches_webhook_alertmanager_and_email_and_resolves_once(
    alerts_service: Callable[..., ServiceUnderTest],
    feed: SnapshotFeed,
    sink: HttpSink,
    tmp_path: Path,
    *,
    kafka_settings: KafkaSettings,
    topics: TopicSettings,
) -> None:
    smtp = SmtpSink().start()
    alertmanager = Alertmanager(tmp_path / "am", webhook_url=f"{sink.url}/from-am").start()
    try:
        extra = (
            f'  - {{name: am, type: alertmanager, url: "{alertmanager.url}", resend_interval: 1s}}\n'
            f"  - {{name: mail, type: email, smtp_host: 127.0.0.1, smtp_port: {smtp.port}, "
            f"from_address: alerts@civicpulse.test, to: [oncall@civicpulse.test]}}"
        )
        rules = kpi_rules(sink=sink, receivers="ops, am, mail", for_="2s", extra_receivers=extra)
        service = alerts_service(rules)
        service.start()
        flap = [0.86, 0.875]
        for i in range(12):  # ~6 s: HD.CG below target throughout, HD.GL flapping, HD.TK on a handful of dossiers
            await feed.send(
                snapshot("HD.CG", 0.80), snapshot("HD.GL", flap[i % 2]), snapshot("HD.TK", 0.10, denominator=12)
            )
            await asyncio.sleep(0.5)
        await eventually(lambda: hooks_about(sink, "HD.CG"), timeout=20, what="the webhook gets the firing")
        [alert] = service.get("/v1/alerts?status=firing").json()["items"]
        assert (alert["subject"], alert["value"], alert["target"]) == ("HD.CG", 0.8, 0.87)
        assert alert["annotations"]["summary"] == "Huyện Cẩm Giàng: 80.0% below 87.0%"
        assert firing_gauge(service) == 1

        # A rules edit reloads on SIGHUP; the firing alert is kept, not notified again.
        (tmp_path / "rules.yaml").write_text(rules.replace("below {target_pct}", "under the {target_pct} target"))
        assert service.process is not None
        os.kill(service.process.pid, signal.SIGHUP)
        await eventually(
            lambda: service.metric('civicpulse_alert_rules_reloads_total{outcome="applied"}') >= 1,
            timeout=10,
            what="the rules reload",
        )
        (tmp_path / "rules.yaml").write_text("rules: [{name: broken}]")
        await eventually(
            lambda: service.metric('civicpulse_alert_rules_reloads_total{outcome="rejected"}') >= 1,
            timeout=10,
            what="a broken file is rejected",
        )
        for _ in range(4):
            await feed.send(snapshot("HD.CG", 0.81), snapshot("HD.GL", 0.86), snapshot("HD.GL", 0.875))
            await asyncio.sleep(0.5)
        assert service.get("/v1/alerts?status=firing").json()["items"][0]["subject"] == "HD.CG"

        await feed.send(snapshot("HD.CG", 0.875))  # inside the recovery margin: still firing
        await asyncio.sleep(1.0)
        await feed.send(snapshot("HD.CG", 0.90))
        await eventually(
            lambda: len(hooks_about(sink, "HD.CG")) >= 2, timeout=20, what="the webhook gets the resolution"
        )
        await eventually(lambda: len(smtp.messages) >= 2, timeout=20, what="both emails")
        resolved_by_am = await eventually(
            lambda: [r for r in sink.delivered("/from-am") if r.json()["status"] == "resolved"],
            timeout=30,
            what="alertmanager forwards the resolution",
        )
        await asyncio.sleep(1.5)  # a few more evaluation and dispatch rounds: nothing else may arrive

        hooks = hooks_about(sink, "HD.CG")
        assert [(h["kind"], h["status"]) for h in hooks] == [("firing", "firing"), ("resolved", "resolved")]
        assert hooks[1]["annotations"]["summary"] == "Huyện Cẩm Giàng: 90.0% under the 87.0% target"
        assert (hooks_about(sink, "HD.GL"), hooks_about(sink, "HD.TK")) == ([], [])  # flapping, and too few dossiers
        for request in sink.delivered("/hook"):
            assert verify_signature(SECRET.encode(), request.body, request.headers[SIGNATURE_HEADER])
        assert [m["Subject"].split("]")[0] for m in smtp.messages] == ["[FIRING:warning", "[RESOLVED"]
        assert [m["Message-ID"] for m in smtp.messages] == [f"<{h['id']}@civicpulse>" for h in hooks]
        firing_by_am = [r.json() for r in sink.delivered("/from-am") if r.json()["status"] == "firing"]
        assert firing_by_am[0]["alerts"][0]["labels"]["unit"] == "HD.CG"
        assert resolved_by_am[0].json()["alerts"][0]["labels"]["alertname"] == "online-low"
        assert service.metric('civicpulse_alert_notifications_sent_total{receiver="ops"}') == 2
        assert firing_gauge(service) == 0
        assert service.get("/v1/alerts").json()["count"] == 0
        changes = await consume_changes(kafka_settings, topics.topic_alerts, at_least=3)
        assert [(c["subject"], c["to_status"]) for c in changes if c["subject"] == "HD.CG"] == [
            ("HD.CG", "pending"),
            ("HD.CG", "firing"),
            ("HD.CG", "resolved"),
        ]
        assert {c["subject"] for c in changes} <= {"HD.CG", "HD.GL"}  # the flapping unit: pending, never firing
        assert "firing" not in [c["to_status"] for c in changes if c["subject"] == "HD.GL"]
    finally:
        alertmanager.stop()
        smtp.stop()


async def consume_changes(kafka: KafkaSettings, topic: str, *, at_least: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic, **kafka.aiokafka_options(), auto_offset_reset="earliest", group_id=f"t-{uuid.uuid4().hex[:6]}"
    )
    await consumer.start()
    try:
        records: list[dict[str, Any]] = []
        for _ in range(40):  # a hang guard only
            batch = await consumer.getmany(timeout_ms=500)
            records += [orjson.loads(r.value) for rs in batch.values() for r in rs]
            if len(records) >= at_least and not batch:
                break
        return records
    finally:
        await consumer.stop()


async def test_notifications_pending_across_a_receiver_outage_and_a_crash_arrive_once(
    alerts_service: Callable[..., ServiceUnderTest], feed: SnapshotFeed, sink: HttpSink, database: str
) -> None:
    service = alerts_service(kpi_rules(sink=sink, receivers="ops", for_="0s"))
    service.start()

    # The receiver is down for a while: retried with backoff, delivered once when it is back.
    sink.failing = True
    await feed.send(snapshot("HD.CG", 0.5))
    await eventually(lambda: len(sink.attempts("/hook")) >= 3, timeout=20, what="retries while the receiver is down")
    sink.failing = False
    await eventually(lambda: hooks_about(sink, "HD.CG"), timeout=20, what="delivery after the receiver recovers")

    # Down again, a second alert fires, and the service is killed with its notification pending.
    sink.failing = True
    await feed.send(snapshot("HD.GL", 0.5))
    await eventually(
        lambda: [a for a in sink.attempts("/hook") if b"HD.GL" in a.body],
        timeout=20,
        what="the second notification is being retried",
    )
    service.kill()
    pending = await query(
        database, "SELECT notification_id FROM notification_outbox WHERE receiver = 'ops' AND status = 'pending'"
    )
    assert len(pending) == 1
    sink.failing = False
    service.start()
    await eventually(lambda: hooks_about(sink, "HD.GL"), timeout=30, what="delivery after the restart")
    for _ in range(5):  # the restarted service keeps evaluating the same breaching values
        await feed.send(snapshot("HD.CG", 0.5), snapshot("HD.GL", 0.5))
        await asyncio.sleep(0.4)

    delivered_ids = [r.headers["X-CivicPulse-Notification-Id"] for r in sink.delivered("/hook")]
    assert len(delivered_ids) == 2, delivered_ids  # each arrived exactly once: no duplicate, no re-notification
    assert set(delivered_ids) == {str(pending[0]["notification_id"]), hooks_about(sink, "HD.CG")[0]["id"]}
    rows = await query(
        database, "SELECT status, count(*) AS n FROM notification_outbox WHERE receiver = 'ops' GROUP BY status"
    )
    assert {r["status"]: r["n"] for r in rows} == {"delivered": 2}
    transitions = await query(database, "SELECT alert_id, to_status FROM alert_history ORDER BY id")
    assert [(t["alert_id"], t["to_status"]) for t in transitions] == [
        ("online-low/HD.CG", "pending"),
        ("online-low/HD.CG", "firing"),
        ("online-low/HD.GL", "pending"),
        ("online-low/HD.GL", "firing"),
    ]


async def test_a_source_that_goes_quiet_raises_its_alert(
    alerts_service: Callable[..., ServiceUnderTest],
    sink: HttpSink,
    kafka_settings: KafkaSettings,
    *,
    topics: TopicSettings,
    database: str,
    tmp_path: Path,
) -> None:
    metrics = ServiceUnderTest(
        "metrics",
        ["metrics", "serve"],
        log_dir=tmp_path,
        env=service_env(
            kafka=kafka_settings,
            topics=topics,
            pg_dsn=database,
            CIVICPULSE_METRICS_GROUP_ID=f"metrics-{uuid.uuid4().hex[:6]}",
        ),
    )
    rules = f"""
receivers: [{{name: ops, type: webhook, url: "{sink.url}/hook", secret_env: E2E_HOOK_SECRET}}]
rules:
  - name: source-stale
    kind: source_stale
    quiet_for: 3s
    annotations: {{summary: "no events from {{source}} for {{age}}"}}
    receivers: [ops]
"""
    metrics.start()
    service = alerts_service(rules)
    try:
        service.start()

        def event(source: str) -> Any:
            return received(unit="HD.CG.01", at=datetime.now(UTC), source=source)

        async def keep_talking() -> None:  # portal-b sends an event every half second throughout
            while True:
                await produce(kafka_settings, topics.topic_events, [event("portal-b")])
                await asyncio.sleep(0.5)

        await produce(kafka_settings, topics.topic_events, [event("portal-a")])  # then portal-a goes quiet
        talker = asyncio.create_task(keep_talking())
        try:
            [firing] = await eventually(lambda: sink.delivered("/hook"), timeout=30, what="the staleness alert")
            assert firing.json()["subject"] == "portal-a"
            assert firing.json()["annotations"]["summary"].startswith("no events from portal-a for ")
            await produce(kafka_settings, topics.topic_events, [event("portal-a")])
            await eventually(lambda: len(sink.delivered("/hook")) >= 2, timeout=20, what="resolved when it talks")
            await asyncio.sleep(1.0)
        finally:
            talker.cancel()
        assert [(r.json()["subject"], r.json()["status"]) for r in sink.delivered("/hook")] == [
            ("portal-a", "firing"),
            ("portal-a", "resolved"),
        ]
    finally:
        metrics.kill()
