"""What leaves the service: notifications to receivers and state changes to `civicpulse.alerts`, with stable ids."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.alerts.core.state import AlertState, Notice, NoticeKind, Transition
from shared.alert_changes import AlertChange

NAMESPACE = uuid.UUID("6b1c3f0e-5d0a-4c8e-9a57-2f1e7c9d4a10")
"""uuid5 namespace of notification and change ids: the same alert, episode and kind always give the same id."""


def notification_id(alert_id: str, *, episode: int, kind: NoticeKind, sequence: int) -> uuid.UUID:
    """The stable id a receiver de-duplicates on."""
    return uuid.uuid5(NAMESPACE, f"{alert_id}|{episode}|{kind.value}|{sequence}")


def change_id(alert_id: str, *, episode: int, transition: Transition) -> uuid.UUID:
    """The stable id of a state change message."""
    key = f"{alert_id}|{episode}|{transition.from_status}>{transition.to_status}|{transition.at.isoformat()}"
    return uuid.uuid5(NAMESPACE, key)


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert as stored and shown: its state, severity, labels, rendered annotations and target."""

    state: AlertState
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    target: float | None


class AlertNotification(BaseModel):
    """A notification: the generic webhook's JSON body, and what every other receiver formats."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: NoticeKind
    status: Literal["firing", "resolved"]
    alert_id: str
    rule: str
    subject: str
    severity: str
    episode: int
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    target: float | None
    numerator: int | None
    denominator: int | None
    starts_at: datetime
    ends_at: datetime | None
    at: datetime


def build_notification(alert: Alert, notice: Notice) -> AlertNotification:
    """The notification of a notice, carrying the alert's figures at the time of the notice."""
    state, reading = alert.state, alert.state.reading
    resolved = notice.kind is NoticeKind.RESOLVED
    return AlertNotification(
        id=notification_id(state.alert_id, episode=notice.episode, kind=notice.kind, sequence=notice.sequence),
        kind=notice.kind,
        status="resolved" if resolved else "firing",
        alert_id=state.alert_id,
        rule=state.rule,
        subject=state.subject,
        severity=alert.severity,
        episode=notice.episode,
        labels=alert.labels,
        annotations=alert.annotations,
        value=reading.value if reading else None,
        target=alert.target,
        numerator=reading.numerator if reading else None,
        denominator=reading.denominator if reading else None,
        starts_at=state.fired_at or notice.at,
        ends_at=notice.at if resolved else None,
        at=notice.at,
    )


def build_change(alert: Alert, transition: Transition) -> AlertChange:
    """The message of one state change."""
    state, reading = alert.state, alert.state.reading
    return AlertChange(
        id=change_id(state.alert_id, episode=state.episode, transition=transition),
        alert_id=state.alert_id,
        rule=state.rule,
        subject=state.subject,
        severity=alert.severity,
        from_status=transition.from_status,
        to_status=transition.to_status,
        at=transition.at,
        episode=state.episode,
        value=reading.value if reading else None,
        target=alert.target,
        numerator=reading.numerator if reading else None,
        denominator=reading.denominator if reading else None,
        labels=alert.labels,
        annotations=alert.annotations,
    )
