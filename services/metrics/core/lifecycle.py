"""One dossier's lifecycle as the set of facts its events state, and what follows from them.

A dossier's events arrive in any order and more than once (duplicates are dropped upstream by event id). So the
state is a *merge* of facts: applying the same events in any order gives the same state (`merge` is commutative
and, per event, idempotent), and every live figure (in progress, paused, overdue) and the processing time are
functions of that state, never of arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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

_NEVER = datetime.min.replace(tzinfo=UTC)


def _order(moment: datetime | None) -> tuple[bool, datetime]:
    """A moment as a sort key in which "none" comes first (a cheap, total order for tie-breaks)."""
    return (moment is not None, moment if moment is not None else _NEVER)


def new_state(event: Event) -> DossierState:
    """The empty state of the dossier an event is about."""
    return DossierState(dossier_id=getattr(event, "dossier_id", ""), unit_code="", procedure_code="")


_BLANK = DossierState(dossier_id="", unit_code="", procedure_code="")


def merge(state: DossierState, event: Event) -> DossierState:
    """The state with one more event's facts; merging the same events in any order gives the same state."""
    return merge_all(state, (event,))


def merge_all(state: DossierState, events: Iterable[Event]) -> DossierState:
    """The state with several more events' facts (as `merge` one by one); `state` itself if they add nothing."""
    merged = _merged(state, state.dossier_id, events)
    return state if merged is None else merged


def merge_new(events: Sequence[Event]) -> DossierState:
    """`merge_all(new_state(events[0]), events)`, without building the empty state first: a batch starts a new
    dossier per reception it holds."""
    first = events[0]
    merged = _merged(_BLANK, getattr(first, "dossier_id", ""), events)
    return new_state(first) if merged is None else merged


def _merged(state: DossierState, dossier_id: str, events: Iterable[Event]) -> DossierState | None:
    """The state (named `dossier_id`) with the events' facts; None if they add nothing.

    One function over local variables, not an object merged into: this runs per changed dossier and batch, in the
    worker the counting transaction waits for, and a local costs a fraction of an attribute.
    """
    unit, procedure = state.unit_code, state.procedure_code
    received_at, due_at, fee_bearing = state.received_at, state.due_at, state.fee_bearing
    completed_at, outcome, completion_due_at = state.completed_at, state.outcome, state.completion_due_at
    pauses, resumes, supplements = state.pauses, state.resumes, state.supplements
    paid_at, channel = state.paid_at, state.payment_channel
    changed = False
    naming: DossierCompleted | DossierPaused | DossierResumed | DossierPaid
    # Tie-break keys are built only when a fact is already held: most events state theirs first. Exact-type tests,
    # not `match`: isinstance on pydantic models goes through ABCMeta, per event and type.
    for event in events:
        if type(event) is DossierReceived:
            if received_at is None or not (received_at, unit, procedure, _order(due_at), str(fee_bearing)) <= (
                    event.occurred_at, event.unit_code, event.procedure_code, _order(event.due_at),
                    str(event.fee_bearing)):  # fmt: skip
                received_at, unit, procedure = event.occurred_at, event.unit_code, event.procedure_code
                due_at, fee_bearing, changed = event.due_at, event.fee_bearing, True
            continue
        if type(event) is DossierCompleted:
            naming = event
            if completed_at is None or not (completed_at, outcome or "", _order(completion_due_at)) <= (
                    event.occurred_at, event.outcome.value, _order(event.due_at)):  # fmt: skip
                completed_at, outcome, completion_due_at = event.occurred_at, event.outcome.value, event.due_at
                changed = True
        elif type(event) is DossierPaused:
            naming = event
            pauses = (*pauses, event.occurred_at)  # the stored tuples until a moment is added: re-sorted below
            supplements += event.reason is PauseReason.SUPPLEMENT
            changed = True
        elif type(event) is DossierResumed:
            naming = event
            resumes = (*resumes, event.occurred_at)
            changed = True
        elif type(event) is DossierPaid:
            naming = event
            if paid_at is None or not (paid_at, channel or "") <= (event.occurred_at, event.channel.value):
                paid_at, channel, changed = event.occurred_at, event.channel.value, True
        else:
            continue  # a rating states no lifecycle fact
        if received_at is None:
            named = _least_names(unit, procedure, naming)
            if named != (unit, procedure):
                (unit, procedure), changed = named, True
    # Positional, in field order: keywords cost a tenth more.
    return DossierState(
        dossier_id, unit, procedure, received_at is not None, received_at, due_at, fee_bearing, completed_at,
        outcome, completion_due_at, pauses if pauses is state.pauses else tuple(sorted(pauses)),
        resumes if resumes is state.resumes else tuple(sorted(resumes)), supplements, paid_at, channel,
    ) if changed else None  # fmt: skip


def _least_names(
    unit: str, procedure: str, event: DossierCompleted | DossierPaused | DossierResumed | DossierPaid
) -> tuple[str, str]:
    """Before the reception is known, the smallest unit and procedure any event named."""
    return (min(unit, event.unit_code) if unit else event.unit_code,
            min(procedure, event.procedure_code) if procedure else event.procedure_code)  # fmt: skip


def pause_intervals(state: DossierState, *, until: datetime) -> list[tuple[datetime, datetime]]:
    """Each pause with the first resumption after it (or `until` if none yet); overlapping pauses merge."""
    intervals: list[tuple[datetime, datetime]] = []
    resumes = state.resumes
    last_end = None
    for pause in state.pauses:
        if last_end is not None and pause < last_end:
            continue  # a pause while already paused (a second request) extends nothing
        end = until
        for resume in resumes:  # a loop, not next(genexpr): this runs per paused dossier and batch
            if resume >= pause:
                end = resume
                break
        # max(pause, min(end, until)) spelled out, ties resolved as min/max do (the first argument)
        end = until if until < end else end
        last_end = end if end > pause else pause
        intervals.append((pause, last_end))
    return intervals


def paused_time(state: DossierState, *, until: datetime) -> timedelta:
    """How long the clock stood still before `until`."""
    total = timedelta()
    for start, end in pause_intervals(state, until=until):
        total += end - start
    return total


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
