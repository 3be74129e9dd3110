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

from services.metrics.core.lifecycle import DossierState, is_paused, standing
from services.metrics.core.processing import bin_of
from services.metrics.core.windows import vietnam_day

ProcessingKey = tuple[date, str, str, int]
"""(completion day in Vietnam, unit, procedure, bin)."""


@dataclass(frozen=True, slots=True)
class Footprint:
    """One dossier's share of the aggregates."""

    unit_code: str
    in_progress: bool
    paused: bool
    running_due: datetime | None
    """The due time of a dossier in progress whose clock runs: it is overdue once this has passed."""
    processing: ProcessingKey | None


NOTHING = Footprint(unit_code="", in_progress=False, paused=False, running_due=None, processing=None)


def footprint(state: DossierState) -> Footprint:
    """Where a dossier counts: in progress, paused, in a due bucket, in a processing-time bin."""
    # `standing` inlined: this runs twice per changed dossier in the counting transaction.
    if state.received_at is None:
        return Footprint(unit_code=state.unit_code, in_progress=False, paused=False, running_due=None, processing=None)
    if state.completed_at is None:
        paused = is_paused(state)
        return Footprint(unit_code=state.unit_code, in_progress=True, paused=paused,
                         running_due=None if paused else state.due, processing=None)  # fmt: skip
    days = standing(state).processing_days
    day = vietnam_day(state.completed_at)
    processing = (day, state.unit_code, state.procedure_code, bin_of(days)) if days is not None else None
    return Footprint(unit_code=state.unit_code, in_progress=False, paused=False, running_due=None,
                     processing=processing)  # fmt: skip


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
    for before, after in changes:
        if before == after:
            continue
        for print_, sign in ((before, -1), (after, 1)):
            if print_.in_progress:
                row = units.setdefault(print_.unit_code, [0, 0])
                row[0] += sign
                row[1] += sign * print_.paused
            if print_.running_due is not None:
                key = (print_.unit_code, due_day(print_.running_due))
                due[key] = due.get(key, 0) + sign
            if print_.processing is not None:
                processing[print_.processing] = processing.get(print_.processing, 0) + sign
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
