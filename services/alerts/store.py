"""PostgreSQL side of alert state: one transaction per change (state, history, outbox), compare-and-set."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.alerts import queries
from services.alerts.core.conditions import Reading
from services.alerts.core.notifications import AlertView
from services.alerts.core.state import AlertState, Transition
from shared.alert_changes import AlertStatus

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row: a notification (or state change) for one receiver."""

    notification_id: uuid.UUID
    receiver: str
    kind: str
    payload: Mapping[str, Any]


def view_from_row(row: Mapping[str, Any]) -> AlertView:
    """An alert as stored."""
    reading = None
    if row["observed_at"] is not None:
        reading = Reading(
            value=row["value"], observed_at=row["observed_at"], numerator=row["numerator"],
            denominator=row["denominator"], last_event_at=row["last_event_at"],
        )  # fmt: skip
    state = AlertState(
        rule=row["rule"], subject=row["subject"], status=AlertStatus(row["status"]), since=row["since"],
        fired_at=row["fired_at"], episode=row["episode"], reading=reading, last_notified_at=row["last_notified_at"],
        notified_count=row["notified_count"], version=row["version"],
    )  # fmt: skip
    return AlertView(state, row["severity"], dict(row["labels"]), dict(row["annotations"]), row["target"])


async def load_views(connection: Connection) -> list[AlertView]:
    """Every stored alert."""
    return [view_from_row(r) for r in await connection.fetch(queries.SELECT_STATES)]


async def load_view(connection: Connection, alert_id: str) -> AlertView | None:
    """One stored alert, if it has a row."""
    row = await connection.fetchrow(queries.SELECT_STATE, alert_id)
    return view_from_row(row) if row is not None else None


async def save(
    connection: Connection,
    *,
    view: AlertView,
    previous_version: int,
    transitions: Sequence[Transition],
    outgoing: Sequence[Outgoing],
    note: str | None,
    now: datetime,
) -> int | None:
    """Write the alert, its history and its outbox rows in one transaction; the new version, or None if another
    writer changed the alert since `previous_version` (nothing is written then)."""
    state, reading = view.state, view.state.reading
    values = (
        state.alert_id, state.rule, state.subject, state.status.value, state.since, state.fired_at, state.episode,
        reading.value if reading else None, reading.numerator if reading else None,
        reading.denominator if reading else None, reading.observed_at if reading else None,
        reading.last_event_at if reading else None, view.target, state.last_notified_at, state.notified_count,
        view.severity, view.labels, view.annotations, now,
    )  # fmt: skip
    async with connection.transaction():
        if previous_version == 0:
            version = await connection.fetchval(queries.INSERT_STATE, *values)
        else:
            version = await connection.fetchval(queries.UPDATE_STATE, *values, previous_version)
        if version is None:
            return None
        if transitions:
            await connection.executemany(
                queries.INSERT_HISTORY,
                [
                    (state.alert_id, state.rule, state.subject, t.from_status.value, t.to_status.value, t.at,
                     state.episode, values[7], values[8], values[9], view.target, view.severity, view.labels,
                     view.annotations, note)
                    for t in transitions
                ],
            )  # fmt: skip
        if outgoing:
            await connection.executemany(
                queries.INSERT_OUTBOX,
                [(o.notification_id, o.receiver, state.alert_id, o.kind, dict(o.payload), now) for o in outgoing],
            )
    return int(version)
