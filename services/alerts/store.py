"""The PostgreSQL adapter of the alerts ports: alert state, history, outbox and silences; one transaction per unit.

Each repository runs its statements on what it is given: the database (every call its own transaction) or the
connection of a unit of work (all of them in that unit's transaction).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

import asyncpg

from services.alerts import queries
from services.alerts.core.conditions import Reading
from services.alerts.core.digest import Digest, DigestEntry
from services.alerts.core.notifications import Alert
from services.alerts.core.silences import Silence
from services.alerts.core.state import AlertState, Transition
from services.alerts.database import TRANSIENT_ERRORS, Database, Executor
from services.alerts.ports import HistoryRecord, OutboxEntry, Outgoing, QueuedEntry, StoredDigest
from services.alerts.read_model import PostgresInputs
from shared.alert_changes import AlertStatus


def alert_from_row(row: asyncpg.Record) -> Alert:
    """An alert as stored."""
    reading = None
    if row["observed_at"] is not None:
        reading = Reading(
            value=row["value"],
            observed_at=row["observed_at"],
            numerator=row["numerator"],
            denominator=row["denominator"],
            last_event_at=row["last_event_at"],
        )
    state = AlertState(
        rule=row["rule"],
        subject=row["subject"],
        status=AlertStatus(row["status"]),
        since=row["since"],
        fired_at=row["fired_at"],
        episode=row["episode"],
        reading=reading,
        last_notified_at=row["last_notified_at"],
        notified_count=row["notified_count"],
        version=row["version"],
    )
    return Alert(state, row["severity"], dict(row["labels"]), dict(row["annotations"]), row["target"])


def silence_from_row(row: asyncpg.Record) -> Silence:
    """A stored silence."""
    return Silence(
        id=row["id"],
        matchers=row["matchers"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        author=row["author"],
        comment=row["comment"],
    )


def _affected(status: str) -> int:
    """Rows an `UPDATE n` / `DELETE n` command tag reports."""
    return int(status.rsplit(maxsplit=1)[-1])


class PostgresAlerts:
    """alert_state: read, and written compare-and-set on `version`."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def load_all(self) -> list[Alert]:
        return [alert_from_row(r) for r in await self._db.fetch(queries.SELECT_STATES)]

    async def load(self, alert_id: str) -> Alert | None:
        row = await self._db.fetchrow(queries.SELECT_STATE, alert_id)
        return alert_from_row(row) if row is not None else None

    async def active(self) -> list[Alert]:
        return [alert_from_row(r) for r in await self._db.fetch(queries.SELECT_ACTIVE)]

    async def save(self, alert: Alert, *, previous_version: int, now: datetime) -> int | None:
        state, reading = alert.state, alert.state.reading
        values = (
            state.alert_id, state.rule, state.subject, state.status.value, state.since, state.fired_at, state.episode,
            reading.value if reading else None, reading.numerator if reading else None,
            reading.denominator if reading else None, reading.observed_at if reading else None,
            reading.last_event_at if reading else None, alert.target, state.last_notified_at, state.notified_count,
            alert.severity, alert.labels, alert.annotations, now,
        )  # fmt: skip
        if previous_version == 0:
            version = await self._db.fetchval(queries.INSERT_STATE, *values)
        else:
            version = await self._db.fetchval(queries.UPDATE_STATE, *values, previous_version)
        return None if version is None else int(version)


class PostgresHistory:
    """alert_history: appended with each change, read newest first."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def append(self, alert: Alert, transitions: Sequence[Transition], *, note: str | None) -> None:
        if not transitions:
            return
        state, reading = alert.state, alert.state.reading
        figures = (reading.value, reading.numerator, reading.denominator) if reading else (None, None, None)
        await self._db.executemany(
            queries.INSERT_HISTORY,
            [
                (state.alert_id, state.rule, state.subject, t.from_status.value, t.to_status.value, t.at, state.episode,
                 *figures, alert.target, alert.severity, alert.labels, alert.annotations, note)
                for t in transitions
            ],
        )  # fmt: skip

    async def page(
        self, *, alert_id: str | None, rule: str | None, before: int | None, limit: int
    ) -> list[HistoryRecord]:
        rows = await self._db.fetch(queries.SELECT_HISTORY, alert_id, rule, before, limit)
        return [
            HistoryRecord(
                id=r["id"],
                alert_id=r["alert_id"],
                rule=r["rule"],
                subject=r["subject"],
                from_status=AlertStatus(r["from_status"]),
                to_status=AlertStatus(r["to_status"]),
                at=r["at"],
                episode=r["episode"],
                value=r["value"],
                target=r["target"],
                numerator=r["numerator"],
                denominator=r["denominator"],
                severity=r["severity"],
                labels=dict(r["labels"]),
                annotations=dict(r["annotations"]),
                note=r["note"],
            )
            for r in rows
        ]


class PostgresOutbox:
    """notification_outbox: rows queued with their change, claimed under a lease, settled one by one."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def add(self, alert_id: str, outgoing: Sequence[Outgoing], *, now: datetime) -> None:
        if outgoing:
            await self._db.executemany(
                queries.INSERT_OUTBOX,
                [
                    (o.notification_id, o.receiver, alert_id, o.kind, dict(o.payload), now,
                     "queued" if o.queued else "pending")
                    for o in outgoing
                ],
            )  # fmt: skip

    async def claim(self, *, now: datetime, limit: int, lease_until: datetime) -> list[OutboxEntry]:
        rows = await self._db.fetch(queries.CLAIM_OUTBOX, now, limit, lease_until)
        return [
            OutboxEntry(
                id=r["id"],
                notification_id=r["notification_id"],
                receiver=r["receiver"],
                alert_id=r["alert_id"],
                kind=r["kind"],
                payload=r["payload"],
                attempts=r["attempts"],
            )
            for r in rows
        ]

    async def delivered(self, entry_id: int, *, at: datetime) -> None:
        await self._db.execute(queries.MARK_DELIVERED, entry_id, at)

    async def retry_later(self, entry_id: int, *, due: datetime, error: str) -> None:
        await self._db.execute(queries.MARK_RETRY, entry_id, due, error)

    async def failed(self, entry_id: int, *, error: str) -> None:
        await self._db.execute(queries.MARK_FAILED, entry_id, error)

    async def prune(self, *, delivered_before: datetime) -> int:
        return _affected(await self._db.execute(queries.PRUNE_OUTBOX, delivered_before))

    async def backlog(self) -> dict[tuple[str, str], int]:
        return {(r["receiver"], r["status"]): r["n"] for r in await self._db.fetch(queries.OUTBOX_BACKLOG)}

    async def queued(self) -> list[QueuedEntry]:
        return [
            QueuedEntry(r["id"], r["notification_id"], r["receiver"], r["payload"], r["created_at"])
            for r in await self._db.fetch(queries.SELECT_QUEUED)
        ]

    async def release(self, entry_ids: Sequence[int], *, now: datetime, group_key: str | None = None) -> int:
        return _affected(await self._db.execute(queries.RELEASE_QUEUED, list(entry_ids), now, group_key))

    async def form_group(self, entry_ids: Sequence[int], group: Outgoing, *, group_key: str, now: datetime) -> bool:
        async with _transaction(self._db) as connection:
            grouped = _affected(await connection.execute(queries.GROUP_MEMBERS, list(entry_ids), group.notification_id))
            if grouped != len(entry_ids):
                raise _Discard  # another replica took some of them: leave it all as it was
            await PostgresOutbox(connection).add(group_key, [group], now=now)
            return True
        return False


