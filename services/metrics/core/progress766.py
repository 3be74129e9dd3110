"""What one dossier's state adds to the Decision 766 progress figures per Vietnam day, kept by deltas.

For a period of days P = [P0, P1], over the dossiers received or processed in it:
    dossiers = in progress when P began (received before P0, not completed before P0) + started in P
    on time  = completed in P on time + in progress at the end of P1 and not yet due
A dossier *starts* on its reception day (its completion day if no reception is known) and *ends* on its
completion day. Completed on time = on or before its due day (day granularity) with the paused time added to the
due time, and at most one supplement request. "In progress and not yet due at the end of day D" holds for D in
one contiguous range of days, kept as +1 on its first day and -1 the day after its last, so any period's figure is
a prefix sum. Every figure is a function of the merged state, so event order does not matter, and the day rows
are exact for any range, closed or to date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from services.metrics.core.lifecycle import DossierState, pause_intervals
from services.metrics.core.windows import vietnam_day

_FOREVER = datetime.max.replace(tzinfo=UTC)
_ONE_DAY = timedelta(days=1)
_new = tuple.__new__
"""`_new(ProgressFootprint, (fields...))` is `ProgressFootprint(fields...)` without the generated `__new__`'s
frame: a third of the cost, twice per changed dossier and batch."""
MAX_SUPPLEMENTS_ON_TIME = 1
"""More supplement requests than this count as overdue (Decision 766 as the portal applies it)."""
PROGRESS_COLUMNS = ("started", "ended", "on_time", "within_due_delta")
"""The per-(unit, day) columns of `index766_days`, in order."""


class ProgressFootprint(NamedTuple):
    """One dossier's share of the day rows; `within_due` is (first day, last day or None for open-ended).

    A named tuple, not a dataclass: two are built and compared per changed dossier and batch, at a third of the
    cost.
    """

    unit_code: str
    start_day: date
    end_day: date | None
    on_time: bool
    within_due: tuple[date, date | None] | None


_day = vietnam_day


def progress_footprint(state: DossierState) -> ProgressFootprint | None:
    """Where a dossier counts in the progress figures (None before its reception or completion is known)."""
    received_at, completed_at = state.received_at, state.completed_at
    start = received_at if received_at is not None else completed_at
    if start is None:
        return None
    start_day = _day(start)
    compliant = state.supplements <= MAX_SUPPLEMENTS_ON_TIME
    due = state.due_at if state.due_at is not None else state.completion_due_at  # `state.due`, inlined
    if due is not None and state.pauses:  # most dossiers never pause: no interval walk for them
        due = working_due(state, due=due, until=completed_at)
    due_day = None if due is None else _day(due)
    if completed_at is not None:
        end_day = start_day if completed_at is start else _day(completed_at)
        # GUESS: a dossier without a due time can't be late (no deadline); the portal's rule is not published.
        on_time = compliant and (due_day is None or end_day <= due_day)
        last = end_day - _ONE_DAY
        if due_day is not None and due_day < last:
            last = due_day
        within: tuple[date, date | None] | None
        within = (start_day, last) if received_at is not None and compliant and last >= start_day else None
        return _new(ProgressFootprint, (state.unit_code, start_day, end_day, on_time, within))
    if not compliant:
        return _new(ProgressFootprint, (state.unit_code, start_day, None, False, None))
    within = (start_day, due_day) if due_day is None or due_day >= start_day else None
    return _new(ProgressFootprint, (state.unit_code, start_day, None, False, within))


def working_due(state: DossierState, *, due: datetime, until: datetime | None) -> datetime | None:
    """When the dossier's working time (elapsed minus paused) reaches its due time; None: not while a pause lasts.

    Only pauses that begin before that moment move it: a dossier already overdue when paused stays overdue.
    """
    moment = due
    for start, end in pause_intervals(state, until=_FOREVER if until is None else until):
        if start >= moment:
            break
        if end == _FOREVER:
            return None
        moment += end - start
    return moment


def day_deltas(
    changes: Iterable[tuple[ProgressFootprint | None, ProgressFootprint | None]],
) -> dict[tuple[str, date], list[int]]:
    """Sum (after - before) over changed dossiers: (unit, day) → `PROGRESS_COLUMNS` deltas, zero rows dropped.

    Per changed dossier and batch, in the worker the counting transaction waits for: what before and after share
    (most often the start day, and the first day within due) is not added and taken back.
    """
    rows: dict[tuple[str, date], list[int]] = {}
    for before, after in changes:
        if before == after:
            continue
        if before is None or after is None or before.unit_code != after.unit_code:
            if before is not None:
                _add_footprint(rows, before, -1)
            if after is not None:
                _add_footprint(rows, after, 1)
            continue
        unit = after.unit_code
        if before.start_day != after.start_day:
            rows.setdefault((unit, before.start_day), [0, 0, 0, 0])[0] -= 1
            rows.setdefault((unit, after.start_day), [0, 0, 0, 0])[0] += 1
        if before.end_day != after.end_day or before.on_time != after.on_time:
            _add_end(rows, before, -1)
            _add_end(rows, after, 1)
        was, now = before.within_due, after.within_due
        if was != now:
            if was is None or now is None:
                _add_within(rows, unit, was, -1)
                _add_within(rows, unit, now, 1)
            else:
                if was[0] != now[0]:
                    rows.setdefault((unit, was[0]), [0, 0, 0, 0])[3] -= 1
                    rows.setdefault((unit, now[0]), [0, 0, 0, 0])[3] += 1
                if was[1] != now[1]:
                    _add_within_end(rows, unit, was[1], -1)
                    _add_within_end(rows, unit, now[1], 1)
    return {key: values for key, values in rows.items() if any(values)}


_Rows = dict[tuple[str, date], list[int]]


def _add_footprint(rows: _Rows, print_: ProgressFootprint, sign: int) -> None:
    rows.setdefault((print_.unit_code, print_.start_day), [0, 0, 0, 0])[0] += sign
    _add_end(rows, print_, sign)
    _add_within(rows, print_.unit_code, print_.within_due, sign)


def _add_end(rows: _Rows, print_: ProgressFootprint, sign: int) -> None:
    if print_.end_day is not None:
        row = rows.setdefault((print_.unit_code, print_.end_day), [0, 0, 0, 0])
        row[1] += sign
        if print_.on_time:
            row[2] += sign


def _add_within(rows: _Rows, unit: str, within: tuple[date, date | None] | None, sign: int) -> None:
    if within is not None:
        rows.setdefault((unit, within[0]), [0, 0, 0, 0])[3] += sign
        _add_within_end(rows, unit, within[1], sign)


def _add_within_end(rows: _Rows, unit: str, last: date | None, sign: int) -> None:
    """Within due ends the day after `last` (open-ended: never)."""
    if last is not None:
        rows.setdefault((unit, last + _ONE_DAY), [0, 0, 0, 0])[3] -= sign


@dataclass(frozen=True, slots=True)
class ProgressFigures:
    """A unit's progress inputs over a period (its own dossiers, or rolled up)."""

    dossiers: int = 0
    on_time: int = 0

    def __add__(self, other: ProgressFigures) -> ProgressFigures:
        return ProgressFigures(self.dossiers + other.dossiers, self.on_time + other.on_time)


def progress_figures(*, carried: int, started: int, completed_on_time: int, within_due: int) -> ProgressFigures:
    """From the day rows' sums: in progress at the start + started in P; completed on time + not yet due at the end."""
    return ProgressFigures(dossiers=carried + started, on_time=completed_on_time + within_due)
