"""HTTP API over real PostgreSQL: active alerts with value, target and since; history; silences with the token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.alerts.core.ruleset import parse_rules
from services.alerts.inject import Alerts
from services.alerts.main import alerts_app
from shared.db import create_pool
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import PostgresSettings
from shared.snapshots import KpiSnapshot
from tests.support.alerting import FakeClock, alerts_over

pytestmark = pytest.mark.integration
T0 = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
TOKEN = "admin-token-for-tests"
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
RULES = """
receivers: [{name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}]
rules:
  - {name: online-low, kpi: online_submission_rate, scope: {levels: [district]}, target: 0.87, for: 10m,
     severity: warning, annotations: {summary: "{unit_name} at {value_pct}"}, receivers: [ops]}
"""


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


class Api:
    """The service's HTTP side over its parts, built by its factory; the test drives the engine (no lifespan)."""

    def __init__(self, pool: asyncpg.Pool[Any], alerts: Alerts, clock: FakeClock) -> None:
        self.pool, self.clock, self.engine = pool, clock, alerts.engine
        transport = httpx.ASGITransport(app=alerts_app(alerts))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://alerts")


@pytest.fixture
async def api(pg_dsn: str) -> AsyncIterator[Api]:
    pool = await create_pool(PostgresSettings(pg_dsn=pg_dsn))
    async with pool.acquire() as connection:
        await sync_reference_data(connection, load_reference_data())
    clock = FakeClock(T0)
    async with alerts_over(pool, rules=parse_rules(RULES), clock=clock, alerts_admin_token=TOKEN) as alerts:
        built = Api(pool, alerts, clock)
        await built.engine.start()
        yield built
        await built.http.aclose()
    await pool.close()


async def test_active_alerts_show_value_target_and_since(api: Api) -> None:
    await api.engine.on_snapshots([snapshot("HD.CG", 0.8, T0), snapshot("HD.GL", 0.6, T0)])
    api.clock.advance(minutes=10)
    await api.engine.on_snapshots([snapshot("HD.CG", 0.81, api.clock.now)])
    body = (await api.http.get("/v1/alerts")).json()
    assert body["count"] == 2
    by_unit = {a["subject"]: a for a in body["items"]}
    firing = by_unit["HD.CG"]
    assert (firing["status"], firing["value"], firing["target"], firing["numerator"]) == ("firing", 0.81, 0.87, 810)
    assert datetime.fromisoformat(firing["since"]) == T0 + timedelta(minutes=10)
    assert firing["annotations"]["summary"] == "Huyện Cẩm Giàng at 81.0%"
    assert by_unit["HD.GL"]["status"] == "pending"
    only_firing = (await api.http.get("/v1/alerts", params={"status": "firing"})).json()
    assert [a["subject"] for a in only_firing["items"]] == ["HD.CG"]


async def test_history_lists_changes_newest_first_in_pages(api: Api) -> None:
    for minutes, value in ((0, 0.8), (10, 0.8), (20, 0.95), (30, 0.8)):
        api.clock.now = T0 + timedelta(minutes=minutes)
        await api.engine.on_snapshots([snapshot("HD.CG", value, api.clock.now)])
    first = (await api.http.get("/v1/alerts/history", params={"alert_id": "online-low/HD.CG", "limit": 3})).json()
    assert [(e["from_status"], e["to_status"]) for e in first["items"]] == [
        ("resolved", "pending"),
        ("firing", "resolved"),
        ("pending", "firing"),
    ]
    rest = (await api.http.get("/v1/alerts/history", params={"before": first["next_before"]})).json()
    assert [(e["from_status"], e["to_status"]) for e in rest["items"]] == [("inactive", "pending")]
    assert rest["next_before"] is None


async def test_silences_need_the_admin_token_and_mute_without_hiding(api: Api) -> None:
    request = {
        "matchers": [{"name": "unit", "value": "HD.CG"}],
        "duration": "2h",
        "author": "ops",
        "comment": "portal maintenance",
    }
    assert (await api.http.post("/v1/silences", json=request)).status_code == 401
    assert (
        await api.http.post("/v1/silences", json=request, headers={"Authorization": "Bearer nope"})
    ).status_code == 403
    created = await api.http.post("/v1/silences", json=request, headers=ADMIN)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert datetime.fromisoformat(silence["ends_at"]) == T0 + timedelta(hours=2)
    await api.engine.on_snapshots([snapshot("HD.CG", 0.8, T0)])
    api.clock.advance(minutes=10)
    await api.engine.tick()
    [alert] = (await api.http.get("/v1/alerts")).json()["items"]
    assert (alert["status"], alert["silenced_by"]) == ("firing", [silence["id"]])
    assert await api.pool.fetchval("SELECT count(*) FROM notification_outbox WHERE receiver = 'ops'") == 0
    assert (await api.http.get("/v1/silences")).json()["count"] == 1
    assert (await api.http.delete(f"/v1/silences/{silence['id']}")).status_code == 401
    assert (await api.http.delete(f"/v1/silences/{silence['id']}", headers=ADMIN)).status_code == 204
    assert (await api.http.delete(f"/v1/silences/{silence['id']}", headers=ADMIN)).status_code == 404
    await api.engine.tick()  # silence gone, alert still firing: it is notified now
    assert await api.pool.fetchval("SELECT kind FROM notification_outbox WHERE receiver = 'ops'") == "firing"


@pytest.mark.parametrize(
    "request_body",
    [
        {"matchers": [], "duration": "1h", "author": "a", "comment": "c"},
        {"matchers": [{"name": "unit", "value": ".*", "is_regex": True}], "duration": "1h", "author": "a",
         "comment": "c"},
        {"matchers": [{"name": "unit", "value": "HD"}], "author": "a", "comment": "c"},
        {"matchers": [{"name": "unit", "value": "HD"}], "duration": "1h", "author": "a", "comment": ""},
        {"matchers": [{"name": "unit", "value": "HD"}], "ends_at": "2020-01-01T00:00:00Z", "author": "a",
         "comment": "c"},
    ],
)  # fmt: skip
async def test_invalid_silences_are_refused(api: Api, request_body: dict[str, Any]) -> None:
    response = await api.http.post("/v1/silences", json=request_body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert await api.pool.fetchval("SELECT count(*) FROM silences") == 0
