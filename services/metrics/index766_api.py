"""HTTP API of the Decision 766 index: a unit's scorecard for a period, and a level's ranking by total."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from services.metrics.core.index766 import GroupScore, IndicatorScore, Scorecard, published
from services.metrics.core.periods import Period, PeriodError, parse_period
from services.metrics.index766 import Index766Service, current_units
from shared.events import CODE_PATTERN
from shared.refdata import UnitLevel

PeriodText = Annotated[
    str, Query(max_length=7, description="A month `YYYY-MM`, a quarter `YYYY-Qn` or a year `YYYY` (Vietnam time).")
]
Number = int | float


class IndicatorView(BaseModel):
    """One indicator: its inputs, ratio and points (null points: no data, or points the portal's formula hides)."""

    indicator: str
    numerator: Number | None
    denominator: Number | None
    ratio: float | None
    points: float | None
    max_points: float | None


class GroupView(BaseModel):
    """One of the six groups."""

    group: str
    points: float | None
    max_points: float
    indicators: list[IndicatorView]


class ScorecardView(BaseModel):
    """A unit's Decision 766 index for a period, points to two decimals as the portal publishes them."""

    unit_code: str
    period: str
    total: float
    max_total: float
    coverage: float = Field(description="Share (0..1) of the maximum points that has data behind it.")
    groups: list[GroupView]


class RankedScore(BaseModel):
    """One unit's place by total; score_delta against the previous period (null when it had no score)."""

    rank: int
    unit_code: str
    unit_name: str
    total: float
    coverage: float
    previous_total: float | None
    score_delta: float | None


class IndexRanking(BaseModel):
    """The units of a level that exist today, ranked by their 766 total, best first."""

    period: str
    previous_period: str
    level: str
    computed_at: datetime
    units: list[RankedScore]


def _number(value: float | None) -> Number | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def indicator_view(score: IndicatorScore) -> IndicatorView:
    """An indicator as served."""
    return IndicatorView(indicator=score.indicator, numerator=_number(score.numerator),
                         denominator=_number(score.denominator), ratio=score.ratio, points=published(score.points),
                         max_points=score.max_points)  # fmt: skip


def group_view(group: GroupScore) -> GroupView:
    """A group as served."""
    return GroupView(group=group.group, points=published(group.points), max_points=group.max_points,
                     indicators=[indicator_view(i) for i in group.indicators])  # fmt: skip


def scorecard_view(card: Scorecard, *, unit_code: str, period: str) -> ScorecardView:
    """A scorecard as served."""
    return ScorecardView(unit_code=unit_code, period=period, total=round(card.total, 2), max_total=card.max_total,
                         coverage=round(card.coverage, 4), groups=[group_view(g) for g in card.groups])  # fmt: skip


def _period(text: str, service: Index766Service) -> Period:
    try:
        return parse_period(text, today=service.today())
    except PeriodError as error:
        raise HTTPException(status_code=422, detail=f"query parameter period: {error}") from error


def index766_router(service: Index766Service) -> APIRouter:
    """Routes over the index service."""
    router = APIRouter(prefix="/v1/index766", tags=["index766"])

    @router.get("")
    async def unit_index(
        unit: Annotated[str, Query(max_length=64, pattern=CODE_PATTERN)], period: PeriodText
    ) -> ScorecardView:
        """A unit's index for a month, quarter or year (the current one to date), rolled up over its subtree."""
        chosen = _period(period, service)
        scores = await service.period_scores(chosen, unit=unit)
        card = scores.cards.get(unit)
        if card is None or unit not in scores.units:
            raise HTTPException(status_code=404, detail=f"query parameter unit: no unit {unit!r} in the unit tree")
        return scorecard_view(card, unit_code=unit, period=chosen.name)

    @router.get("/ranking")
    async def ranking(period: PeriodText, level: UnitLevel = UnitLevel.COMMUNE) -> IndexRanking:
        """Units of a level that exist today ranked by total, with the change since the previous period."""
        chosen = _period(period, service)
        previous = chosen.previous()
        now, before = await service.period_scores(chosen), await service.period_scores(previous)
        codes = current_units(now, level=level.value, day=service.today())
        ordered = sorted(codes, key=lambda c: (-round(now.cards[c].total, 2), c))
        units = []
        for rank, code in enumerate(ordered, start=1):
            total = round(now.cards[code].total, 2)
            held = before.cards.get(code)
            previous_total = round(held.total, 2) if held is not None else None
            units.append(RankedScore(
                rank=rank, unit_code=code, unit_name=now.units[code].name, total=total,
                coverage=round(now.cards[code].coverage, 4), previous_total=previous_total,
                score_delta=None if previous_total is None else round(total - previous_total, 2),
            ))  # fmt: skip
        return IndexRanking(period=chosen.name, previous_period=previous.name, level=level.value,
                            computed_at=now.computed_at, units=units)  # fmt: skip

    return router
