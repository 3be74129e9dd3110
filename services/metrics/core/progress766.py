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

from services.metrics.core.lifecycle import DossierState, pause_intervals
from services.metrics.core.windows import vietnam_day

_FOREVER = datetime.max.replace(tzinfo=UTC)
MAX_SUPPLEMENTS_ON_TIME = 1
"""More supplement requests than this count as overdue (Decision 766 as the portal applies it)."""
PROGRESS_COLUMNS = ("started", "ended", "on_time", "within_due_delta")
"""The per-(unit, day) columns of `index766_days`, in order."""


@dataclass(frozen=True, slots=True)
class ProgressFootprint:
    """One dossier's share of the day rows; `within_due` is (first day, last day or None for open-ended)."""

    unit_code: str
    start_day: date
    end_day: date | None
    on_time: bool
    within_due: tuple[date, date | None] | None


_day = vietnam_day


def progress_footprint(state: DossierState) -> ProgressFootprint | None:
    """Where a dossier counts in the progress figures (None before its reception or completion is known)."""
    start = state.received_at if state.received_at is not None else state.completed_at
    if start is None:
        return None
    start_day = _day(start)
    compliant = state.supplements <= MAX_SUPPLEMENTS_ON_TIME
    due = state.due
    if due is not None and state.pauses:  # most dossiers never pause: no interval walk for them
        due = working_due(state, due=due, until=state.completed_at)
    due_day = None if due is None else _day(due)
    if state.completed_at is not None:
        end_day = _day(state.completed_at)
        # GUESS: a dossier without a due time can't be late (no deadline); the portal's rule is not published.
        on_time = compliant and (due_day is None or end_day <= due_day)
        last = end_day - timedelta(days=1) if due_day is None else min(end_day - timedelta(days=1), due_day)
        within: tuple[date, date | None] | None
        within = (start_day, last) if state.received_at is not None and compliant and last >= start_day else None
        return ProgressFootprint(state.unit_code, start_day, end_day, on_time, within)
    if not compliant:
        return ProgressFootprint(state.unit_code, start_day, None, False, None)
    within = (start_day, due_day) if due_day is None or due_day >= start_day else None
    return ProgressFootprint(state.unit_code, start_day, None, False, within)


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
    """Sum (after - before) over changed dossiers: (unit, day) → `PROGRESS_COLUMNS` deltas, zero rows dropped."""
    rows: dict[tuple[str, date], list[int]] = {}

    def add(unit: str, day: date, column: int, value: int) -> None:
        rows.setdefault((unit, day), [0, 0, 0, 0])[column] += value

    for before, after in changes:
        if before == after:
            continue
        for print_, sign in ((before, -1), (after, 1)):
            if print_ is None:
                continue
            add(print_.unit_code, print_.start_day, 0, sign)
            if print_.end_day is not None:
                add(print_.unit_code, print_.end_day, 1, sign)
                if print_.on_time:
                    add(print_.unit_code, print_.end_day, 2, sign)
            if print_.within_due is not None:
                first, last = print_.within_due
                add(print_.unit_code, first, 3, sign)
                if last is not None:
                    add(print_.unit_code, last + timedelta(days=1), 3, -sign)
    return {key: values for key, values in rows.items() if any(values)}


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
