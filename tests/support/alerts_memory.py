"""The alerts ports in memory (services/alerts/ports.py): the engine and the dispatcher tested without PostgreSQL.

It keeps the PostgreSQL adapter's semantics: alert writes compare-and-set on the version, a unit of work's writes
land together at commit or not at all, an outbox row per (notification, receiver) at most once, claims leased and
at most one in flight per (alert, receiver). The read model is what a test puts in `kpi`, `units`, `backlog`,
`source_activity` and `unit_activity` (the last two already rolled up the unit tree, as the views do).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.alerts.core.describe import UnitInfo
from services.alerts.core.digest import Digest
from services.alerts.core.notifications import Alert
from services.alerts.core.silences import Silence
from services.alerts.core.state import ACTIVE, Transition
from services.alerts.inputs import KpiReading, KpiScope, UnitBacklog
from services.alerts.ports import Activity, HistoryRecord, OutboxEntry, Outgoing, QueuedEntry, StoredDigest


@dataclass(slots=True)
class OutboxRow:
    """One notification for one receiver, as the outbox table keeps it."""

    id: int
    notification_id: uuid.UUID
    receiver: str
    alert_id: str
    kind: str
    payload: Mapping[str, Any]
    next_attempt_at: datetime
    status: str = "pending"
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    created_at: datetime | None = None
    group_id: uuid.UUID | None = None


@dataclass(slots=True)
class SilenceRow:
    """A silence and when it was deleted."""

    silence: Silence
    deleted_at: datetime | None = None


@dataclass(slots=True)
class Tables:
    """Everything the store holds."""

    alerts: dict[str, Alert] = field(default_factory=dict)
    history: list[HistoryRecord] = field(default_factory=list)
    outbox: list[OutboxRow] = field(default_factory=list)
    silences: list[SilenceRow] = field(default_factory=list)
    kpi: dict[KpiScope, KpiReading] = field(default_factory=dict)
    units: dict[str, UnitInfo] = field(default_factory=dict)
    backlog: dict[str, UnitBacklog] = field(default_factory=dict)
    source_activity: dict[str, datetime] = field(default_factory=dict)
    unit_activity: dict[str, datetime] = field(default_factory=dict)
    digests: dict[tuple[str, datetime], Digest] = field(default_factory=dict)


def _saved(tables: Tables, alert: Alert, *, previous_version: int) -> Alert | None:
    """The alert with its next version, or None if the stored one is not at `previous_version`."""
    stored = tables.alerts.get(alert.state.alert_id)
    if (stored.state.version if stored else 0) != previous_version:
        return None
    return replace(alert, state=replace(alert.state, version=previous_version + 1))


def _append_history(tables: Tables, alert: Alert, transitions: Sequence[Transition], note: str | None) -> None:
    state, reading = alert.state, alert.state.reading
    for t in transitions:
        tables.history.append(
            HistoryRecord(
                id=len(tables.history) + 1,
                alert_id=state.alert_id,
                rule=state.rule,
                subject=state.subject,
                from_status=t.from_status,
                to_status=t.to_status,
                at=t.at,
                episode=state.episode,
                value=reading.value if reading else None,
                target=alert.target,
                numerator=reading.numerator if reading else None,
                denominator=reading.denominator if reading else None,
                severity=alert.severity,
                labels=dict(alert.labels),
                annotations=dict(alert.annotations),
                note=note,
            )
        )


def _queue(tables: Tables, alert_id: str, outgoing: Sequence[Outgoing], now: datetime) -> None:
    queued = {(r.notification_id, r.receiver) for r in tables.outbox}
    for o in outgoing:
        if (o.notification_id, o.receiver) not in queued:
            queued.add((o.notification_id, o.receiver))
            tables.outbox.append(
                OutboxRow(
                    len(tables.outbox) + 1,
                    o.notification_id,
                    o.receiver,
                    alert_id,
                    o.kind,
                    dict(o.payload),
                    next_attempt_at=now,
                    status="queued" if o.queued else "pending",
                    created_at=now,
                )
            )


class MemoryAlerts:
    """AlertStore."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def load_all(self) -> list[Alert]:
        return list(self._tables.alerts.values())

    async def load(self, alert_id: str) -> Alert | None:
        return self._tables.alerts.get(alert_id)

    async def active(self) -> list[Alert]:
        active = [a for a in self._tables.alerts.values() if a.state.status in ACTIVE]
        return sorted(active, key=lambda a: (a.state.since is None, a.state.since or datetime.min, a.state.alert_id))


