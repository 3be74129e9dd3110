"""The board's pure parts: tiles against targets, daily trends from counters, pipeline health, the alerts feed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from services.metrics.board import SnapshotBoard
from services.metrics.core.counters import COUNTERS
from services.metrics.core.kpis import USAGE_RATE, kpi_definitions
from services.metrics.telemetry import PipelineMetrics
from services.metrics.web import labels
from services.metrics.web.alerts_feed import AlertsFeed
from services.metrics.web.pipeline import pipeline_health
from services.metrics.web.tiles import TileStatus, kpi_tiles
from services.metrics.web.trend import daily_trends
from shared.kpi_catalogue import KPI_NAMES
from shared.snapshots import KpiSnapshot
from shared.targets import load_targets

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 20, 3, tzinfo=UTC)


def snapshot(kpi: str, numerator: int, denominator: int, *, unit: str = "H24", level: str = "province") -> KpiSnapshot:
    return KpiSnapshot(kpi=kpi, window="30d", unit_code=unit, unit_level=level, numerator=numerator,
                       denominator=denominator, ratio=numerator / denominator if denominator else None,
                       window_start=NOW - timedelta(days=30), window_end=NOW, computed_at=NOW)  # fmt: skip


def test_tiles_compare_each_kpi_with_its_level_target_and_guard_small_samples() -> None:
    current = {s.scope: s for s in [
        snapshot("online_submission_rate", 870, 1000),  # target 0.8 above: met
        snapshot("full_online_rate", 160, 1000),  # target 0.3: below
        snapshot("satisfaction_rate", 5, 5),  # 5 ratings, province minimum 200: too few to judge
        snapshot("on_time_rate", 0, 0),  # no data
        snapshot("online_submission_rate", 1, 10, unit="H24.107", level="commune"),  # another unit: not shown
    ]}  # fmt: skip
    tiles = {t.kpi: t for t in kpi_tiles(current, unit="H24", level="province", window="30d", targets=load_targets())}
    assert list(tiles) == list(KPI_NAMES)
    assert tiles["online_submission_rate"].status is TileStatus.MET
    assert (tiles["online_submission_rate"].numerator, tiles["online_submission_rate"].target) == (870, 0.8)
    assert tiles["full_online_rate"].status is TileStatus.BELOW
    assert tiles["satisfaction_rate"].status is TileStatus.LOW_SAMPLE
    assert tiles["on_time_rate"].status is TileStatus.NO_DATA
    assert tiles["digitization_rate"].status is TileStatus.NO_DATA  # never computed for the unit
    assert tiles["digitization_rate"].target == 0.9


def test_daily_trend_is_each_days_exact_ratio_and_a_day_without_rows_has_no_data() -> None:
    row = [0] * len(COUNTERS)
    row[COUNTERS.index("received")], row[COUNTERS.index("received_online")] = 8, 6
    first, last = date(2026, 11, 18), date(2026, 11, 20)
    trends = {t.kpi: t for t in daily_trends({date(2026, 11, 19): row}, first_day=first, last_day=last,
                                             definitions=kpi_definitions())}  # fmt: skip
    online = trends["online_submission_rate"]
    assert online.available
    assert [(d.day, d.numerator, d.denominator, d.ratio) for d in online.days] == [
        (date(2026, 11, 18), 0, 0, None),
        (date(2026, 11, 19), 6, 8, 0.75),
        (date(2026, 11, 20), 0, 0, None),
    ]
    assert not trends[USAGE_RATE].available  # distinct procedures, not a sum of daily counters
    assert trends[USAGE_RATE].days == []


def test_pipeline_health_reads_the_consumer_gauges_and_flags_quiet_sources() -> None:
    metrics = PipelineMetrics.create(CollectorRegistry())
    metrics.lag.labels("0").set(12)
    metrics.lag.labels("1").set(30)
    metrics.dead_lettered.labels("invalid").inc(3)
    metrics.dead_lettered.labels("too_old").inc()
    board = SnapshotBoard(source_activity={"dvcqg": NOW - timedelta(minutes=5), "emc": NOW - timedelta(hours=2)})
    board.replace([snapshot("online_submission_rate", 1, 2)])
    health = pipeline_health(metrics=metrics, board=board, now=NOW, quiet_threshold_s=1800)
    assert (health.consumer_lag, health.lag_by_partition) == (42, {"0": 12, "1": 30})
    assert (health.dead_letters, health.dead_letters_by_reason) == (4, {"invalid": 3, "too_old": 1})
    assert [(s.source, s.silent) for s in health.sources] == [("dvcqg", False), ("emc", True)]
    assert health.snapshots_computed_at == NOW
    fresh = pipeline_health(metrics=PipelineMetrics.create(CollectorRegistry()), board=SnapshotBoard(), now=NOW,
                            quiet_threshold_s=1800)  # fmt: skip
    assert (fresh.consumer_lag, fresh.dead_letters, fresh.sources) == (None, 0, [])


def alert(alert_id: str, *, status: str, severity: str, since: str) -> dict[str, Any]:
    return {"alert_id": alert_id, "rule": "online-low", "subject": "H24.107", "status": status, "severity": severity,
            "since": since, "fired_at": None, "value": 0.4, "target": 0.8, "labels": {"unit": "H24.107"},
            "annotations": {"summary": "low"}, "silenced_by": []}  # fmt: skip


async def test_the_alerts_feed_orders_firing_first_and_is_unavailable_when_the_api_fails() -> None:
    items = [
        alert("a", status="pending", severity="critical", since="2026-11-20T01:00:00Z"),
        alert("b", status="firing", severity="warning", since="2026-11-20T00:00:00Z"),
        alert("c", status="firing", severity="critical", since="2026-11-20T02:00:00Z"),
    ]
    ok = httpx.MockTransport(lambda request: httpx.Response(200, json={"count": 3, "items": items}))
    async with httpx.AsyncClient(transport=ok, base_url="http://alerts") as client:
        feed = await AlertsFeed(client).active()
    assert feed.available
    assert [a.alert_id for a in feed.items] == ["c", "b", "a"]
    assert feed.items[0].unit == "H24.107"

    down = httpx.MockTransport(lambda request: httpx.Response(503, text="unavailable"))
    async with httpx.AsyncClient(transport=down, base_url="http://alerts") as client:
        assert not (await AlertsFeed(client).active()).available
    garbled = httpx.MockTransport(lambda request: httpx.Response(200, json={"unexpected": True}))
    async with httpx.AsyncClient(transport=garbled, base_url="http://alerts") as client:
        assert not (await AlertsFeed(client).active()).available
    assert not (await AlertsFeed(None).active()).available  # no alerts URL configured


def test_every_label_exists_in_both_languages() -> None:
    for language in labels.LANGUAGES:
        words = labels.catalogue(language)
        assert set(words["kpis"]) == set(KPI_NAMES)
        assert all(words["messages"].values())
    assert labels.catalogue("vi")["messages"]["unavailable"] == "Không khả dụng"
    assert labels.catalogue("en")["messages"]["unavailable"] == "Unavailable"
