"""The IOC board in a real browser: Debian's chromium, headless, over a seeded stack of real processes.

Metrics and alerts run as processes on the session's Kafka and PostgreSQL; events go to Kafka; the page is
loaded from the metrics service and must show the figures `/v1/kpis` serves, drill down (by keyboard too),
switch to English, say "unavailable" when the alerts API goes away, and do it all without a console error or a
request to anywhere but the metrics service.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page, expect

from shared.devstack.kafka import REPO_ROOT
from shared.events import Event
from shared.kpi_catalogue import VIETNAM
from shared.settings import KafkaSettings, TopicSettings
from tests.support.browser import PageWatch, chromium
from tests.support.factories import random_events, received
from tests.support.services import ServiceUnderTest, poll, produce, service_env

pytestmark = pytest.mark.e2e
PROVINCE, WARD, WARD_NAME = "H24", "H24.107", "Phường Hồng Bàng"
DEPARTMENT = "H24.06"  # Sở Nội vụ
ARTIFACTS = REPO_ROOT / ".civicpulse" / "artifacts"
RULES = """
rules:
  - name: online-low.commune
    kpi: online_submission_rate
    window: 1d
    scope: {levels: [commune]}
    target: 0.8
    min_denominator: 10
    for: 0s
    severity: critical
    annotations: {summary: "{unit_name}: {value_pct} below {target_pct}"}
"""


def ward_events(now: datetime) -> list[Event]:
    """Ward H24.107 slips: 40 dossiers in the last hours, 10 of them online; 6 are overdue and in progress."""
    events = [
        received(unit=WARD, at=now - timedelta(minutes=5 + i), channel="online" if i < 10 else "in_person",
                 due_at=(now - timedelta(days=1)).isoformat() if i < 6 else None)
        for i in range(40)
    ]  # fmt: skip
    events += [received(unit=DEPARTMENT, at=now - timedelta(hours=2 + i), channel="online") for i in range(12)]
    return events


def vi_int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def en_int(n: int) -> str:
    return f"{n:,}"


@dataclass
class Stack:
    metrics: ServiceUnderTest
    alerts: ServiceUnderTest

    def kpis(self, unit: str, window: str = "30d") -> dict[str, dict[str, Any]]:
        items = self.metrics.get(f"/v1/kpis?unit={unit}&window={window}").json()["items"]
        return {i["kpi"]: i for i in items}


@pytest.fixture
async def stack(
    kafka_settings: KafkaSettings, topics: TopicSettings, pg_dsn: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    now = datetime.now(UTC)
    events = random_events(3000, seed=15, now=now, days=20) + ward_events(now)
    await produce(kafka_settings, topics.topic_events, events)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    alerts = ServiceUnderTest("alerts", ["alerts", "serve"], log_dir=tmp_path, env=service_env(
        kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn, CIVICPULSE_ALERTS_RULES_FILE=str(rules),
        CIVICPULSE_ALERTS_GROUP_ID=f"alerts-{uuid.uuid4().hex[:6]}", CIVICPULSE_ALERTS_OFFSET_RESET="earliest",
        CIVICPULSE_ALERTS_EVAL_INTERVAL_S="0.5", CIVICPULSE_ALERTS_ADMIN_TOKEN="e2e-board-admin-token",
    ))  # fmt: skip
    metrics = ServiceUnderTest("metrics", ["metrics", "serve"], log_dir=tmp_path, env=service_env(
        kafka=kafka_settings, topics=topics, pg_dsn=pg_dsn,
        CIVICPULSE_METRICS_GROUP_ID=f"metrics-{uuid.uuid4().hex[:6]}", CIVICPULSE_METRICS_BOARD_REFRESH_S="2",
        CIVICPULSE_METRICS_BOARD_ALERTS_URL=alerts.url,
    ))  # fmt: skip
    metrics.start()
    alerts.start()
    expected = sum(1 for e in events if e.type == "dossier.received")
    poll(lambda: Stack(metrics, alerts).kpis(PROVINCE).get("online_submission_rate", {}).get("denominator")
         == expected, timeout=120, what="every received dossier counted")  # fmt: skip

    def firing() -> list[str]:
        return [a["subject"] for a in alerts.get("/v1/alerts").json()["items"] if a["status"] == "firing"]

    poll(lambda: WARD in firing(), timeout=60, what="the ward's alert")
    try:
        yield Stack(metrics, alerts)
    finally:
        metrics.kill()
        alerts.kill()


async def refreshed(page: Page, *, after: int = 0) -> int:
    """Wait for the page to finish a refresh later than `after`; returns its number."""
    await page.wait_for_function(f"Number(document.body.dataset.refreshed || 0) > {after}")
    return int(await page.evaluate("document.body.dataset.refreshed"))


async def assert_tiles_match(
    page: Page, kpis: dict[str, dict[str, Any]], *, fmt: Any, decimal: str, with_value: int = 1
) -> None:
    """Every tile with a value shows /v1/kpis' numerator, denominator and ratio for the unit."""
    shown = 0
    for kpi, item in kpis.items():
        tile = page.locator(f'.tile[data-kpi="{kpi}"]')
        assert await tile.get_attribute("data-numerator") == str(item["numerator"]), kpi
        assert await tile.get_attribute("data-denominator") == str(item["denominator"]), kpi
        fraction = await tile.locator(".fraction").inner_text()
        assert fraction == f"{fmt(item['numerator'])} / {fmt(item['denominator'])}", kpi
        text = await tile.locator(".value").inner_text()
        if item["ratio"] is None:
            assert text == "—", kpi
            continue
        assert float(text.rstrip("%").replace(decimal, ".")) == pytest.approx(item["ratio"] * 100, abs=0.051), kpi
        shown += 1
    assert shown >= with_value