class MemoryHistory:
    """AlertHistory."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def page(
        self, *, alert_id: str | None, rule: str | None, before: int | None, limit: int
    ) -> list[HistoryRecord]:
        chosen = [
            h
            for h in reversed(self._tables.history)
            if (alert_id is None or h.alert_id == alert_id)
            and (rule is None or h.rule == rule)
            and (before is None or h.id < before)
        ]
        return chosen[:limit]


class MemoryOutbox:
    """Outbox."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    def _pending(self, entry_id: int) -> OutboxRow | None:
        return next((r for r in self._tables.outbox if r.id == entry_id and r.status == "pending"), None)

    async def claim(self, *, now: datetime, limit: int, lease_until: datetime) -> list[OutboxEntry]:
        pending = [r for r in self._tables.outbox if r.status == "pending"]
        first: dict[tuple[str, str], OutboxRow] = {}
        for row in pending:
            first.setdefault((row.alert_id, row.receiver), row)
        due = [r for r in first.values() if r.next_attempt_at <= now][:limit]
        for row in due:
            row.attempts += 1
            row.next_attempt_at = lease_until
        return [
            OutboxEntry(r.id, r.notification_id, r.receiver, r.alert_id, r.kind, r.payload, r.attempts) for r in due
        ]

    async def delivered(self, entry_id: int, *, at: datetime) -> None:
        if (row := self._pending(entry_id)) is not None:
            row.status, row.delivered_at, row.last_error = "delivered", at, None

    async def retry_later(self, entry_id: int, *, due: datetime, error: str) -> None:
        if (row := self._pending(entry_id)) is not None:
            row.next_attempt_at, row.last_error = due, error

    async def failed(self, entry_id: int, *, error: str) -> None:
        if (row := self._pending(entry_id)) is not None:
            row.status, row.last_error = "failed", error

    async def prune(self, *, delivered_before: datetime) -> int:
        kept = [
            r for r in self._tables.outbox if not (r.delivered_at is not None and r.delivered_at < delivered_before)
        ]
        pruned = len(self._tables.outbox) - len(kept)
        self._tables.outbox[:] = kept
        return pruned

    async def backlog(self) -> dict[tuple[str, str], int]:
        counts: dict[tuple[str, str], int] = {}
        for row in self._tables.outbox:
            if row.status in ("queued", "pending", "failed"):
                counts[(row.receiver, row.status)] = counts.get((row.receiver, row.status), 0) + 1
        return counts

    async def queued(self) -> list[QueuedEntry]:
        return [
            QueuedEntry(r.id, r.notification_id, r.receiver, r.payload, r.created_at or r.next_attempt_at)
            for r in self._tables.outbox
            if r.status == "queued"
        ]

    async def release(self, entry_ids: Sequence[int], *, now: datetime, group_key: str | None = None) -> int:
        rows = [r for r in self._tables.outbox if r.id in set(entry_ids) and r.status == "queued"]
        for row in rows:
            row.status, row.next_attempt_at = "pending", now
            row.alert_id = group_key or row.alert_id
        return len(rows)

    async def form_group(self, entry_ids: Sequence[int], group: Outgoing, *, group_key: str, now: datetime) -> bool:
        rows = [r for r in self._tables.outbox if r.id in set(entry_ids) and r.status == "queued"]
        if len(rows) != len(entry_ids):
            return False
        for row in rows:
            row.status, row.group_id = "grouped", group.notification_id
        _queue(self._tables, group_key, [group], now)
        return True


