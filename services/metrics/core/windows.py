"""KPI windows: rolling 1d/7d/30d and calendar month/quarter/year to date in Asia/Ho_Chi_Minh time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from pydantic_core import TzInfo

from shared.kpi_catalogue import VIETNAM, WindowName

HOUR = timedelta(hours=1)
_VIETNAM_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh keeps UTC+7 all year (no DST since 1975)
_FIXED_ZONES = (timezone, TzInfo)
"""Zone types with one offset for every moment: the stdlib's, and pydantic's that event times are parsed with."""
_SHIFTS: dict[tzinfo | None, tuple[timedelta, timedelta] | None] = {UTC: (timedelta(0), _VIETNAM_OFFSET), None: None}
"""Per zone seen (up to `_MAX_ZONES`): (its offset, the shift from its wall time to Vietnam's) if it is a fixed
zone, else None. `utcoffset()` through pydantic's `TzInfo` costs as much as the rest of a day lookup, and both
run several times per event in the counting transaction."""
_MAX_ZONES = 64
_PARSED_UTC = TzInfo(0)
"""pydantic's zone of the event times it parses with a Z or +00:00 (one shared object): with asyncpg's `UTC`,
nearly every moment's, so both are tested for by identity before any lookup."""


def _shifts(moment: datetime) -> tuple[timedelta, timedelta] | None:
    """`_SHIFTS` of a moment's zone, learnt on first sight."""
    zone = moment.tzinfo
    try:
        return _SHIFTS[zone]
    except KeyError:
        offset = moment.utcoffset() if type(zone) in _FIXED_ZONES else None
        shifts = None if offset is None else (offset, _VIETNAM_OFFSET - offset)
        if len(_SHIFTS) < _MAX_ZONES:
            _SHIFTS[zone] = shifts
        return shifts
    except TypeError:  # an unhashable tzinfo
        return None


@dataclass(frozen=True, slots=True)
class WindowBounds:
    """Hourly buckets `first_bucket <= bucket <= last_bucket` (bucket = event time floored to the hour)."""

    name: WindowName
    first_bucket: datetime
    last_bucket: datetime


def bucket_of(moment: datetime) -> datetime:
    """The hourly bucket (UTC) an event time falls in; Vietnam is UTC+7 all year, so hours line up."""
    zone = moment.tzinfo
    if zone is _PARSED_UTC or (zone is UTC and not moment.fold):
        return datetime(moment.year, moment.month, moment.day, moment.hour, tzinfo=UTC)
    shifts = _shifts(moment)
    if shifts is None:
        return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    # A fixed zone: in UTC, the wall time less the offset. Built, not `replace`d: a keyword call costs twice as
    # much, once per event counted.
    utc = moment - shifts[0] if shifts[0] else moment
    bucket = datetime(utc.year, utc.month, utc.day, utc.hour, tzinfo=UTC)
    if moment.fold and zone is UTC:  # `astimezone` returns a UTC moment itself, `fold` and all
        return bucket.replace(fold=1)
    return bucket


def window_bounds(name: WindowName, *, now: datetime) -> WindowBounds:
    """Buckets of a window ending at now: rolling N days = the current hour and the 24N-1 before it."""
    last = bucket_of(now)
    rolling = {WindowName.D1: 1, WindowName.D7: 7, WindowName.D30: 30}
    if name in rolling:
        return WindowBounds(name, last - (24 * rolling[name] - 1) * HOUR, last)
    local = now.astimezone(VIETNAM)
    if name is WindowName.MTD:
        start = local.replace(day=1)
    elif name is WindowName.QTD:
        start = local.replace(month=3 * ((local.month - 1) // 3) + 1, day=1)
    else:
        start = local.replace(month=1, day=1)
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    return WindowBounds(name, start.astimezone(UTC), last)


def all_windows(*, now: datetime) -> list[WindowBounds]:
    """Bounds of every window at now."""
    return [window_bounds(name, now=now) for name in WindowName]


def vietnam_midnight(moment: datetime) -> datetime:
    """Midnight (Vietnam time) of the day a moment falls on."""
    return moment.astimezone(VIETNAM).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class WindowParts:
    """A window as whole Vietnam days (daily rollup) plus hour ranges for its partial days (hourly rollup).

    `hour_ranges` are half-open [start, end) bucket ranges; days are inclusive [first_day, last_day] or None.
    """

    first_day: date | None
    last_day: date | None
    hour_ranges: tuple[tuple[datetime, datetime], ...]


def day_start(day: date) -> datetime:
    """Vietnam midnight opening a day, in UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=VIETNAM).astimezone(UTC)


def vietnam_day(moment: datetime) -> date:
    """The Vietnam calendar day a moment (or an hourly bucket) falls on.

    By the fixed offset, not a zone lookup: this runs several times per event in the counting transaction, and
    `astimezone(ZoneInfo)` costs 2.5x as much (`tests/unit/test_metrics_core.py` checks both agree). In a
    fixed zone, shifting the wall time by (UTC+7 - the zone's offset) is the same day as converting to UTC first,
    at less than half the cost.
    """
    zone = moment.tzinfo
    if zone is UTC or zone is _PARSED_UTC:
        return (moment + _VIETNAM_OFFSET).date()
    shifts = _shifts(moment)
    if shifts is None:  # a zone with changing offsets, or naive (`astimezone` reads it as the machine's local time)
        return (moment.astimezone(UTC) + _VIETNAM_OFFSET).date()
    return (moment + shifts[1]).date()


def window_parts(bounds: WindowBounds) -> WindowParts:
    """Split a window so that every hour in it is read exactly once, from a day row or an hour row."""
    start, end = bounds.first_bucket, bounds.last_bucket + HOUR
    first_full = (
        vietnam_day(start) if day_start(vietnam_day(start)) == start else vietnam_day(start) + timedelta(days=1)
    )
    last_full = vietnam_day(end) - timedelta(days=1)  # the day containing `end` is partial (or starts at end)
    if first_full > last_full:
        return WindowParts(None, None, ((start, end),))
    ranges = []
    if start < day_start(first_full):
        ranges.append((start, day_start(first_full)))
    tail_start = day_start(last_full + timedelta(days=1))
    if tail_start < end:
        ranges.append((tail_start, end))
    return WindowParts(first_full, last_full, tuple(ranges))
