"""The alert state machine: inactive → pending → firing → resolved, per (rule, subject), driven by readings and time.

`evaluate` is pure: the same state, reading and time always give the same result, so replaying a snapshot or
running the timer twice changes nothing. Notifications are planned here too, so "exactly once per episode"
is a property of this module, not of the I/O around it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from services.alerts.core.conditions import Condition, Reading, assess
from services.alerts.core.rules import AnyRule
from shared.alert_changes import AlertStatus

ACTIVE = frozenset({AlertStatus.PENDING, AlertStatus.FIRING})


class NoticeKind(StrEnum):
    """Why a notification is sent."""

    FIRING = "firing"
    REPEAT = "repeat"
    RESOLVED = "resolved"


def alert_id_of(rule: str, subject: str) -> str:
    """The alert's identity: its rule and the unit or source it is about."""
    return f"{rule}/{subject}"


@dataclass(frozen=True, slots=True)
class AlertState:
    """One alert as stored. `version` 0 means it has no row yet."""

    rule: str
    subject: str
    status: AlertStatus = AlertStatus.INACTIVE
    since: datetime | None = None
    fired_at: datetime | None = None
    episode: int = 0
    reading: Reading | None = None
    last_notified_at: datetime | None = None
    notified_count: int = 0
    version: int = 0

    @property
    def alert_id(self) -> str:
        return alert_id_of(self.rule, self.subject)


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of status."""

    from_status: AlertStatus
    to_status: AlertStatus
    at: datetime


@dataclass(frozen=True, slots=True)
class Notice:
    """A notification to send; (episode, kind, sequence) makes its id stable."""

    kind: NoticeKind
    episode: int
    sequence: int
    at: datetime


class Evaluation(NamedTuple):
    """What one evaluation produced."""

    state: AlertState
    transitions: list[Transition]
    notices: list[Notice]


def evaluate(
    state: AlertState,
    reading: Reading | None,
    rule: AnyRule,
    *,
    now: datetime,
    repeat_interval: timedelta,
    silenced: bool = False,
) -> Evaluation:
    """Advance one alert. `reading` None (timer) re-uses the last reading; an older reading than it is ignored.

    Pending fires once the breach has lasted `for`; no data leaves pending and firing alerts as they are; a
    firing alert clears only past the recovery margin. A silence mutes firing and repeat notices (the first one
    goes out when the silence ends, if still firing); a resolution is notified iff the firing was.
    """
    if reading is None or (state.reading is not None and reading.observed_at < state.reading.observed_at):
        reading = state.reading
    condition = assess(rule, reading)
    machine = _Machine(replace(state, reading=reading), now)
    if machine.state.status in (AlertStatus.INACTIVE, AlertStatus.RESOLVED) and condition is Condition.BREACH:
        machine.move(AlertStatus.PENDING)
    if machine.state.status is AlertStatus.PENDING:
        if condition in (Condition.HOLD, Condition.CLEAR):
            machine.move(AlertStatus.INACTIVE)
        elif condition is Condition.BREACH and now - _since(machine.state, now) >= rule.for_:
            machine.fire()
    elif machine.state.status is AlertStatus.FIRING and condition is Condition.CLEAR:
        machine.resolve()
    if machine.state.status is AlertStatus.FIRING and not silenced:
        machine.remind(repeat_interval)
    return Evaluation(machine.state, machine.transitions, machine.notices)


def retire(state: AlertState, *, now: datetime) -> Evaluation:
    """The rule is gone: resolve a firing alert (notified iff its firing was), drop a pending one."""
    machine = _Machine(state, now)
    if state.status is AlertStatus.FIRING:
        machine.resolve()
    elif state.status is AlertStatus.PENDING:
        machine.move(AlertStatus.INACTIVE)
    return Evaluation(machine.state, machine.transitions, machine.notices)


def _since(state: AlertState, now: datetime) -> datetime:
    return state.since if state.since is not None else now


class _Machine:
    """Accumulates the transitions and notices of one evaluation."""

    def __init__(self, state: AlertState, now: datetime) -> None:
        self.state = state
        self.now = now
        self.transitions: list[Transition] = []
        self.notices: list[Notice] = []

    def move(self, status: AlertStatus) -> None:
        self.transitions.append(Transition(self.state.status, status, self.now))
        self.state = replace(self.state, status=status, since=self.now)

    def fire(self) -> None:
        self.move(AlertStatus.FIRING)
        self.state = replace(
            self.state, fired_at=self.now, episode=self.state.episode + 1, last_notified_at=None, notified_count=0
        )

    def resolve(self) -> None:
        notified = self.state.last_notified_at is not None
        self.move(AlertStatus.RESOLVED)
        if notified:
            self._notice(NoticeKind.RESOLVED)

    def remind(self, repeat_interval: timedelta) -> None:
        last = self.state.last_notified_at
        if last is None:
            self._notice(NoticeKind.FIRING)
        elif self.now - last >= repeat_interval:
            self._notice(NoticeKind.REPEAT)

    def _notice(self, kind: NoticeKind) -> None:
        self.notices.append(Notice(kind, self.state.episode, self.state.notified_count, self.now))
        self.state = replace(self.state, last_notified_at=self.now, notified_count=self.state.notified_count + 1)
