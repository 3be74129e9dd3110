"""One dossier's lifecycle as the set of facts its events state, and what follows from them.

A dossier's events arrive in any order and more than once (duplicates are dropped upstream by event id). So the
state is a *merge* of facts: applying the same events in any order gives the same state (`merge` is commutative
and, per event, idempotent), and every live figure (in progress, paused, overdue) and the processing time are
functions of that state, never of arrival order.
"""

from __future__ import annotations

from collections.abc import Iterable
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


def merge(state: DossierState, event: Event) -> DossierState:
    """The state with one more event's facts; merging the same events in any order gives the same state."""
    return merge_all(state, (event,))


def merge_all(state: DossierState, events: Iterable[Event]) -> DossierState:
    """The state with several more events' facts (as `merge` one by one); `state` itself if they add nothing."""
    draft = _Draft(state)
    for event in events:
        draft.add(event)
    return draft.result()


class _Draft:
    """A state being merged into in place: one frozen state per dossier and batch, not one per event."""

    __slots__ = ("changed", "completed_at", "completion_due_at", "due_at", "fee_bearing", "origin", "outcome",
                 "paid_at", "pauses", "payment_channel", "procedure_code", "received_at", "resumes", "supplements",
                 "unit_code")  # fmt: skip

    def __init__(self, state: DossierState) -> None:
        self.origin, self.changed = state, False
        self.unit_code, self.procedure_code = state.unit_code, state.procedure_code
        self.received_at, self.due_at, self.fee_bearing = state.received_at, state.due_at, state.fee_bearing
        self.completed_at, self.outcome = state.completed_at, state.outcome
        self.completion_due_at = state.completion_due_at
        self.pauses, self.resumes, self.supplements = list(state.pauses), list(state.resumes), state.supplements
        self.paid_at, self.payment_channel = state.paid_at, state.payment_channel

    def add(self, event: Event) -> None:
        # Exact-type tests, not `match`: isinstance on pydantic models goes through ABCMeta, per event and type.
        if type(event) is DossierReceived:
            self._received(event)
        elif type(event) is DossierCompleted:
            self._completed(event)
            self._named_by(event)
        elif type(event) is DossierPaused:
            self.pauses.append(event.occurred_at)
            self.supplements += event.reason is PauseReason.SUPPLEMENT
            self.changed = True
            self._named_by(event)
        elif type(event) is DossierResumed:
            self.resumes.append(event.occurred_at)
            self.changed = True
            self._named_by(event)
        elif type(event) is DossierPaid:
            self._paid(event)
            self._named_by(event)

    def _received(self, event: DossierReceived) -> None:
        mine = (event.occurred_at, event.unit_code, event.procedure_code, _order(event.due_at), str(event.fee_bearing))
        if self.received_at is not None:
            held = (self.received_at, self.unit_code, self.procedure_code, _order(self.due_at), str(self.fee_bearing))
            if held <= mine:
                return
        self.received_at, self.unit_code, self.procedure_code = event.occurred_at, event.unit_code, event.procedure_code
        self.due_at, self.fee_bearing, self.changed = event.due_at, event.fee_bearing, True

    def _completed(self, event: DossierCompleted) -> None:
        mine = (event.occurred_at, event.outcome.value, _order(event.due_at))
        if self.completed_at is not None and (self.completed_at, self.outcome or "",
                                              _order(self.completion_due_at)) <= mine:  # fmt: skip
            return
        self.completed_at, self.outcome, self.completion_due_at = event.occurred_at, event.outcome.value, event.due_at
        self.changed = True

    def _paid(self, event: DossierPaid) -> None:
        mine = (event.occurred_at, event.channel.value)
        if self.paid_at is not None and (self.paid_at, self.payment_channel or "") <= mine:
            return
        self.paid_at, self.payment_channel, self.changed = event.occurred_at, event.channel.value, True

    def _named_by(self, event: DossierCompleted | DossierPaused | DossierResumed | DossierPaid) -> None:
        """Before the reception is known, the smallest unit and procedure any event named."""
        if self.received_at is not None:
            return
        unit = min(self.unit_code, event.unit_code) if self.unit_code else event.unit_code
        procedure = min(self.procedure_code, event.procedure_code) if self.procedure_code else event.procedure_code
        if (unit, procedure) != (self.unit_code, self.procedure_code):
            self.unit_code, self.procedure_code, self.changed = unit, procedure, True

    def result(self) -> DossierState:
        if not self.changed:
            return self.origin
        return DossierState(
            dossier_id=self.origin.dossier_id, unit_code=self.unit_code, procedure_code=self.procedure_code,
            received=self.received_at is not None, received_at=self.received_at, due_at=self.due_at,
            fee_bearing=self.fee_bearing, completed_at=self.completed_at, outcome=self.outcome,
            completion_due_at=self.completion_due_at, pauses=tuple(sorted(self.pauses)),
            resumes=tuple(sorted(self.resumes)), supplements=self.supplements, paid_at=self.paid_at,
            payment_channel=self.payment_channel,
        )  # fmt: skip


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
