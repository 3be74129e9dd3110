"""What the engine evaluates, as values: KPI readings from snapshots, backlog readings from the live backlog, and
staleness readings from activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.alerts.core.conditions import Reading
from services.alerts.core.rules import BacklogMeasure
from shared.snapshots import KpiSnapshot

KpiScope = tuple[str, str, str]
"""(kpi, window, unit code) of a snapshot."""


@dataclass(frozen=True, slots=True)
class KpiReading:
    """The newest value of one KPI scope, and the level of its unit."""

    unit_level: str
    reading: Reading


def kpi_reading(snapshot: KpiSnapshot) -> KpiReading:
    """A snapshot as a reading; observed when it was computed, so an older one never overrides a newer one."""
    return KpiReading(
        snapshot.unit_level,
        Reading(
            value=snapshot.ratio,
            observed_at=snapshot.computed_at,
            numerator=snapshot.numerator,
            denominator=snapshot.denominator,
        ),
    )


def staleness_reading(last_event_at: datetime, *, now: datetime) -> Reading:
    """Age of the newest event, in seconds, observed now."""
    return Reading(value=max(0.0, (now - last_event_at).total_seconds()), observed_at=now, last_event_at=last_event_at)


@dataclass(frozen=True, slots=True)
class UnitBacklog:
    """One unit's live backlog (its descendants included) as read at `as_of`."""

    unit_level: str
    in_progress: int
    overdue: int
    paused: int
    as_of: datetime


def backlog_reading(backlog: UnitBacklog, measure: BacklogMeasure) -> Reading:
    """The overdue count or share of a unit, overdue over in progress; an empty backlog's share is 0, not no data."""
    if measure is BacklogMeasure.OVERDUE:
        value = float(backlog.overdue)
    else:
        value = backlog.overdue / backlog.in_progress if backlog.in_progress else 0.0
    return Reading(value=value, observed_at=backlog.as_of, numerator=backlog.overdue, denominator=backlog.in_progress)