class PostgresDigests:
    """alert_digest: the latest digest per receiver, and new ones recorded with their outbox row."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def last(self, receiver: str) -> StoredDigest | None:
        row = await self._db.fetchrow(queries.SELECT_LAST_DIGEST, receiver)
        if row is None:
            return None
        entries = [DigestEntry.model_validate(e) for e in row["entries"]]
        return StoredDigest(row["slot"], {e.alert_id: e for e in entries})

    async def add(self, digest: Digest, outgoing: Outgoing | None, *, now: datetime) -> bool:
        entries = [e.model_dump(mode="json") for e in digest.entries]
        async with _transaction(self._db) as connection:
            slot = await connection.fetchval(
                queries.INSERT_DIGEST, digest.receiver, digest.slot, digest.id, entries, now
            )
            if slot is None:
                raise _Discard
            if outgoing is not None:
                await PostgresOutbox(connection).add(f"digest/{digest.receiver}", [outgoing], now=now)
            return True
        return False


class PostgresSilences:
    """silences: created, listed while in force, ended by deletion."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def in_force(self, *, now: datetime) -> list[Silence]:
        return [silence_from_row(r) for r in await self._db.fetch(queries.SELECT_SILENCES, now)]

    async def add(self, silence: Silence, *, now: datetime) -> None:
        await self._db.execute(
            queries.INSERT_SILENCE,
            silence.id,
            [m.model_dump() for m in silence.matchers],
            silence.starts_at,
            silence.ends_at,
            silence.author,
            silence.comment,
            now,
        )

    async def end(self, silence_id: uuid.UUID, *, now: datetime) -> bool:
        return _affected(await self._db.execute(queries.DELETE_SILENCE, silence_id, now)) > 0


class _Discard(Exception):  # noqa: N818 (a signal, not an error)
    """Leaves a unit of work's transaction block without committing it."""


@contextlib.asynccontextmanager
async def _transaction(db: Executor) -> AsyncIterator[Executor]:
    """A transaction on a connection of the database (or on the given connection); `_Discard` rolls it back
    quietly, and the code after the block runs."""
    pool = db.pool if isinstance(db, Database) else None
    with contextlib.suppress(_Discard):
        if pool is None:
            async with db.transaction():  # type: ignore[union-attr]
                yield db
        else:
            async with pool.acquire() as connection, connection.transaction():
                yield connection


class PostgresUnitOfWork:
    """The alert, history and outbox repositories on one connection inside one transaction."""

    def __init__(self, connection: Executor) -> None:
        self.alerts = PostgresAlerts(connection)
        self.history = PostgresHistory(connection)
        self.outbox = PostgresOutbox(connection)
        self.committed = False

    async def commit(self) -> None:
        # The transaction commits as the block ends; this says it may.
        self.committed = True


class PostgresStorage:
    """Every port over one database."""

    transient_errors = TRANSIENT_ERRORS

    def __init__(self, database: Database) -> None:
        self._database = database
        self.alerts = PostgresAlerts(database)
        self.history = PostgresHistory(database)
        self.outbox = PostgresOutbox(database)
        self.silences = PostgresSilences(database)
        self.inputs = PostgresInputs(database)
        self.digests = PostgresDigests(database)

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[PostgresUnitOfWork]:
        async with self._database.pool.acquire() as connection:
            work = PostgresUnitOfWork(connection)
            with contextlib.suppress(_Discard):
                async with connection.transaction():
                    yield work
                    if not work.committed:
                        raise _Discard

    async def ping(self) -> bool:
        return bool(await self._database.fetchval("SELECT 1") == 1)
