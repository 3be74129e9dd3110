"""Each KPI's value per Vietnam day, exact from the daily counters: the tiles' 30-day trend."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from services.metrics.core.counters import COUNTERS
from services.metrics.core.kpis import USAGE_RATE, KpiDefinition, ratio
from shared.events import CODE_PATTERN
from shared.kpi_catalogue import KPI_NAMES, VIETNAM

# A unit's day is the sum over the codes it rolls up (its subtree, its predecessors', their aliases: unit_closure),
# or over its own code alone when the tree lacks it: the same rollup as the snapshots.
DAILY_TOTALS = f"""
SELECT d.day, {", ".join(f"sum(d.{c})::bigint AS {c}" for c in COUNTERS)}
FROM kpi_counts_daily d
WHERE d.day BETWEEN $2 AND $3
  AND (d.unit_code IN (SELECT descendant_code FROM unit_closure WHERE ancestor_code = $1)
       OR (d.unit_code = $1 AND NOT EXISTS (SELECT 1 FROM unit_closure WHERE descendant_code = $1)))
GROUP BY d.day
"""  # noqa: S608 (column names are constants)

MAX_DAYS = 90


class DailyValue(BaseModel):
    """A KPI over one Vietnam calendar day (today: so far)."""

    day: date
    numerator: int
    denominator: int
    ratio: float | None


class KpiTrend(BaseModel):
    """One KPI's days, oldest first; `available` is false for a KPI the daily counters can't give."""

    kpi: str
    available: bool = Field(description=f"False for {USAGE_RATE}: it counts distinct procedures, not events.")
    days: list[DailyValue]


class Trend(BaseModel):
    """Daily values of a unit's KPIs over the last `days` Vietnam days, today included."""

    unit_code: str
    first_day: date
    last_day: date
    items: list[KpiTrend]


def daily_trends(
    totals: Mapping[date, Sequence[int]], *, first_day: date, last_day: date, definitions: Sequence[KpiDefinition]
) -> list[KpiTrend]:
    """Every definition's value on every day from first_day to last_day; a day without rows is 0 / 0 (no data)."""
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    empty = [0] * len(COUNTERS)
    trends = []
    for definition in definitions:
        if definition.name == USAGE_RATE:
            trends.append(KpiTrend(kpi=definition.name, available=False, days=[]))
            continue
        values = []
        for day in days:
            numerator, denominator = definition.evaluate_row(totals.get(day, empty))
            values.append(DailyValue(day=day, numerator=numerator, denominator=denominator,
                                     ratio=ratio(numerator, denominator)))  # fmt: skip
        trends.append(KpiTrend(kpi=definition.name, available=True, days=values))
    return trends


def trend_router(
    *, pool: asyncpg.Pool[Any], definitions: Sequence[KpiDefinition], clock: Callable[[], datetime]
) -> APIRouter:
    """`GET /v1/kpis/trend`, read from the daily counters on request."""
    router = APIRouter(prefix="/v1", tags=["kpis"])

    @router.get("/kpis/trend")
    async def kpi_trend(
        unit: Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)],
        kpi: Annotated[list[str] | None, Query(description=f"Any of: {', '.join(KPI_NAMES)}; all if unset.")] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30,
    ) -> Trend:
        """A unit's KPIs per Vietnam day over the last `days` days (today so far), rolled up like the snapshots."""
        unknown = sorted(set(kpi or ()) - set(KPI_NAMES))
        if unknown:
            raise HTTPException(status_code=422, detail=f"unknown KPI {unknown[0]!r}; known: {', '.join(KPI_NAMES)}")
        wanted = [d for d in definitions if kpi is None or d.name in kpi]
        last_day = clock().astimezone(VIETNAM).date()
        first_day = last_day - timedelta(days=days - 1)
        async with pool.acquire() as connection:
            rows = await connection.fetch(DAILY_TOTALS, unit, first_day, last_day)
        totals = {r["day"]: [r[c] for c in COUNTERS] for r in rows}
        items = daily_trends(totals, first_day=first_day, last_day=last_day, definitions=wanted)
        return Trend(unit_code=unit, first_day=first_day, last_day=last_day, items=items)

    return router
