"""HTTP API of the live figures: backlog per unit, the oldest overdue dossiers, processing time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field

from services.metrics import dossiers
from services.metrics.backlog import BacklogBoard
from services.metrics.core.processing import bin_error, bin_value, percentile
from services.metrics.core.windows import vietnam_day, window_bounds
from shared.events import CODE_PATTERN
from shared.kpi_catalogue import WindowName
from shared.refdata import UnitLevel

UnitCode = Annotated[str, Path(max_length=64, pattern=CODE_PATTERN)]


class UnitBacklogView(BaseModel):
    """A unit's live figures, rolled up over its subtree and predecessors."""

    unit_code: str
    unit_name: str | None
    level: str
    in_progress: int = Field(description="Dossiers received and not completed.")
    overdue: int = Field(description="In progress, clock running, past their due time.")
    paused: int = Field(description="In progress with the clock stopped (supplement or payment requested).")


class BacklogList(BaseModel):
    """Live figures of the units matching the query, as of `computed_at`."""

    computed_at: datetime | None
    count: int
    items: list[UnitBacklogView]


class OverdueView(BaseModel):
    """One overdue dossier."""

    dossier_id: str
    procedure_code: str
    unit_code: str
    due_at: datetime
    days_overdue: float
    paused_days: float = Field(description="Time its clock stood still so far, in days.")


class OverdueList(BaseModel):
    """The oldest overdue dossiers of a unit's subtree, oldest due first."""

    unit_code: str
    computed_at: datetime
    count: int
    items: list[OverdueView]


class ProcessingTime(BaseModel):
    """Received -> completed, paused time deducted, over the dossiers completed in the window's Vietnam days."""

    unit_code: str
    window: str
    procedure_code: str | None
    first_day: date
    last_day: date
    dossiers: int
    median_days: float | None
    p90_days: float | None
    median_max_error_days: float | None = Field(description="Half the histogram bin; None: a lower bound.")
    p90_max_error_days: float | None = Field(description="Half the histogram bin; None: a lower bound.")


def _error(index: int | None) -> float | None:
    if index is None:
        return 0.0
    error = bin_error(index)
    return None if error == float("inf") else error


def backlog_router(board: BacklogBoard, *, pool: asyncpg.Pool[Any], clock: Callable[[], datetime]) -> APIRouter:
    """Routes over the backlog board, and drill-downs read from PostgreSQL on request."""
    router = APIRouter(prefix="/v1", tags=["backlog"])

    @router.get("/backlog")
    async def list_backlog(
        unit: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None, level: UnitLevel | None = None
    ) -> BacklogList:
        """In progress, overdue and paused per unit, rolled up the tree."""
        items = [
            UnitBacklogView(
                unit_code=u.unit_code,
                unit_name=u.unit_name,
                level=u.level,
                in_progress=u.figures.in_progress,
                overdue=u.figures.overdue,
                paused=u.figures.paused,
            )
            for u in board.units.values()
            if (unit is None or u.unit_code == unit) and (level is None or u.level == level.value)
        ]
        return BacklogList(computed_at=board.computed_at, count=len(items), items=items)

    @router.get("/backlog/{unit}/overdue")
    async def list_overdue(unit: UnitCode, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> OverdueList:
        """The oldest overdue dossiers of a unit (its subtree and predecessors included)."""
        if board.computed_at is not None and unit not in board.units:
            raise HTTPException(status_code=404, detail=f"unknown unit {unit!r}")
        now = clock()
        async with pool.acquire() as connection:
            found = await dossiers.oldest_overdue(connection, unit=unit, now=now, limit=limit)
        items = [OverdueView(dossier_id=d.dossier_id, procedure_code=d.procedure_code, unit_code=d.unit_code,
                             due_at=d.due_at, days_overdue=round(d.days_overdue, 3),
                             paused_days=round(d.paused_days, 3)) for d in found]  # fmt: skip
        return OverdueList(unit_code=unit, computed_at=now, count=len(items), items=items)

    @router.get("/processing-time")
    async def processing_time(
        unit: Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)],
        window: WindowName = WindowName.D30,
        procedure: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None,
    ) -> ProcessingTime:
        """Median and 90th percentile processing days of a unit's completed dossiers (from a histogram)."""
        bounds = window_bounds(window, now=clock())
        first, last = vietnam_day(bounds.first_bucket), vietnam_day(bounds.last_bucket)
        async with pool.acquire() as connection:
            histogram = await dossiers.processing_histogram(connection, unit=unit, first_day=first, last_day=last,
                                                            procedure=procedure)  # fmt: skip
        median, p90 = percentile(histogram, 0.5), percentile(histogram, 0.9)
        return ProcessingTime(
            unit_code=unit, window=window.value, procedure_code=procedure, first_day=first, last_day=last,
            dossiers=sum(histogram.values()),
            median_days=None if median is None else bin_value(median), p90_days=None if p90 is None else bin_value(p90),
            median_max_error_days=_error(median), p90_max_error_days=_error(p90),
        )  # fmt: skip

    return router
