"""The metrics service built by its composition root, in-process, on the session's Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.metrics.main import create_app
from services.metrics.settings import MetricsSettings
from shared.refdata import UnitLevel, load_reference_data
from shared.refdata.loader import SAMPLE_PROCEDURES, SAMPLE_UNITS
from shared.settings import KafkaSettings, TopicSettings
from shared.snapshots import KpiSnapshot, snapshot_adapter
from tests.support.factories import received
from tests.support.services import produce

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str) -> MetricsSettings:
    return MetricsSettings(
        **kafka_settings.model_dump(), **topics.model_dump(), pg_dsn=pg_dsn, environment="test",
        metrics_group_id=f"metrics-{uuid.uuid4().hex[:6]}", metrics_snapshot_interval_s=0.2,
        metrics_snapshot_publish_interval_s=0.5,
    )  # fmt: skip


@asynccontextmanager
async def serving(settings: MetricsSettings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics", timeout=30) as client,
    ):
        yield client


async def eventually(check: Callable[[], Awaitable[Any]], *, within: float, what: str) -> Any:
    """check()'s first truthy result; the deadline only guards against hangs."""
    deadline = time.monotonic() + within
    while not (result := await check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: still not true after {within:.0f}s (last: {result!r})")
        await asyncio.sleep(0.2)
    return result


async def published_snapshots(kafka: KafkaSettings, topic: str) -> list[tuple[bytes, KpiSnapshot, dict[str, bytes]]]:
    """Every record on the snapshot topic so far: (key, snapshot, headers)."""
    consumer = AIOKafkaConsumer(topic, **kafka.aiokafka_options(), auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=3000)
        while more := await consumer.getmany(timeout_ms=1000):
            for partition, records in more.items():
                batches.setdefault(partition, []).extend(records)
    finally:
        await consumer.stop()
    return [
        (r.key, snapshot_adapter.validate_json(r.value), dict(r.headers))
        for records in batches.values()
        for r in records
    ]


def commune_and_its_province() -> tuple[str, str]:
    tree = load_reference_data().tree
    commune = tree.at_level(UnitLevel.COMMUNE)[0].code
    province = next(code for code in tree.ancestors(commune) if tree.units[code].level is UnitLevel.PROVINCE)
    return commune, province


async def test_counted_events_are_served_published_and_the_service_is_ready(
    settings: MetricsSettings, kafka_settings: KafkaSettings
) -> None:
    commune, province = commune_and_its_province()
    now = datetime.now(UTC)
    channels = ["online", "online", "in_person"]
    events = [received(unit=commune, at=now - timedelta(minutes=37 * i), channel=channels[i % 3]) for i in range(400)]
    online = sum(1 for i in range(400) if channels[i % 3] == "online")
    await produce(kafka_settings, settings.topic_events, events)
    async with serving(settings) as client:

        async def commune_rate() -> dict[str, Any] | None:
            items = (await client.get(f"/v1/kpis?kpi=online_submission_rate&window=30d&unit={commune}")).json()["items"]
            return items[0] if items and items[0]["denominator"] == len(events) else None

        served = await eventually(commune_rate, within=60, what="the commune's 30-day rate counts every dossier")
        assert served["numerator"] == online
        ready = await client.get("/readyz")
        assert (ready.status_code, ready.json()["checks"]) == (200, {"kafka": "ok", "postgres": "ok"})
        exposition = (await client.get("/metrics")).text
        labels = f'kpi="online_submission_rate",level="province",unit="{province}",window="30d"'
        series = f"civicpulse_kpi_denominator{{{labels}}}"
        assert f"{series} {float(len(events))}" in exposition  # rolled up to the province, exported from memory

        async def commune_published() -> list[tuple[bytes, KpiSnapshot, dict[str, bytes]]]:
            records = await published_snapshots(kafka_settings, settings.topic_snapshots)
            key = f"online_submission_rate|30d|{commune}".encode()
            return [r for r in records if r[0] == key and r[1].denominator == len(events)]

        _, snapshot, headers = (
            await eventually(commune_published, within=30, what="the commune's snapshot published")
        )[-1]
        assert (snapshot.numerator, snapshot.unit_level) == (online, "commune")
        assert headers["content-type"] == b"application/json"
        served_scopes = {
            (s["kpi"], s["window"], s["unit_code"]) for s in (await client.get("/v1/kpis")).json()["items"]
        }
    records = await published_snapshots(kafka_settings, settings.topic_snapshots)
    assert {s.scope for _, s, _ in records} == served_scopes  # the first (full) refresh published every one


async def test_reference_files_are_synced_again_only_once_they_change(
    settings: MetricsSettings, pg_dsn: str, tmp_path: Path
) -> None:
    """At national scale a sync costs seconds of parsing, a tree read again and every snapshot republished: the
    periodic re-read skips files whose digests it last synced."""
    units_file, procedures_file = tmp_path / "units.yaml", tmp_path / "procedures.csv"
    units_file.write_text((resources.files("shared.refdata") / SAMPLE_UNITS).read_text("utf-8"), "utf-8")
    procedures_file.write_text((resources.files("shared.refdata") / SAMPLE_PROCEDURES).read_text("utf-8"), "utf-8")
    commune, _ = commune_and_its_province()
    name = load_reference_data().tree.units[commune].name
    watched = settings.model_copy(update={"units_file": units_file, "procedures_file": procedures_file,
                                          "metrics_refdata_refresh_s": 0.2})  # fmt: skip
    connection = await asyncpg.connect(pg_dsn)

    async def commune_name() -> str | None:
        return await connection.fetchval("SELECT name FROM units WHERE code = $1", commune)

    try:
        async with serving(watched):
            await eventually(lambda: _equals(commune_name(), name), within=30, what="the files synced at start")
            await connection.execute("UPDATE units SET name = 'edited in the table' WHERE code = $1", commune)
            await asyncio.sleep(2.0)  # ten re-reads of unchanged files
            assert await commune_name() == "edited in the table"
            units_file.write_text(units_file.read_text("utf-8").replace(name, f"{name} (renamed)", 1), "utf-8")
            await eventually(lambda: _equals(commune_name(), f"{name} (renamed)"), within=30,
                             what="the changed file synced")  # fmt: skip
    finally:
        await connection.close()


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected
