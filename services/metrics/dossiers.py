"""PostgreSQL side of the dossier lifecycle: merge a batch's new events into each dossier's state (inside the
counting transaction), keep the aggregates by deltas, and read live figures and processing times back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.metrics import dossier_queries as q
from services.metrics import index766, queries
from services.metrics.core.backlog import (
    NOTHING,
    Backlog,
    Deltas,
    Footprint,
    deltas,
    due_day,
    footprint,
    roll_up_backlog,
)
from services.metrics.core.lifecycle import DAY, LIFECYCLE_TYPES, DossierState, merge_all, merge_new, paused_time
from services.metrics.core.windows import day_start
from shared.events import Event

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]


@dataclass(frozen=True, slots=True)
class Locked:
    """A batch's lifecycle events per dossier, and the stored states of those dossiers, locked."""

    events: dict[str, list[Event]]
    stored: dict[str, DossierState]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a batch writes: the merged states (`state_row`s) and, if all of them land, what they add up to."""

    locked: Locked
    rows: list[tuple[Any, ...]]
    moved: dict[str, tuple[Footprint, Footprint]]
    merged: dict[str, tuple[DossierState | None, DossierState]]
    added: Deltas
    progress: dict[tuple[str, date], list[int]]
    """What the merged states move in the 766 progress day rows."""


def by_dossier(events: Sequence[Event]) -> dict[str, list[Event]]:
    """A batch's lifecycle events grouped by dossier, in dossier order (the order their rows are locked in)."""
    groups: dict[str, list[Event]] = {}
    for event in events:
        if event.type in LIFECYCLE_TYPES:
            groups.setdefault(getattr(event, "dossier_id"), []).append(event)  # noqa: B009
    return {dossier: groups[dossier] for dossier in sorted(groups)}


async def lock(connection: Connection, groups: dict[str, list[Event]]) -> Locked:
    """Lock (reading) the states stored for a batch's dossiers (`by_dossier`)."""
    if not groups:
        return Locked(groups, {})
    rows = await connection.fetch(q.LOCK_STATES, list(groups))
    return Locked(groups, {r["dossier_id"]: state_of(r) for r in rows})


def plan(locked: Locked) -> Plan:
    """Merge the events into the locked states (pure: may run in a worker thread while PostgreSQL counts)."""
    rows: list[tuple[Any, ...]] = []
    moved: dict[str, tuple[Footprint, Footprint]] = {}
    merged: dict[str, tuple[DossierState | None, DossierState]] = {}
    stored = locked.stored
    for dossier, events in locked.events.items():
        before = stored.get(dossier)
        if before is None:
            state = merge_new(events)
            after = footprint(state)
            moved[dossier] = (NOTHING, after)
            rows.append(state_row(state, after, stored=False))
        else:
            state = merge_all(before, events)
            if state is before:
                continue  # the events added nothing: no write, no delta
            after = footprint(state)
            moved[dossier] = (footprint(before), after)
            rows.append(state_row(state, after, stored=True))
        merged[dossier] = (before, state)
    return Plan(locked, rows, moved, merged, deltas(moved.values()), index766.progress_days(merged.values()))


async def write_plan(connection: Connection, planned: Plan) -> None:
    """Write the merged states and their deltas; inside the counting transaction, after `lock`.

    A dossier another replica inserted since it was locked (overlapping after a rebalance) is locked and merged
    onto again, until every state has landed.
    """
    await connection.execute(q.CREATE_BATCH_TABLE)
    changes: list[tuple[Footprint, Footprint]] = []
    states: list[tuple[DossierState | None, DossierState]] = []  # before and after, for the 766 progress days
    added: Deltas | None = planned.added
    progress: dict[tuple[str, date], list[int]] | None = planned.progress
    first = True
    while True:
        written: set[str] = set()
        if planned.rows:
            if not first:
                await connection.execute(q.CLEAR_BATCH_TABLE)
            first = False
            await connection.copy_records_to_table(q.BATCH_TABLE, records=planned.rows, columns=q.BATCH_COLUMNS)
            written = {r["dossier_id"] for r in await connection.fetch(q.UPSERT_STATES)}
        changes.extend(pair for dossier, pair in planned.moved.items() if dossier in written)
        states.extend(pair for dossier, pair in planned.merged.items() if dossier in written)
        locked = planned.locked
        pending = [d for d in locked.events if d not in locked.stored and d not in written]
        if not pending:
            break
        added = None  # some did not land as planned: sum what did
        progress = None
        planned = plan(await lock(connection, {d: locked.events[d] for d in pending}))
    await _add_deltas(connection, deltas(changes) if added is None else added)
    await index766.add_progress_days(connection, index766.progress_days(states) if progress is None else progress)


async def _add_deltas(connection: Connection, added: Deltas) -> None:
    units = sorted(added.units.items())
    if units:
        await connection.execute(q.ADD_BACKLOG_UNITS, [u for u, _ in units], [v[0] for _, v in units],
                                 [v[1] for _, v in units])  # fmt: skip
    due = sorted(added.due.items())
    if due:
        await connection.execute(q.ADD_BACKLOG_DUE, [u for (u, _), _ in due], [h for (_, h), _ in due],
                                 [n for _, n in due])  # fmt: skip
    processing = sorted(added.processing.items(), key=lambda item: (item[0][1], item[0][0], *item[0][2:]))
    if processing:
        keys = list(zip(*(k for k, _ in processing), strict=True))
        await connection.execute(q.ADD_PROCESSING, list(keys[1]), list(keys[0]), list(keys[2]), list(keys[3]),
                                 [n for _, n in processing])  # fmt: skip


def state_of(row: asyncpg.Record | Mapping[str, Any]) -> DossierState:
    """A dossier_state row as the core's state."""
    return DossierState(
        dossier_id=row["dossier_id"], unit_code=row["unit_code"], procedure_code=row["procedure_code"],
        received=row["received_at"] is not None, received_at=row["received_at"], due_at=row["due_at"],
        fee_bearing=row["fee_bearing"], completed_at=row["completed_at"], outcome=row["outcome"],
        completion_due_at=row["completion_due_at"], pauses=tuple(row["pauses"]), resumes=tuple(row["resumes"]),
        supplements=row["supplements"], paid_at=row["paid_at"], payment_channel=row["payment_channel"],
    )  # fmt: skip


def state_row(state: DossierState, position: Footprint, *, stored: bool) -> tuple[Any, ...]:
    """A merged state and its footprint as a dossier_state row (`BATCH_COLUMNS`: and whether it is one locked)."""
    return (
        state.dossier_id, state.unit_code, state.procedure_code, state.received_at, state.due_at,
        state.completion_due_at, state.fee_bearing, state.completed_at, state.outcome, state.pauses, state.resumes,
        state.supplements, state.paid_at, state.payment_channel, position.in_progress, position.paused,
        position.running_due, stored,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class UnitBacklog:
    """A unit's live figures, rolled up over its subtree and predecessors."""

    unit_code: str
    unit_name: str | None
    level: str
    figures: Backlog


async def load_backlog(connection: Connection, *, now: datetime, unknown_level: str) -> list[UnitBacklog]:
    """Every unit's in progress / overdue / paused at `now`, rolled up through unit_closure (one consistent read)."""
    today = due_day(now)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        units = {r["code"]: (r["name"], r["level"]) for r in await connection.fetch(q.UNITS)}
        ancestors: dict[str, list[str]] = {}
        for r in await connection.fetch(queries.CLOSURE):
            ancestors.setdefault(r["descendant_code"], []).append(r["ancestor_code"])
        open_ = {r["unit_code"]: (r["in_progress"], r["paused"]) for r in await connection.fetch(q.BACKLOG_PER_UNIT)}
        overdue: dict[str, int] = {}
        for r in [*await connection.fetch(q.OVERDUE_BUCKETS, today),
                  *await connection.fetch(q.OVERDUE_TODAY, day_start(today), now)]:  # fmt: skip
            overdue[r["unit_code"]] = overdue.get(r["unit_code"], 0) + r["overdue"]
    per_unit = {}
    for unit in {*open_, *overdue}:
        in_progress, paused = open_.get(unit, (0, 0))
        per_unit[unit] = Backlog(in_progress=in_progress, overdue=overdue.get(unit, 0), paused=paused)
    totals = roll_up_backlog(per_unit, ancestors)
    return [
        UnitBacklog(unit_code=code, unit_name=units[code][0] if code in units else None,
                    level=units[code][1] if code in units else unknown_level, figures=totals.get(code, Backlog()))
        for code in sorted({*units, *totals})
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class OverdueDossier:
    """One dossier past its due time, its clock running."""

    dossier_id: str
    procedure_code: str
    unit_code: str
    due_at: datetime
    days_overdue: float
    paused_days: float


async def oldest_overdue(connection: Connection, *, unit: str, now: datetime, limit: int) -> list[OverdueDossier]:
    """The longest-overdue dossiers of a unit's subtree (and predecessors), oldest due first."""
    rows = await connection.fetch(q.OLDEST_OVERDUE, unit, now, limit)
    out = []
    for r in rows:
        state = replace(new_state_for(r["dossier_id"]), pauses=tuple(r["pauses"]), resumes=tuple(r["resumes"]))
        out.append(OverdueDossier(dossier_id=r["dossier_id"], procedure_code=r["procedure_code"],
                                  unit_code=r["unit_code"], due_at=r["due_at"], days_overdue=(now - r["due_at"]) / DAY,
                                  paused_days=paused_time(state, until=now) / DAY))  # fmt: skip
    return out


def new_state_for(dossier_id: str) -> DossierState:
    """An empty state of a dossier known by id."""
    return DossierState(dossier_id=dossier_id, unit_code="", procedure_code="")


async def processing_histogram(
    connection: Connection, *, unit: str, first_day: date, last_day: date, procedure: str | None
) -> dict[int, int]:
    """{bin: dossiers} completed over [first_day, last_day] (Vietnam days) in a unit's subtree."""
    rows = await connection.fetch(q.PROCESSING_HISTOGRAM, unit, first_day, last_day, procedure)
    return {r["bin"]: r["dossiers"] for r in rows}


async def prune_dossiers(connection: Connection, *, closed_before: datetime, buckets_before: datetime) -> int:
    """Drop closed dossiers past retention, histogram days past bucket retention, emptied aggregate rows."""
    closed = int((await connection.execute(q.PRUNE_CLOSED, closed_before)).split()[-1])
    await connection.execute(q.PRUNE_PROCESSING, buckets_before)
    for query in q.PRUNE_EMPTIED:
        await connection.execute(query)
    return closed
