"""The metrics service on today's tree: rankings of current communes, old units answering for themselves,
unknown units counted by source and exported as pipeline metrics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.metrics.main import create_app
from services.metrics.settings import MetricsSettings
from shared.refdata import UnitLevel, load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, TopicSettings
from tests.support.factories import received
from tests.support.services import produce

pytestmark = pytest.mark.integration
WARD = "H24.107"  # Phường Hồng Bàng
OLD_COMMUNE = "HD.CG.01"  # of Huyện Cẩm Giàng (HD.CG), Hải Dương 2024


@pytest.fixture
async def client(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = MetricsSettings(
        **kafka_settings.model_dump(), **topics.model_dump(), pg_dsn=pg_dsn, environment="test",
        metrics_group_id=f"metrics-{uuid.uuid4().hex[:6]}", metrics_snapshot_interval_s=0.2,
        metrics_snapshot_publish_interval_s=0.5,
    )  # fmt: skip
    now = datetime.now(UTC)
    events = [
        *(received(unit=WARD, at=now - timedelta(minutes=i), channel="online") for i in range(6)),
        *(received(unit=OLD_COMMUNE, at=now - timedelta(hours=2), channel="in_person") for _ in range(2)),
        *(received(unit="NEW.1", at=now - timedelta(minutes=3), source="emc") for _ in range(3)),
    ]
    connection = await asyncpg.connect(pg_dsn)
    try:  # the tree is there before the first event, as in any deployment but a brand-new one
        await sync_reference_data(connection, load_reference_data())
    finally:
        await connection.close()
    await produce(kafka_settings, settings.topic_events, events)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics", timeout=30) as client,
    ):
        yield client


async def until(client: httpx.AsyncClient, path: str, done: Any, *, within: float = 60) -> Any:
    """The first body of `path` for which done(body) holds."""
    deadline = time.monotonic() + within
    while not done(body := (await client.get(path)).json()):
        assert time.monotonic() < deadline, f"{path}: still {body!r}"
        await asyncio.sleep(0.2)
    return body


async def test_the_commune_ranking_lists_todays_units_and_an_old_unit_still_answers(client: httpx.AsyncClient) -> None:
    ranking = await until(
        client,
        "/v1/ranking?kpi=online_submission_rate&window=1d",
        lambda b: any(u["unit_code"] == WARD and u["denominator"] == 6 for u in b["units"]),
    )
    assert ranking["level"] == "commune"
    today = datetime.now(UTC).date()
    codes = {u["unit_code"] for u in ranking["units"]}
    tree = load_reference_data().tree
    assert codes == {u.code for u in tree.current(today) if u.level is UnitLevel.COMMUNE}
    assert not {c for c in codes if c.startswith("HD.")}
    ward = next(u for u in ranking["units"] if u["unit_code"] == WARD)
    assert (ward["rank"], ward["unit_name"], ward["ratio"]) == (1, "Phường Hồng Bàng", 1.0)
    successor = tree.units[OLD_COMMUNE].successor
    assert next(u for u in ranking["units"] if u["unit_code"] == successor)["denominator"] == 2

    old = (await client.get("/v1/kpis?kpi=online_submission_rate&window=1d&unit=HD.CG")).json()["items"]
    assert [(s["unit_code"], s["unit_level"], s["numerator"], s["denominator"]) for s in old] == [
        ("HD.CG", "district", 0, 2)
    ]


async def test_events_of_an_unknown_unit_are_counted_listed_and_exported_by_source(client: httpx.AsyncClient) -> None:
    listing = await until(client, "/v1/units/unknown", lambda b: b["count"] == 1)
    assert [i["unit_code"] for i in listing["items"]] == ["NEW.1"]
    kpis = (await client.get("/v1/kpis?kpi=online_submission_rate&window=1d&unit=NEW.1")).json()["items"]
    assert [(s["unit_level"], s["denominator"]) for s in kpis] == [("unknown", 3)]  # counted, nothing lost
    exposition = (await client.get("/metrics")).text
    assert 'civicpulse_unknown_unit_events_total{source="emc"} 3.0' in exposition
    assert 'civicpulse_unknown_unit_events_total{source="demo"}' not in exposition
    assert "civicpulse_unknown_units 1.0" in exposition