async def assert_backlog_matches(page: Page, stack: Stack, unit: str) -> None:
    """The backlog panel shows /v1/backlog's in progress, overdue and paused for the unit."""
    figures = stack.metrics.get(f"/v1/backlog?unit={unit}").json()["items"][0]
    assert figures["overdue"] >= 6  # the ward's six, rolled up to the province
    shown = page.locator("#backlog dd")
    await expect(shown).to_have_text([vi_int(figures[k]) for k in ("in_progress", "overdue", "paused")])


async def test_the_board_shows_the_figures_drills_down_switches_language_and_survives_alerts_going_away(
    stack: Stack, tmp_path: Path
) -> None:
    watch = PageWatch()
    async with chromium() as browser:
        page = watch.attach(await browser.new_page(viewport={"width": 1920, "height": 1080}, locale="vi-VN"))
        await page.goto(f"{stack.metrics.url}/board/")
        count = await refreshed(page)

        # The province's tiles, in Vietnamese, with /v1/kpis' figures.
        assert await page.get_attribute("html", "lang") == "vi"
        await expect(page.locator("h1")).to_have_text("Trung tâm điều hành — Dịch vụ công")
        await expect(page.locator("#unit-name")).to_have_text("Thành phố Hải Phòng")
        await assert_tiles_match(page, stack.kpis(PROVINCE), fmt=vi_int, decimal=",", with_value=8)
        await expect(page.locator('.tile[data-kpi="online_submission_rate"] .label')).to_have_text(
            "Hồ sơ nộp trực tuyến"
        )
        assert await page.locator(".tile .trend .main-svg").count() >= 10  # plotly drew the 30-day trends

        # Rankings carry Vietnamese unit names; the active alert, the backlog and the pipeline are shown.
        await expect(page.locator(f'#ranking tr[data-unit="{WARD}"] button')).to_have_text(WARD_NAME)
        await expect(page.locator(f'#alerts button[data-unit="{WARD}"]')).to_have_text(WARD_NAME)
        await expect(page.locator("#alerts")).to_contain_text("Đang cảnh báo")
        await expect(page.locator("#sources")).to_contain_text("demo: Hoạt động")
        await assert_backlog_matches(page, stack, PROVINCE)
        month = datetime.now(VIETNAM).strftime("%Y-%m")
        index_path = f"/v1/index766?unit={PROVINCE}&period={month}"
        if stack.metrics.get(index_path).json().get("detail") == "Not Found":  # the service has no such endpoint
            await expect(page.locator("#index766-panel")).to_be_hidden()
        else:  # the panel shows the scorecard once the index has one
            poll(lambda: stack.metrics.get(index_path).status_code == 200, timeout=90, what="the 766 scorecard")
            total = f"{stack.metrics.get(index_path).json()['total']:.2f}".replace(".", ",")
            await expect(page.locator("#index766-total")).to_contain_text(total, timeout=10_000)

        screenshot = tmp_path / "board.png"
        await page.screenshot(path=str(screenshot), full_page=True)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, ARTIFACTS / "board.png")

        # Keyboard: the controls come first in tab order, then drill down to the ward with Enter.
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.id") == "window"
        await page.locator(f'#ranking tr[data-unit="{WARD}"] button').focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#unit-name")).to_have_text(WARD_NAME)
        count = await refreshed(page, after=count)
        assert f"unit={WARD}" in page.url
        await assert_tiles_match(page, stack.kpis(WARD), fmt=vi_int, decimal=",")
        await expect(page.locator('.tile[data-kpi="online_submission_rate"]')).to_have_attribute("data-status", "below")
        await assert_backlog_matches(page, stack, WARD)
        # Back to the province through the breadcrumb, by keyboard as well.
        await page.locator(f'#chain button[data-unit="{PROVINCE}"]').focus()
        await page.keyboard.press("Enter")
        await expect(page.locator("#unit-name")).to_have_text("Thành phố Hải Phòng")
        # The mouse drills into a department from the department ranking.
        await page.select_option("#ranking-level", "department")
        await page.locator(f'#ranking tr[data-unit="{DEPARTMENT}"] button').click()
        await expect(page.locator("#unit-name")).to_have_text("Sở Nội vụ")
        count = await refreshed(page, after=count)
        await assert_tiles_match(page, stack.kpis(DEPARTMENT), fmt=vi_int, decimal=",")

        # English, keeping the unit.
        await page.locator("#language").click()
        await page.wait_for_url("**lang=en**")
        count = await refreshed(page)
        assert await page.get_attribute("html", "lang") == "en"
        await expect(page.locator("h1")).to_have_text("Operations centre — Public services")
        await expect(page.locator("#unit-name")).to_have_text("Sở Nội vụ")  # unit names stay as the tree has them
        await expect(page.locator('.tile[data-kpi="online_submission_rate"] .label')).to_have_text("Submitted online")
        await assert_tiles_match(page, stack.kpis(DEPARTMENT), fmt=en_int, decimal=".")

        # The alerts API goes away: the panel says so at the next refresh, the rest keeps working.
        stack.alerts.kill()
        await expect(page.locator("#alerts-status")).to_have_text("Unavailable", timeout=20_000)
        await expect(page.locator("#alerts li")).to_have_count(0)
        await refreshed(page, after=int(await page.evaluate("document.body.dataset.refreshed")))

    assert watch.errors == []
    foreign = [url for url in watch.requested if not url.startswith(stack.metrics.url) and not url.startswith("data:")]
    assert foreign == []  # offline: every asset and every figure comes from the metrics service
    assert any(url.endswith("/board/static/plotly.min.js") for url in watch.requested)
