"""Reporting periods in Vietnam days: a month `YYYY-MM`, a quarter `YYYY-Qn`, a year `YYYY`, or any closed range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

EARLIEST_YEAR = 2000
"""No index before this year (Decision 766 dates from 2022); also keeps the previous period a valid date."""
_PERIOD = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")


class PeriodKind(StrEnum):
    """The portal's three index periods."""

    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class PeriodError(ValueError):
    """A period or range that can't be served; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Period:
    """Vietnam days `first_day..last_day` (inclusive); a current period ends today (to date)."""

    name: str
    kind: PeriodKind
    first_day: date
    last_day: date
    closed: bool

    def previous(self) -> Period:
        """The whole period before this one."""
        before = self.first_day - timedelta(days=1)
        return period_containing(self.kind, before, today=before + timedelta(days=1))


def _bounds(kind: PeriodKind, day: date) -> tuple[date, date]:
    if kind is PeriodKind.MONTH:
        first = day.replace(day=1)
    elif kind is PeriodKind.QUARTER:
        first = day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    else:
        first = day.replace(month=1, day=1)
    months = {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.YEAR: 12}[kind]
    month = first.month - 1 + months
    after = date(first.year + month // 12, month % 12 + 1, 1)
    return first, after - timedelta(days=1)


def _name(kind: PeriodKind, first: date) -> str:
    if kind is PeriodKind.MONTH:
        return f"{first.year:04d}-{first.month:02d}"
    if kind is PeriodKind.QUARTER:
        return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.year:04d}"


def period_containing(kind: PeriodKind, day: date, *, today: date) -> Period:
    """The month, quarter or year a day falls in; cut at today if it has not ended."""
    first, last = _bounds(kind, day)
    return Period(_name(kind, first), kind, first, min(last, today), closed=last < today)


def parse_period(text: str, *, today: date) -> Period:
    """`2026-11`, `2026-Q4` or `2026`; a period that has not begun is refused, the current one runs to today."""
    match = _PERIOD.match(text)
    if match is None:
        raise PeriodError(f"period {text!r}: expected YYYY-MM (month), YYYY-Qn (quarter) or YYYY (year)")
    year = int(match["year"])
    if year < EARLIEST_YEAR:
        raise PeriodError(f"period {text!r}: the year must be {EARLIEST_YEAR} or later")
    if match["month"] is not None:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"period {text!r}: month {month} is not 01..12")
        kind, first = PeriodKind.MONTH, date(year, month, 1)
    elif match["quarter"] is not None:
        kind, first = PeriodKind.QUARTER, date(year, 3 * (int(match["quarter"]) - 1) + 1, 1)
    else:
        kind, first = PeriodKind.YEAR, date(year, 1, 1)
    if first > today:
        raise PeriodError(f"period {text!r} begins after today ({today.isoformat()}, Vietnam time)")
    return period_containing(kind, first, today=today)


def current_periods(today: date) -> dict[PeriodKind, Period]:
    """This month, quarter and year, to date."""
    return {kind: period_containing(kind, today, today=today) for kind in PeriodKind}


@dataclass(frozen=True, slots=True)
class DayRange:
    """A closed range of Vietnam days and the range of equal length just before it."""

    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def previous(self) -> DayRange:
        """The same number of days ending the day before."""
        return DayRange(self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1))


def closed_range(first_day: date, last_day: date, *, today: date, longest_days: int) -> DayRange:
    """A report range: both ends given, in order, over before today and no longer than the counts are kept."""
    if first_day > last_day:
        raise PeriodError(f"from={first_day.isoformat()} is after to={last_day.isoformat()}")
    if last_day >= today:
        raise PeriodError(
            f"to={last_day.isoformat()}: a report covers closed days only, the last one is "
            f"{(today - timedelta(days=1)).isoformat()} (Vietnam time)"
        )
    if (today - first_day).days + (last_day - first_day).days + 1 > longest_days:
        raise PeriodError(
            f"from={first_day.isoformat()}: the range and the previous one of equal length must fall within the "
            f"last {longest_days} days (counts are kept that long)"
        )
    return DayRange(first_day, last_day)
