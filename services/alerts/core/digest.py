"""The digest: one scheduled message per receiver listing its firing `notify: digest` alerts, worst first, with the
change since its previous digest. Pure: the scheduler (services/alerts/digest.py) stores and queues it."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.alerts.core.notifications import NAMESPACE, Alert
from services.alerts.core.receivers import NotifyingReceiver
from shared.alert_changes import AlertStatus
from shared.kpi_catalogue import VIETNAM


class DigestEntry(BaseModel):
    """One chronic gap: an alert's figures now, and the value it had in the previous digest."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    rule: str
    subject: str
    severity: str
    labels: dict[str, str]
    summary: str
    value: float | None
    target: float | None
    gap: float
    """How far the value is from the target, relative to the target (0.5: half the target missing)."""
    numerator: int | None
    denominator: int | None
    since: datetime | None
    previous_value: float | None
    change: float | None
    """value - previous_value (None for a new entry)."""
    new: bool


class ClearedEntry(BaseModel):
    """An alert of the previous digest that no longer fires."""

    model_config = ConfigDict(frozen=True)

    alert_id: str
    summary: str
    previous_value: float | None


class Digest(BaseModel):
    """A digest notification: the generic webhook's JSON body (`kind: digest`), and what the others format."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: Literal["digest"] = "digest"
    receiver: str
    slot: datetime
    at: datetime
    previous_slot: datetime | None
    count: int
    entries: list[DigestEntry]
    cleared: list[ClearedEntry]


def digest_id(receiver: str, slot: datetime) -> uuid.UUID:
    """The stable id of a receiver's digest for one slot."""
    return uuid.uuid5(NAMESPACE, f"digest|{receiver}|{slot.isoformat()}")


def digest_slot(receiver: NotifyingReceiver, now: datetime) -> datetime:
    """The latest scheduled digest time at or before now: `digest_at` Vietnam time, then every `digest_every`."""
    local = now.astimezone(VIETNAM)
    anchor = datetime.combine(local.date(), receiver.digest_at, VIETNAM)
    if anchor > local:
        anchor -= timedelta(days=1)
    steps = math.floor((local - anchor) / receiver.digest_every)
    return (anchor + steps * receiver.digest_every).astimezone(now.tzinfo)


def gap_of(value: float | None, target: float | None) -> float:
    """Distance of the value from the target, relative to the target when it is not 0."""
    if value is None or target is None:
        return 0.0
    distance = abs(value - target)
    return distance / target if target else distance


def build_digest(
    *,
    receiver: str,
    slot: datetime,
    now: datetime,
    alerts: Iterable[Alert],
    previous: Mapping[str, DigestEntry],
    previous_slot: datetime | None,
) -> Digest:
    """The digest of the firing alerts given (already the receiver's digest alerts, silences applied)."""
    entries = []
    for alert in alerts:
        if alert.state.status is not AlertStatus.FIRING:
            continue
        reading, before = alert.state.reading, previous.get(alert.state.alert_id)
        value = reading.value if reading is not None else None
        previous_value = before.value if before is not None else None
        entries.append(
            DigestEntry(
                alert_id=alert.state.alert_id,
                rule=alert.state.rule,
                subject=alert.state.subject,
                severity=alert.severity,
                labels=alert.labels,
                summary=alert.annotations.get("summary", alert.state.alert_id),
                value=value,
                target=alert.target,
                gap=gap_of(value, alert.target),
                numerator=reading.numerator if reading is not None else None,
                denominator=reading.denominator if reading is not None else None,
                since=alert.state.fired_at,
                previous_value=previous_value,
                change=value - previous_value if value is not None and previous_value is not None else None,
                new=before is None,
            )
        )
    entries.sort(key=lambda e: (-e.gap, e.alert_id))
    listed = {e.alert_id for e in entries}
    cleared = [
        ClearedEntry(alert_id=e.alert_id, summary=e.summary, previous_value=e.value)
        for alert_id, e in sorted(previous.items())
        if alert_id not in listed
    ]
    return Digest(
        id=digest_id(receiver, slot),
        receiver=receiver,
        slot=slot,
        at=now,
        previous_slot=previous_slot,
        count=len(entries),
        entries=entries,
        cleared=cleared,
    )
