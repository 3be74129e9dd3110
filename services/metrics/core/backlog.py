"""What one dossier's state adds to the per-unit aggregates kept beside it, as deltas between two states.

The aggregates are sums over dossiers, so a batch only adds (new footprint - old footprint) of the dossiers it
touched: live figures never scan the dossiers. A dossier in progress with its clock running and a due time sits
in the bucket of its due hour; overdue at `now` = those of the buckets wholly before now, plus the exact count of
the current hour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from services.metrics.core.lifecycle import DAY, DossierState, paused_time
from services.metrics.core.processing import bin_of
from services.metrics.core.windows import vietnam_day

ProcessingKey = tuple[date, str, str, int]
"""(completion day in Vietnam, unit, procedure, bin)."""


class Footprint(NamedTuple):
    """One dossier's share of the aggregates.

    A named tuple, not a dataclass: two are built and compared per changed dossier and batch, at a third of the
    cost.
    """

    unit_code: str
    in_progress: bool
    paused: bool
    running_due: datetime | None
    """The due time of a dossier in progress whose clock runs: it is overdue once this has passed."""
    processing: ProcessingKey | None


NOTHING = Footprint(unit_code="", in_progress=False, paused=False, running_due=None, processing=None)
_new = tuple.__new__
"""`_new(Footprint, (fields...))` is `Footprint(fields...)` without the generated `__new__`'s frame: a third
of the cost, twice per changed dossier and batch."""


def footprint(state: DossierState) -> Footprint:
    """Where a dossier counts: in progress, paused, in a due bucket, in a processing-time bin."""
    # `standing` and `is_paused` inlined (positional fields): this runs twice per changed dossier and batch.
    received_at, completed_at = state.received_at, state.completed_at
    if received_at is None:
        return _new(Footprint, (state.unit_code, False, False, None, None))
    if completed_at is None:
        pauses = state.pauses
        paused = bool(pauses) and (not state.resumes or state.resumes[-1] < pauses[-1])
        if paused:
            return _new(Footprint, (state.unit_code, True, True, None, None))
        return _new(Footprint, (state.unit_code, True, False, state.due_at if state.due_at is not None
                                else state.completion_due_at, None))  # fmt: skip
    elapsed = completed_at - received_at
    if state.pauses:  # most dossiers never pause
        elapsed -= paused_time(state, until=completed_at)
    days = max(0.0, elapsed / DAY)
    return _new(Footprint, (state.unit_code, False, False, None, (vietnam_day(completed_at), state.unit_code,
                                                                 state.procedure_code, bin_of(days))))  # fmt: skip


due_day = vietnam_day
"""The Vietnam day a due time falls on: its bucket in backlog_due."""


@dataclass(slots=True)
class Deltas:
    """What a batch adds to each aggregate (zero entries dropped)."""

    units: dict[str, list[int]]
    """unit → [in_progress, paused]."""
    due: dict[tuple[str, date], int]
    """(unit, due day in Vietnam) → running dossiers."""
    processing: dict[ProcessingKey, int]


def deltas(changes: Iterable[tuple[Footprint, Footprint]]) -> Deltas:
    """Sum (after - before) over the dossiers a batch changed."""
    units: dict[str, list[int]] = {}
    due: dict[tuple[str, date], int] = {}
    processing: dict[ProcessingKey, int] = {}
    # Unrolled over (before, -1) and (after, +1), and what the two share is not added and taken back: per changed
    # dossier and batch, in the worker the counting transaction waits for.
    for before, after in changes:
        if before == after:
            continue
        same_unit = before.unit_code == after.unit_code
        if before.in_progress != after.in_progress or before.paused != after.paused or not same_unit:
            if before.in_progress:
                row = units.setdefault(before.unit_code, [0, 0])
                row[0] -= 1
                row[1] -= before.paused
            if after.in_progress:
                row = units.setdefault(after.unit_code, [0, 0])
                row[0] += 1
                row[1] += after.paused
        if before.running_due != after.running_due or not same_unit:
            if before.running_due is not None:
                key = (before.unit_code, due_day(before.running_due))
                due[key] = due.get(key, 0) - 1
            if after.running_due is not None:
                key = (after.unit_code, due_day(after.running_due))
                due[key] = due.get(key, 0) + 1
        if before.processing != after.processing:
            if before.processing is not None:
                processing[before.processing] = processing.get(before.processing, 0) - 1
            if after.processing is not None:
                processing[after.processing] = processing.get(after.processing, 0) + 1
    return Deltas(
        units={u: v for u, v in units.items() if any(v)},
        due={k: v for k, v in due.items() if v},
        processing={k: v for k, v in processing.items() if v},
    )


@dataclass(frozen=True, slots=True)
class Backlog:
    """Live figures of one unit (its own dossiers, or rolled up)."""

    in_progress: int = 0
    overdue: int = 0
    paused: int = 0

    def __add__(self, other: Backlog) -> Backlog:
        return Backlog(self.in_progress + other.in_progress, self.overdue + other.overdue, self.paused + other.paused)


def roll_up_backlog(per_unit: Mapping[str, Backlog], ancestors: Mapping[str, list[str]]) -> dict[str, Backlog]:
    """Each unit's figures added to itself and its ancestors; a unit missing from the tree counts as itself."""
    totals: dict[str, Backlog] = {}
    for unit, figures in per_unit.items():
        for target in ancestors.get(unit, [unit]):
            totals[target] = totals.get(target, Backlog()) + figures
    return totals
