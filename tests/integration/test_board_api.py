"""The board's server side over real Kafka and PostgreSQL: exact daily trends, tiles, drill-down, panels, assets."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.metrics.core.windows import vietnam_midnight
from services.metrics.main import create_app
from services.metrics.settings import MetricsSettings
from shared.devstack.processes import free_port
from shared.events import Event
from shared.kpi_catalogue import VIETNAM
from shared.settings import KafkaSettings, TopicSettings
from tests.integration.test_metrics_service import eventually
from tests.support.factories import feedback, received
from tests.support.services import produce

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
TODAY = vietnam_midnight(NOW)  # today's first moment, Vietnam time
DAY = timedelta(days=1)
WARD, DEPARTMENT, OLD_TOWNSHIP = "H24.107", "H24.06", "HD.CG.01"  # the township's successor is H24.182


class Clock:
    def __call__(self) -> datetime:
        return NOW


def seeded() -> list[Event]:
    """(day offset, unit, online?) — two units today and before, a predecessor's township, one 40 days back."""
    plan = [
        (0, WARD, True), (0, WARD, True),
        (-1, WARD, True), (-1, WARD, True), (-1, WARD, False), (-1, DEPARTMENT, True),
        (-2, OLD_TOWNSHIP, False),
        (-5, WARD, True), (-5, WARD, False), (-5, WARD, False), (-5, WARD, False),
        (-40, WARD, True),
    ]  # fmt: skip
    events = [received(unit=unit, at=TODAY + offset * DAY + timedelta(hours=0 if offset == 0 else 10),
                       channel="online" if online else "in_person") for offset, unit, online in plan]  # fmt: skip
    return [*events, feedback(unit=WARD, at=NOW - timedelta(minutes=1), on_time=True, score=5, source="live")]


@pytest.fixture
def settings(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str) -> MetricsSettings:
    return MetricsSettings(
        **kafka_settings.model_dump(), **topics.model_dump(), pg_dsn=pg_dsn, environment="test",
        metrics_group_id=f"metrics-{uuid.uuid4().hex[:6]}", metrics_snapshot_interval_s=0.2,
        metrics_snapshot_publish_interval_s=0.5,
        metrics_board_alerts_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
    )  # fmt: skip


@asynccontextmanager
async def serving(settings: MetricsSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=Clock())
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics", timeout=30) as client,
    ):
        yield client


async def kpi(client: httpx.AsyncClient, unit: str, name: str = "online_submission_rate") -> dict[str, Any] | None:
    items = (await client.get(f"/v1/kpis?kpi={name}&window=30d&unit={unit}")).json()["items"]
    return items[0] if items else None


def days_of(trend: dict[str, Any], name: str) -> dict[str, tuple[int, int]]:
    [series] = [t for t in trend["items"] if t["kpi"] == name]
    return {d["day"]: (d["numerator"], d["denominator"]) for d in series["days"] if d["denominator"]}


def day(offset: int) -> str:
    return (TODAY + offset * DAY).astimezone(VIETNAM).date().isoformat()


async def test_the_trend_is_exact_per_day_and_rolls_up_like_the_snapshots(
    settings: MetricsSettings, kafka_settings: KafkaSettings
) -> None:
    await produce(kafka_settings, settings.topic_events, seeded())
    async with serving(settings) as client:
        await eventually(lambda: _denominator(client, "H24", 11), within=60, what="the seeded events counted")

        trend = (await client.get("/v1/kpis/trend?unit=H24&days=30")).json()
        assert (trend["first_day"], trend["last_day"]) == (day(-29), day(0))
        assert days_of(trend, "online_submission_rate") == {
            day(0): (2, 2),
            day(-1): (3, 4),
            day(-2): (0, 1),
            day(-5): (1, 4),
        }  # the predecessor's township counts in the province it merged into; 40 days back is outside
        province = await kpi(client, "H24")
        assert province is not None
        total = [sum(v) for v in zip(*days_of(trend, "online_submission_rate").values(), strict=True)]
        assert total == [province["numerator"], province["denominator"]]  # the 30-day snapshot, day by day

        ward = (await client.get(f"/v1/kpis/trend?unit={WARD}&kpi=online_submission_rate&days=7")).json()
        assert [t["kpi"] for t in ward["items"]] == ["online_submission_rate"]
        assert len(ward["items"][0]["days"]) == 7
        assert days_of(ward, "online_submission_rate") == {day(0): (2, 2), day(-1): (2, 3), day(-5): (1, 4)}
        successor = (await client.get("/v1/kpis/trend?unit=H24.182&kpi=online_submission_rate")).json()
        assert days_of(successor, "online_submission_rate") == {day(-2): (0, 1)}
        usage = (await client.get(f"/v1/kpis/trend?unit={WARD}&kpi=online_service_usage_rate")).json()
        assert usage["items"] == [{"kpi": "online_service_usage_rate", "available": False, "days": []}]
        unknown = await client.get(f"/v1/kpis/trend?unit={WARD}&kpi=not_a_kpi")
        assert unknown.status_code == 422
        assert "not_a_kpi" in unknown.json()["detail"]
        assert (await client.get(f"/v1/kpis/trend?unit={WARD}&days=0")).status_code == 422