class MemoryDigests:
    """DigestStore."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def last(self, receiver: str) -> StoredDigest | None:
        mine = [d for (r, _slot), d in self._tables.digests.items() if r == receiver]
        if not mine:
            return None
        latest = max(mine, key=lambda d: d.slot)
        return StoredDigest(latest.slot, {e.alert_id: e for e in latest.entries})

    async def add(self, digest: Digest, outgoing: Outgoing | None, *, now: datetime) -> bool:
        key = (digest.receiver, digest.slot)
        if key in self._tables.digests:
            return False
        self._tables.digests[key] = digest
        if outgoing is not None:
            _queue(self._tables, f"digest/{digest.receiver}", [outgoing], now)
        return True


class MemorySilences:
    """SilenceStore."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def in_force(self, *, now: datetime) -> list[Silence]:
        kept = [r.silence for r in self._tables.silences if r.deleted_at is None and r.silence.ends_at > now]
        return sorted(kept, key=lambda s: (s.starts_at, s.id))

    async def add(self, silence: Silence, *, now: datetime) -> None:
        self._tables.silences.append(SilenceRow(silence))

    async def end(self, silence_id: uuid.UUID, *, now: datetime) -> bool:
        for row in self._tables.silences:
            if row.silence.id == silence_id and row.deleted_at is None and row.silence.ends_at > now:
                row.deleted_at = now
                return True
        return False


class MemoryInputs:
    """Inputs: what the test put in the tables."""

    def __init__(self, tables: Tables) -> None:
        self._tables = tables

    async def kpi_readings(self, watched: Iterable[tuple[str, str]]) -> dict[KpiScope, KpiReading]:
        pairs = set(watched)
        return {scope: r for scope, r in self._tables.kpi.items() if (scope[0], scope[1]) in pairs}

    async def units(self) -> dict[str, UnitInfo]:
        return dict(self._tables.units)

    async def backlog(self) -> dict[str, UnitBacklog]:
        return dict(self._tables.backlog)

    async def activity(self) -> Activity:
        return Activity(sources=dict(self._tables.source_activity), units=dict(self._tables.unit_activity))


class _StagedAlerts:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work

    async def save(self, alert: Alert, *, previous_version: int, now: datetime) -> int | None:
        saved = _saved(self._work.tables, alert, previous_version=previous_version)
        if saved is not None:
            self._work.staged_alerts.append(saved)
        return saved.state.version if saved else None


class _StagedHistory:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work

    async def append(self, alert: Alert, transitions: Sequence[Transition], *, note: str | None) -> None:
        self._work.staged_history.append((alert, list(transitions), note))


class _StagedOutbox:
    def __init__(self, work: MemoryUnitOfWork) -> None:
        self._work = work

    async def add(self, alert_id: str, outgoing: Sequence[Outgoing], *, now: datetime) -> None:
        self._work.staged_outbox.append((alert_id, list(outgoing), now))


class MemoryUnitOfWork:
    """Writes staged here reach the tables at `commit`, all of them, or none if the unit ends without it."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.staged_alerts: list[Alert] = []
        self.staged_history: list[tuple[Alert, list[Transition], str | None]] = []
        self.staged_outbox: list[tuple[str, list[Outgoing], datetime]] = []
        self.alerts = _StagedAlerts(self)
        self.history = _StagedHistory(self)
        self.outbox = _StagedOutbox(self)

    async def commit(self) -> None:
        for alert in self.staged_alerts:
            self.tables.alerts[alert.state.alert_id] = alert
        for alert, transitions, note in self.staged_history:
            _append_history(self.tables, alert, transitions, note)
        for alert_id, outgoing, now in self.staged_outbox:
            _queue(self.tables, alert_id, outgoing, now)
        self.staged_alerts, self.staged_history, self.staged_outbox = [], [], []


class InMemoryAlertsStorage:
    """AlertsStorage over `Tables`."""

    transient_errors: tuple[type[Exception], ...] = (OSError,)

    def __init__(self, tables: Tables | None = None) -> None:
        self.tables = tables if tables is not None else Tables()
        self.alerts = MemoryAlerts(self.tables)
        self.history = MemoryHistory(self.tables)
        self.outbox = MemoryOutbox(self.tables)
        self.silences = MemorySilences(self.tables)
        self.inputs = MemoryInputs(self.tables)
        self.digests = MemoryDigests(self.tables)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[MemoryUnitOfWork]:
        yield MemoryUnitOfWork(self.tables)

    async def ping(self) -> bool:
        return True
