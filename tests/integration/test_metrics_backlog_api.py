"""The live backlog as the service serves it: rolled up, moving with the clock, drill-downs, gauges, status."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.metrics.main import create_app
from services.metrics.settings import MetricsSettings
from services.metrics.status import print_status
from shared.events import Event, event_adapter
from shared.settings import KafkaSettings, TopicSettings
from tests.integration.test_metrics_service import eventually
from tests.support.services import produce

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
DAYS = timedelta(days=1)
WARD, PROVINCE = "H24.100", "H24"


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def event(kind: str, at: datetime, dossier: str, **fields: Any) -> Event:
    base = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": "demo",
            "unit_code": WARD, "dossier_id": dossier, "procedure_code": "1.0001"}  # fmt: skip
    return event_adapter.validate_python(base | fields)


def received(at: datetime, dossier: str, *, due: datetime) -> Event:
    return event("dossier.received", at, dossier, channel="online", service_level="full_online", essential=False,
                 digitized=True, due_at=due.isoformat())  # fmt: skip


@pytest.fixture
def settings(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str) -> MetricsSettings:
    return MetricsSettings(
        **kafka_settings.model_dump(), **topics.model_dump(), pg_dsn=pg_dsn, environment="test",
        metrics_group_id=f"metrics-{uuid.uuid4().hex[:6]}", metrics_snapshot_interval_s=0.2,
        metrics_snapshot_publish_interval_s=0.5,
        metrics_backlog_refresh_s=0.2,
    )  # fmt: skip


@asynccontextmanager
async def serving(settings: MetricsSettings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics", timeout=30) as client,
    ):
        yield client


async def test_backlog_rolls_up_moves_with_the_clock_and_drills_down(
    settings: MetricsSettings, kafka_settings: KafkaSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock(NOW)
    events = [
        received(NOW - 5 * DAYS, "late", due=NOW - DAYS),
        received(NOW - 4 * DAYS, "due-soon", due=NOW + 2 * DAYS),
        received(NOW - 4 * DAYS, "waiting", due=NOW - 2 * DAYS),
        event("dossier.paused", NOW - 3 * DAYS, "waiting", reason="supplement"),
        received(NOW - 6 * DAYS, "done", due=NOW),
        event("dossier.paused", NOW - 5 * DAYS, "done", reason="financial_obligation"),
        event("dossier.paid", NOW - 4.5 * DAYS, "done", channel="national_portal"),
        event("dossier.resumed", NOW - 4 * DAYS, "done"),
        event("dossier.completed", NOW - 2 * DAYS, "done", outcome="approved", result_channel="online",
              electronic_result=True),
    ]  # fmt: skip
    await produce(kafka_settings, settings.topic_events, events)
    async with serving(settings, clock) as client:

        async def province(at: datetime) -> dict[str, Any] | None:
            body = (await client.get(f"/v1/backlog?unit={PROVINCE}")).json()
            if not body["items"] or datetime.fromisoformat(body["computed_at"]) < at:
                return None
            item: dict[str, Any] = body["items"][0]
            return item if item["in_progress"] == 3 else None

        served = await eventually(lambda: province(NOW), within=60, what="the province shows 3 dossiers in progress")
        assert {k: served[k] for k in ("unit_code", "level", "in_progress", "overdue", "paused")} == {
            "unit_code": PROVINCE, "level": "province", "in_progress": 3, "overdue": 1, "paused": 1,
        }  # fmt: skip
        wards = (await client.get("/v1/backlog?level=commune")).json()["items"]
        assert [(w["in_progress"], w["overdue"], w["paused"]) for w in wards if w["unit_code"] == WARD] == [(3, 1, 1)]

        clock.now = NOW + 3 * DAYS  # no new event: "due-soon" passes its due time
        moved = await eventually(lambda: province(clock.now), within=30, what="a refresh after the clock moved")
        assert (moved["overdue"], moved["paused"]) == (2, 1)

        oldest = (await client.get(f"/v1/backlog/{PROVINCE}/overdue?limit=1")).json()
        assert [(d["dossier_id"], d["unit_code"], d["days_overdue"], d["paused_days"]) for d in oldest["items"]] == [
            ("late", WARD, 4.0, 0.0)
        ]
        assert (await client.get("/v1/backlog/NO.SUCH.UNIT/overdue")).status_code == 404

        timing = (await client.get(f"/v1/processing-time?unit={PROVINCE}&window=30d")).json()
        # received -> completed 4 days, paused 1 day of it: 3 days, in the 6-hour bin [3, 3.25).
        assert (timing["dossiers"], timing["median_days"], timing["median_max_error_days"]) == (1, 3.125, 0.125)

        payments = (await client.get(f"/v1/kpis?kpi=online_payment_rate&window=30d&unit={PROVINCE}")).json()
        assert [(s["numerator"], s["denominator"]) for s in payments["items"]] == [(1, 1)]

        exposition = (await client.get("/metrics")).text
        assert f'civicpulse_backlog_overdue{{level="province",unit="{PROVINCE}"}} 2.0' in exposition
        assert f'civicpulse_backlog_paused{{level="province",unit="{PROVINCE}"}} 1.0' in exposition

        async def in_table() -> bool | None:  # `civicpulse status` reads the table, written every publish interval
            connection = await asyncpg.connect(settings.pg_dsn.get_secret_value())
            try:
                found = await connection.fetchval(
                    "SELECT numerator = 1 AND denominator = 1 FROM kpi_snapshot "
                    "WHERE kpi = 'online_payment_rate' AND window_name = '30d' AND unit_code = $1",
                    PROVINCE,
                )
            finally:
                await connection.close()
            return True if found else None

        await eventually(in_table, within=30, what="the payment snapshot in the table")

    capsys.readouterr()
    await print_status(settings, unit=PROVINCE, window="30d", clock=clock)
    printed = capsys.readouterr().out
    assert printed.index("online_payment_rate") < printed.index("backlog")
    assert "late" in printed
