"""What a replica serves of the two-tier tree: rankings and Prometheus series of the units that exist on the day
the snapshots were computed, old units still answering for themselves, unknown units counted and listed."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest

from services.metrics.api import kpi_router
from services.metrics.board import SnapshotBoard, UnitEntry
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import KpiCollector
from shared.kpi_catalogue import UNKNOWN_LEVEL
from shared.refdata import UnitLevel, load_reference_data
from shared.snapshots import KpiSnapshot

pytestmark = pytest.mark.unit
TODAY = datetime(2026, 5, 10, 5, tzinfo=UTC)
BEFORE_THE_MERGER = datetime(2025, 6, 20, 5, tzinfo=UTC)
DEFAULT_LEVELS = frozenset(MetricsSettings.model_fields["metrics_levels"].default)


def board_at(computed_at: datetime) -> SnapshotBoard:
    """Every unit of the default sample (today's Hải Phòng and the Hải Dương 2024 tree) with a 30-day figure."""
    tree = load_reference_data().tree
    board = SnapshotBoard(units={u.code: UnitEntry(u.name, u.level.value, u.valid_from, u.valid_to) for u in tree})
    snapshots = [
        KpiSnapshot(
            kpi="online_submission_rate", window="30d", unit_code=u.code, unit_level=u.level.value,
            numerator=i % 10, denominator=10, ratio=(i % 10) / 10, window_start=computed_at - timedelta(days=30),
            window_end=computed_at, computed_at=computed_at,
        )
        for i, u in enumerate(tree)
    ]  # fmt: skip
    unknown = dataclasses.replace(snapshots[0], unit_code="NEW.1", unit_level=UNKNOWN_LEVEL)
    board.replace([*snapshots, unknown])
    return board


async def get(board: SnapshotBoard, path: str) -> httpx.Response:
    app = FastAPI()
    app.include_router(kpi_router(board))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://metrics") as client:
        return await client.get(path)


def current_codes(level: UnitLevel, on: datetime) -> set[str]:
    return {u.code for u in load_reference_data().tree.current(on.date()) if u.level is level}


async def test_ranking_defaults_to_communes_and_lists_only_those_that_exist_today() -> None:
    body = (await get(board_at(TODAY), "/v1/ranking?kpi=online_submission_rate")).json()
    codes = [u["unit_code"] for u in body["units"]]
    assert (body["level"], body["window"]) == ("commune", "30d")
    assert set(codes) == current_codes(UnitLevel.COMMUNE, TODAY)
    assert len(codes) == 114
    assert not [c for c in codes if c.startswith("HD.")]
    ward = next(u for u in body["units"] if u["unit_code"] == "H24.107")
    assert (ward["unit_name"], ward["unit_level"]) == ("Phường Hồng Bàng", "commune")
    ratios = [u["ratio"] for u in body["units"]]
    assert ratios == sorted(ratios, reverse=True)
    assert [u["rank"] for u in body["units"]] == list(range(1, 115))


async def test_before_the_merger_the_ranking_lists_the_old_tree() -> None:
    board = board_at(BEFORE_THE_MERGER)
    communes = {u["unit_code"] for u in (await get(board, "/v1/ranking?kpi=online_submission_rate")).json()["units"]}
    assert communes == current_codes(UnitLevel.COMMUNE, BEFORE_THE_MERGER)
    assert communes
    assert all(c.startswith("HD.") for c in communes)
    districts = (await get(board, "/v1/ranking?kpi=online_submission_rate&level=district")).json()["units"]
    assert len(districts) == 12


async def test_a_unit_that_ceased_to_exist_still_answers_for_itself() -> None:
    body = (await get(board_at(TODAY), "/v1/kpis?unit=HD.CG&window=30d")).json()
    assert body["count"] == 1
    assert (body["items"][0]["unit_code"], body["items"][0]["unit_level"]) == ("HD.CG", "district")


def exposition(board: SnapshotBoard) -> str:
    registry = CollectorRegistry()
    registry.register(KpiCollector(board=board, levels=DEFAULT_LEVELS))
    return generate_latest(registry).decode()


def test_prometheus_exports_todays_units_of_the_default_levels_only() -> None:
    text = exposition(board_at(TODAY))
    assert {"province", "department", "commune"} == DEFAULT_LEVELS
    assert 'unit="H24.107"' in text
    assert 'level="province",unit="H24"' in text
    assert 'unit="HD' not in text  # the Hải Dương 2024 tree ceased to exist on 30 June 2025
    assert 'level="district"' not in text
    assert 'unit="NEW.1"' not in text  # unknown units are a count, not a label
    before = exposition(board_at(BEFORE_THE_MERGER))
    assert 'unit="HD.CG.01"' in before
    assert 'unit="H24' not in before


def test_unknown_units_are_a_gauge_and_a_listing() -> None:
    board = board_at(TODAY)
    board.unknown_units, board.unknown_units_total = {"NEW.1": TODAY, "XX.9": TODAY - timedelta(hours=2)}, 2
    assert "civicpulse_unknown_units 2.0" in exposition(board)


async def test_the_listing_of_unknown_units_names_them_newest_first() -> None:
    board = board_at(TODAY)
    board.unknown_units, board.unknown_units_total = {"NEW.1": TODAY, "XX.9": TODAY - timedelta(hours=2)}, 3
    body = (await get(board, "/v1/units/unknown")).json()
    assert body["count"] == 3
    assert [i["unit_code"] for i in body["items"]] == ["NEW.1", "XX.9"]
