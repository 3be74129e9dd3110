"""The persistence seam of the alerts service: what the engine, the dispatcher and the APIs need, as Protocols.

Adapters: services/alerts/store.py (alerts' own tables) and services/alerts/read_model.py (the metrics read
model, docs/read-model.md) over PostgreSQL; tests/support/alerts_memory.py in memory.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from services.alerts.core.describe import UnitInfo
from services.alerts.core.digest import Digest, DigestEntry
from services.alerts.core.notifications import Alert
from services.alerts.core.ruleset import RuleSet
from services.alerts.core.silences import Silence
from services.alerts.core.state import Transition
from services.alerts.inputs import KpiReading, KpiScope, UnitBacklog
from shared.alert_changes import AlertStatus


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row to write: a notification (or state change) for one receiver."""

    notification_id: uuid.UUID
    receiver: str
    kind: str
    payload: Mapping[str, Any]
    queued: bool = False
    """Held for the receiver's group (`group_wait`) rather than due now."""


@dataclass(frozen=True, slots=True)
class QueuedEntry:
    """One outbox row held for its receiver's group."""

    id: int
    notification_id: uuid.UUID
    receiver: str
    payload: Mapping[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredDigest:
    """A receiver's latest digest: its slot and the entries it listed, by alert id."""

    slot: datetime
    entries: Mapping[str, DigestEntry]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One claimed outbox row, due for delivery."""

    id: int
    notification_id: uuid.UUID
    receiver: str
    alert_id: str
    kind: str
    payload: Mapping[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class HistoryRecord:
    """One stored state change."""

    id: int
    alert_id: str
    rule: str
    subject: str
    from_status: AlertStatus
    to_status: AlertStatus
    at: datetime
    episode: int
    value: float | None
    target: float | None
    numerator: int | None
    denominator: int | None
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    note: str | None


@dataclass(frozen=True, slots=True)
class Activity:
    """Newest event time per source, and per unit including its descendants."""

    sources: Mapping[str, datetime]
    units: Mapping[str, datetime]


class KnownAlerts(Protocol):
    """The alerts and rules in force, held in memory (by the engine) for the Alertmanager resender and /metrics."""

    @property
    def alerts(self) -> Mapping[str, Alert]: ...

    @property
    def rules(self) -> RuleSet: ...


class AlertWriter(Protocol):
    """Writes an alert, compare-and-set on its version."""

    async def save(self, alert: Alert, *, previous_version: int, now: datetime) -> int | None:
        """The new version, or None if another writer changed the alert since `previous_version` (0: no row yet)."""
        ...


class HistoryWriter(Protocol):
    """Appends state changes."""

    async def append(self, alert: Alert, transitions: Sequence[Transition], *, note: str | None) -> None:
        """One history entry per transition, with the alert's figures."""
        ...


class OutboxWriter(Protocol):
    """Queues notifications."""

    async def add(self, alert_id: str, outgoing: Sequence[Outgoing], *, now: datetime) -> None:
        """Queue each (notification, receiver) once, due now; one already queued is left as it is."""
        ...


class UnitOfWork(Protocol):
    """Writes to an alert, its history and the outbox that take effect together at `commit`, or not at all."""

    @property
    def alerts(self) -> AlertWriter: ...

    @property
    def history(self) -> HistoryWriter: ...

    @property
    def outbox(self) -> OutboxWriter: ...

    async def commit(self) -> None:
        """Make every write of this unit durable (call it last); leaving the block without it discards them."""
        ...


class AlertStore(Protocol):
    """Stored alerts."""

    async def load_all(self) -> list[Alert]:
        """Every stored alert."""
        ...

    async def load(self, alert_id: str) -> Alert | None:
        """One stored alert, if it has a row."""
        ...

    async def active(self) -> list[Alert]:
        """Pending and firing alerts, oldest `since` first."""
        ...


class AlertHistory(Protocol):
    """Stored state changes."""

    async def page(
        self, *, alert_id: str | None, rule: str | None, before: int | None, limit: int
    ) -> list[HistoryRecord]:
        """Newest first, optionally of one alert or rule, with ids below `before`."""
        ...


class Outbox(Protocol):
    """The delivery side of the outbox."""

    async def claim(self, *, now: datetime, limit: int, lease_until: datetime) -> list[OutboxEntry]:
        """Due entries, oldest first, at most one per (alert, receiver); leased until `lease_until`."""
        ...

    async def delivered(self, entry_id: int, *, at: datetime) -> None:
        """Settle an entry as delivered."""
        ...

    async def retry_later(self, entry_id: int, *, due: datetime, error: str) -> None:
        """Leave an entry pending, due again at `due`."""
        ...

    async def failed(self, entry_id: int, *, error: str) -> None:
        """Settle an entry as undeliverable."""
        ...

    async def prune(self, *, delivered_before: datetime) -> int:
        """Delete entries delivered before the cutoff; how many."""
        ...

    async def backlog(self) -> dict[tuple[str, str], int]:
        """Undelivered entries by (receiver, status)."""
        ...

    async def queued(self) -> list[QueuedEntry]:
        """Entries held for their receiver's group, oldest first."""
        ...

    async def release(self, entry_ids: Sequence[int], *, now: datetime, group_key: str | None = None) -> int:
        """Make queued entries due now, each to be sent on its own (after the receiver's groups, under
        `group_key`, so they keep their order); how many were still queued."""
        ...

    async def form_group(self, entry_ids: Sequence[int], group: Outgoing, *, group_key: str, now: datetime) -> bool:
        """In one transaction: mark the queued entries grouped and queue the group notification (due now) under
        `group_key`; False (nothing changed) unless every entry was still queued."""
        ...


class DigestStore(Protocol):
    """Digests sent, one per receiver and slot."""

    async def last(self, receiver: str) -> StoredDigest | None:
        """The receiver's latest digest."""
        ...

    async def add(self, digest: Digest, outgoing: Outgoing | None, *, now: datetime) -> bool:
        """In one transaction: record the digest and queue its notification (None: an empty digest, recorded
        only); False (nothing written) if the receiver's slot already has one."""
        ...


class SilenceStore(Protocol):
    """Stored silences."""

    async def in_force(self, *, now: datetime) -> list[Silence]:
        """Silences not yet ended nor deleted (future ones included), by start."""
        ...

    async def add(self, silence: Silence, *, now: datetime) -> None:
        """Store a new silence."""
        ...

    async def end(self, silence_id: uuid.UUID, *, now: datetime) -> bool:
        """End a silence in force now; False if there is none by that id."""
        ...


class Inputs(Protocol):
    """What the engine evaluates besides snapshots: the read model of the metrics service."""

    async def kpi_readings(self, watched: Iterable[tuple[str, str]]) -> dict[KpiScope, KpiReading]:
        """Current values of the watched (kpi, window) pairs."""
        ...

    async def units(self) -> dict[str, UnitInfo]:
        """The unit tree's names and levels."""
        ...

    async def backlog(self) -> dict[str, UnitBacklog]:
        """Every unit's live backlog (in progress, overdue now, paused), rolled up the tree."""
        ...

    async def activity(self) -> Activity:
        """Newest event times per source and per unit."""
        ...


class AlertsStorage(Protocol):
    """Every port of the service over one store; outside a unit of work, each call stands on its own."""

    @property
    def alerts(self) -> AlertStore: ...

    @property
    def history(self) -> AlertHistory: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def silences(self) -> SilenceStore: ...

    @property
    def inputs(self) -> Inputs: ...

    @property
    def digests(self) -> DigestStore: ...

    @property
    def transient_errors(self) -> tuple[type[Exception], ...]:
        """Failures of the store itself (down, unreachable), which background loops log and retry."""
        ...

    def unit_of_work(self) -> AbstractAsyncContextManager[UnitOfWork]:
        """A new unit of work (one transaction)."""
        ...

    async def ping(self) -> bool:
        """Whether the store answers (readiness)."""
        ...
