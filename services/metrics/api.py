"""HTTP API of the metrics service: current KPIs and unit rankings, served from the in-memory snapshot."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from services.metrics.board import SnapshotBoard
from shared.kpi_catalogue import KPI_NAMES, WindowName
from shared.refdata import UnitLevel
from shared.snapshots import KpiSnapshot

KpiName = Annotated[str, Query(description=f"One of: {', '.join(KPI_NAMES)}", pattern="|".join(KPI_NAMES))]


class KpiList(BaseModel):
    """KPI snapshots matching the query."""

    count: int
    items: list[KpiSnapshot]


class RankedUnit(BaseModel):
    """One unit's place in a ranking; units without data come last, unranked."""

    rank: int | None
    unit_code: str
    unit_name: str | None = Field(description="The unit's name in the unit tree.")
    unit_level: str
    ratio: float | None
    numerator: int
    denominator: int


class Ranking(BaseModel):
    """Current units of one level ordered by a KPI."""

    kpi: str
    window: str
    level: str
    computed_at: datetime | None
    units: list[RankedUnit]


class UnknownUnit(BaseModel):
    """A unit code events were counted under although the unit tree has no such unit or alias."""

    unit_code: str
    last_event_at: datetime = Field(description="When the newest event for it occurred.")


class UnknownUnits(BaseModel):
    """Unit codes the tree lacks: their counts roll up as soon as the tree gains the unit or an alias for it."""

    count: int = Field(description="Distinct unknown unit codes; `items` lists at most the newest 1,000.")
    items: list[UnknownUnit]


def kpi_router(board: SnapshotBoard) -> APIRouter:
    """Routes over the board every replica keeps fresh."""
    router = APIRouter(prefix="/v1", tags=["kpis"])

    @router.get("/kpis")
    async def list_kpis(
        kpi: KpiName | None = None,
        window: WindowName | None = None,
        unit: Annotated[str | None, Query(max_length=64)] = None,
        level: UnitLevel | None = None,
    ) -> KpiList:
        """Current KPI values, filtered by KPI, window, unit and unit level."""
        views = [
            view
            for (view_kpi, view_window), view in board.views.items()
            if (kpi is None or view_kpi == kpi) and (window is None or view_window == window.value)
        ]
        scoped = (
            [s for view in views if (s := view.get(unit)) is not None]
            if unit is not None
            else [s for view in views for s in view.values()]
        )
        items = [s for s in scoped if level is None or s.unit_level == level.value]
        items.sort(key=lambda s: (s.kpi, s.window, s.unit_code))
        return KpiList(count=len(items), items=items)

    @router.get("/ranking")
    async def ranking(
        kpi: KpiName, window: WindowName = WindowName.D30, level: UnitLevel = UnitLevel.COMMUNE
    ) -> Ranking:
        """Units of a level that exist today (the Vietnam day the snapshots were computed) ordered by a KPI, best
        first, with numerators and denominators; a unit that ceased to exist answers in `/v1/kpis` only."""
        scoped = [
            s
            for s in board.views.get((kpi, window.value), {}).values()
            if s.unit_level == level and board.is_current(s)
        ]
        with_data = sorted((s for s in scoped if s.ratio is not None), key=lambda s: (-(s.ratio or 0.0), s.unit_code))
        without = sorted((s for s in scoped if s.ratio is None), key=lambda s: s.unit_code)
        units = [
            RankedUnit(
                rank=i + 1 if s.ratio is not None else None,
                unit_code=s.unit_code,
                unit_name=unit.name if (unit := board.units.get(s.unit_code)) else None,
                unit_level=s.unit_level,
                ratio=s.ratio,
                numerator=s.numerator,
                denominator=s.denominator,
            )
            for i, s in enumerate([*with_data, *without])
        ]
        computed = max((s.computed_at for s in scoped), default=None)
        return Ranking(kpi=kpi, window=window.value, level=level.value, computed_at=computed, units=units)

    @router.get("/units/unknown")
    async def unknown_units() -> UnknownUnits:
        """Counted unit codes the unit tree lacks (neither a code nor an alias), most recently seen first."""
        items = [UnknownUnit(unit_code=code, last_event_at=at) for code, at in board.unknown_units.items()]
        return UnknownUnits(count=board.unknown_units_total, items=items)

    return router
