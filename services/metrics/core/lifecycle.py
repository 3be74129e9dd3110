"""One dossier's lifecycle as the set of facts its events state, and what follows from them.

A dossier's events arrive in any order and more than once (duplicates are dropped upstream by event id). So the
state is a *merge* of facts: applying the same events in any order gives the same state (`merge` is commutative
and, per event, idempotent), and every live figure (in progress, paused, overdue) and the processing time are
functions of that state, never of arrival order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.events import (
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierReceived,
    DossierResumed,
    Event,
    PauseReason,
)

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class DossierState:
    """What a dossier's events have said so far.

    Where events disagree, a fixed order over their facts picks one (the earliest reception, completion and
    payment win; ties by value), so the result never depends on which arrived first. The unit and procedure are
    the reception's; until it arrives, the smallest any other event named. Pauses and resumptions are kept as
    sorted moments, so a late or replayed one lands where it belongs.
    """

    dossier_id: str
    unit_code: str
    procedure_code: str
    received: bool = False
    received_at: datetime | None = None
    due_at: datetime | None = None
    """The reception's due time, else the completion's."""
    fee_bearing: bool | None = None
    completed_at: datetime | None = None
    outcome: str | None = None
    completion_due_at: datetime | None = None
    pauses: tuple[datetime, ...] = ()
    resumes: tuple[datetime, ...] = ()
    supplements: int = 0
    paid_at: datetime | None = None
    payment_channel: str | None = None

    @property
    def due(self) -> datetime | None:
        """The due time that counts: the reception's, else the completion's."""
        return self.due_at if self.due_at is not None else self.completion_due_at


LIFECYCLE_TYPES = frozenset({"dossier.received", "dossier.paused", "dossier.resumed", "dossier.paid",
                             "dossier.completed"})  # fmt: skip
"""Event types that change a dossier's state (ratings don't)."""

_NEVER = ""


def _order(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else _NEVER


def new_state(event: Event) -> DossierState:
    """The empty state of the dossier an event is about."""
    return DossierState(dossier_id=getattr(event, "dossier_id", ""), unit_code="", procedure_code="")


def merge(state: DossierState, event: Event) -> DossierState:
    """The state with one more event's facts; merging the same events in any order gives the same state."""
    match event:
        case DossierReceived():
            return _received(state, event)
        case DossierCompleted():
            return _named_by(_completed(state, event), event)
        case DossierPaused():
            supplements = state.supplements + (event.reason is PauseReason.SUPPLEMENT)
            paused = replace(state, pauses=tuple(sorted((*state.pauses, event.occurred_at))), supplements=supplements)
            return _named_by(paused, event)
        case DossierResumed():
            return _named_by(replace(state, resumes=tuple(sorted((*state.resumes, event.occurred_at)))), event)
        case DossierPaid():
            return _named_by(_paid(state, event), event)
        case _:
            return state


def _received(state: DossierState, event: DossierReceived) -> DossierState:
    mine = (event.occurred_at, event.unit_code, event.procedure_code, _order(event.due_at), str(event.fee_bearing))
    if state.received and state.received_at is not None:
        held = (state.received_at, state.unit_code, state.procedure_code, _order(state.due_at),
                str(state.fee_bearing))  # fmt: skip
        if held <= mine:
            return state
    return replace(state, received=True, received_at=event.occurred_at, unit_code=event.unit_code,
                   procedure_code=event.procedure_code, due_at=event.due_at, fee_bearing=event.fee_bearing)  # fmt: skip


def _completed(state: DossierState, event: DossierCompleted) -> DossierState:
    mine = (event.occurred_at, event.outcome.value, _order(event.due_at))
    if (
        state.completed_at is not None
        and (state.completed_at, state.outcome or "", _order(state.completion_due_at)) <= mine
    ):
        return state
    return replace(state, completed_at=event.occurred_at, outcome=event.outcome.value, completion_due_at=event.due_at)


def _paid(state: DossierState, event: DossierPaid) -> DossierState:
    mine = (event.occurred_at, event.channel.value)
    if state.paid_at is not None and (state.paid_at, state.payment_channel or "") <= mine:
        return state
    return replace(state, paid_at=event.occurred_at, payment_channel=event.channel.value)


def _named_by(
    state: DossierState, event: DossierCompleted | DossierPaused | DossierResumed | DossierPaid
) -> DossierState:
    """Before the reception is known, the smallest unit and procedure any event named."""
    if state.received:
        return state
    unit = min(state.unit_code, event.unit_code) if state.unit_code else event.unit_code
    procedure = min(state.procedure_code, event.procedure_code) if state.procedure_code else event.procedure_code
    return replace(state, unit_code=unit, procedure_code=procedure)


def pause_intervals(state: DossierState, *, until: datetime) -> list[tuple[datetime, datetime]]:
    """Each pause with the first resumption after it (or `until` if none yet); overlapping pauses merge."""
    intervals: list[tuple[datetime, datetime]] = []
    resumes = list(state.resumes)
    for pause in state.pauses:
        if intervals and pause < intervals[-1][1]:
            continue  # a pause while already paused (a second request) extends nothing
        end = next((r for r in resumes if r >= pause), until)
        intervals.append((pause, max(pause, min(end, until))))
    return intervals


def paused_time(state: DossierState, *, until: datetime) -> timedelta:
    """How long the clock stood still before `until`."""
    return sum((end - start for start, end in pause_intervals(state, until=until)), timedelta())


def is_paused(state: DossierState) -> bool:
    """Whether the clock is stopped now: the latest pause has no resumption after it."""
    return bool(state.pauses) and (not state.resumes or state.resumes[-1] < state.pauses[-1])


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a dossier stands, as the live figures count it."""

    in_progress: bool
    paused: bool
    due: datetime | None
    processing_days: float | None
    """Received → completed, paused time deducted; None until both ends are known."""


def standing(state: DossierState) -> Standing:
    """A dossier is in progress once received and until completed; processing time once both are known."""
    in_progress = state.received_at is not None and state.completed_at is None
    days = None
    if state.received_at is not None and state.completed_at is not None:
        elapsed = state.completed_at - state.received_at - paused_time(state, until=state.completed_at)
        days = max(0.0, elapsed / DAY)
    return Standing(in_progress=in_progress, paused=in_progress and is_paused(state), due=state.due,
                    processing_days=days)  # fmt: skip


def is_overdue(state: DossierState, *, now: datetime) -> bool:
    """In progress, not paused (its clock stands still), and past its due time."""
    position = standing(state)
    return position.in_progress and not position.paused and position.due is not None and position.due < now