async def test_the_board_serves_tiles_drill_down_panels_and_its_assets(
    settings: MetricsSettings, kafka_settings: KafkaSettings
) -> None:
    await produce(kafka_settings, settings.topic_events, seeded())
    async with serving(settings) as client:
        await eventually(lambda: _denominator(client, "H24", 11), within=60, what="the seeded events counted")

        tiles = (await client.get(f"/board/api/tiles?unit={WARD}&window=30d")).json()
        assert (tiles["unit_name"], tiles["level"]) == ("Phường Hồng Bàng", "commune")
        ward = await kpi(client, WARD)
        assert ward is not None
        [online] = [t for t in tiles["tiles"] if t["kpi"] == "online_submission_rate"]
        assert (online["numerator"], online["denominator"], online["value"]) == (
            ward["numerator"], ward["denominator"], ward["ratio"],
        )  # fmt: skip
        assert (online["target"], online["status"]) == (0.8, "low_sample")  # 5 of 9: under the commune minimum 10
        assert (await client.get("/board/api/tiles?unit=NOWHERE.1")).status_code == 404

        place = (await client.get(f"/board/api/units/{WARD}")).json()
        assert [u["code"] for u in place["chain"]] == ["H24", WARD]
        assert place["children"] == []
        province = (await client.get("/board/api/units/H24")).json()
        children = {u["code"]: u for u in province["children"]}
        assert children[DEPARTMENT] == {"code": DEPARTMENT, "name": "Sở Nội vụ", "level": "department"}
        assert WARD in children
        assert not any(code.startswith("HD") for code in children)  # the predecessor is history, not a child

        assert (await client.get("/board/api/alerts")).json() == {"available": False, "count": 0, "items": []}
        pipeline = await eventually(lambda: _pipeline_with_sources(client), within=30, what="the sources read")
        demo_quiet = (NOW - TODAY).total_seconds() > settings.metrics_board_source_quiet_s  # its newest: midnight
        assert [(s["source"], s["silent"]) for s in pipeline["sources"]] == [("demo", demo_quiet), ("live", False)]
        assert pipeline["dead_letters"] == 0
        index766 = (await client.get(f"/board/api/index766?unit={WARD}")).json()
        assert index766["period"] == NOW.astimezone(VIETNAM).strftime("%Y-%m")

        page = await client.get("/board/")
        assert page.status_code == 200
        assert '<html lang="vi">' in page.text
        assert "Trung tâm điều hành" in page.text
        english = await client.get("/board/?lang=en")
        assert '<html lang="en">' in english.text
        assert "Operations centre" in english.text
        assert (await client.get("/")).headers["location"] == "/board/"
        for asset in ("board.js", "board.css", "plotly.min.js"):
            response = await client.get(f"/board/static/{asset}")
            assert response.status_code == 200, asset
            assert "cdn." not in response.text[:2000]
        assert (await client.get("/board/static/../main.py")).status_code == 404


async def _denominator(client: httpx.AsyncClient, unit: str, expected: int) -> bool:
    found = await kpi(client, unit)
    return found is not None and found["denominator"] == expected


async def _pipeline_with_sources(client: httpx.AsyncClient) -> dict[str, Any] | None:
    pipeline: dict[str, Any] = (await client.get("/board/api/pipeline")).json()
    return pipeline if len(pipeline["sources"]) == 2 else None
