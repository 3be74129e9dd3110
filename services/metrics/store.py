"""PostgreSQL side of the metrics service: count a batch exactly once, compute and keep snapshots, prune."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from services.metrics import dossiers, queries
from services.metrics.core.counters import aggregate, last_online
from services.metrics.core.kpis import KpiDefinition
from services.metrics.core.snapshot_tree import SnapshotTree, TreeRead, Usage
from services.metrics.core.windows import WindowBounds, all_windows, vietnam_day, window_parts
from shared.events import Event, ProcedurePublished
from shared.kpi_catalogue import WindowName
from shared.snapshots import KpiSnapshot

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]


USAGE_PREFETCH = 500
"""Scopes' usage rows fetched at a time while a round reads them."""
T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch changed."""

    new: list[Event]
    duplicates: int
    units: frozenset[str]


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch's events made ready to count before its transaction starts (pure work, done while the batch before
    it is counted): unique by id, in id order, their counter rows and lifecycle groups as if all of them are new."""

    unique: list[Event]
    by_id: list[Event]
    counts: CountRows
    lifecycle: dict[str, list[Event]] | None
    """Lifecycle events per dossier (the lifecycle state on), else None."""
    delivered: int
    """Events in the batch, an id repeated within it included."""


def prepare_batch(events: Sequence[Event], *, lifecycle: bool = True) -> PreparedBatch:
    """`record_prepared`'s input: the pure work of counting a batch, for the case of every event being new."""
    # One event id twice in the same batch: the first wins, as it would across batches. Ids are compared as their
    # 128-bit integers (UUID's own hash and order are Python code, a visible cost per event).
    unique = list({e.event_id.int: e for e in reversed(events)}.values())[::-1]
    by_id = sorted(unique, key=lambda e: e.event_id.int)  # replicas overlapping after a rebalance lock ids alike
    groups = dossiers.by_dossier(unique) if lifecycle else None
    return PreparedBatch(unique, by_id, count_rows(unique), groups, len(events))


async def record_batch(connection: Connection, events: Sequence[Event], *, lifecycle: bool = True) -> BatchOutcome:
    """Count the events not seen before, in one transaction with their ids: a replay changes nothing.

    With `lifecycle`, the same transaction merges them into their dossiers' states and the live backlog.
    """
    return await record_prepared(connection, prepare_batch(events, lifecycle=lifecycle))


async def record_prepared(connection: Connection, batch: PreparedBatch) -> BatchOutcome:
    """`record_batch` of a prepared batch; what it prepared is used where every event turns out new (else redone
    for those that are)."""
    if not batch.unique:
        return BatchOutcome([], 0, frozenset())
    by_id = batch.by_id
    async with connection.transaction():
        rows = await connection.fetch(
            queries.RECORD_EVENT_IDS, [e.event_id for e in by_id], [e.occurred_at for e in by_id]
        )
        all_new = len(rows) == len(by_id)
        fresh_ids = {r[0].int for r in rows}
        new = batch.unique if all_new else [e for e in batch.unique if e.event_id.int in fresh_ids]
        counts = batch.counts if all_new else count_rows(new)
        if new and batch.lifecycle is not None:
            groups = batch.lifecycle if all_new else dossiers.by_dossier(new)
            # PostgreSQL and Python take turns less: the statement runs in the server while a worker thread
            # computes what the next one needs (pure functions; the transaction stays on this task).
            locked = await dossiers.lock(connection, groups)
            _, planned = await alongside(_write_counts(connection, new, counts), lambda: dossiers.plan(locked))
            await dossiers.write_plan(connection, planned)
        elif new:
            await _write_counts(connection, new, counts)
    return BatchOutcome(new, batch.delivered - len(new), frozenset(e.unit_code for e in new))


@dataclass(frozen=True, slots=True)
class CountRows:
    """What a batch's new events add to the counters (computed off the event loop): rows for `COUNT_BATCH`."""

    counts: list[tuple[Any, ...]]
    online: list[tuple[tuple[str, str], datetime]]
    published: list[tuple[tuple[str, str], ProcedurePublished]]


def count_rows(new: Sequence[Event]) -> CountRows:
    """The counter rows of new events: (hour, its Vietnam day, unit, procedure, *counters); PostgreSQL orders and
    rolls them up."""
    return CountRows(
        counts=[
            (key.bucket, vietnam_day(key.bucket), key.unit_code, key.procedure_code, *values)
            for key, values in aggregate(new).items()
        ],
        online=sorted(last_online(new).items()),
        published=sorted(
            {(e.unit_code, e.procedure_code): e for e in new if isinstance(e, ProcedurePublished)}.items()
        ),
    )


async def alongside(statement: Awaitable[T], compute: Callable[[], U]) -> tuple[T, U]:
    """Await PostgreSQL work while a worker thread computes; both finish before this returns (or raises)."""
    task = asyncio.ensure_future(statement)
    try:
        computed = await asyncio.to_thread(compute)
    except BaseException:
        with contextlib.suppress(BaseException):
            await task  # the connection must be idle again before the transaction rolls back
        raise
    return await task, computed


async def _write_counts(connection: Connection, new: Sequence[Event], rows: CountRows) -> None:
    if rows.counts:
        await connection.execute(queries.CREATE_COUNT_BATCH)
        await connection.copy_records_to_table(
            queries.COUNT_BATCH, records=rows.counts, columns=queries.COUNT_BATCH_COLUMNS
        )
        await connection.execute(queries.ADD_COUNT_BATCH)
    if rows.online:
        await connection.execute(
            queries.TOUCH_PROCEDURE_ONLINE,
            [u for (u, _), _ in rows.online],
            [p for (_, p), _ in rows.online],
            [t for _, t in rows.online],
        )
    await _touch_activity(connection, new, catalogue_moved=sorted({unit for (unit, _), _ in rows.published}))
    if rows.published:
        await connection.execute(
            queries.PUBLISH_PROCEDURES,
            [unit for (unit, _), _ in rows.published],
            [code for (_, code), _ in rows.published],
            [e.service_level.value for _, e in rows.published],
        )


async def _touch_activity(connection: Connection, events: Sequence[Event], *, catalogue_moved: list[str]) -> None:
    newest_by_source: dict[str, datetime] = {}
    newest_by_unit: dict[str, datetime] = {}
    for event in events:
        if event.source not in newest_by_source or event.occurred_at > newest_by_source[event.source]:
            newest_by_source[event.source] = event.occurred_at
        if event.unit_code not in newest_by_unit or event.occurred_at > newest_by_unit[event.unit_code]:
            newest_by_unit[event.unit_code] = event.occurred_at
    per_source = Counter(e.source for e in events)
    sources = sorted(newest_by_source)
    await connection.execute(
        queries.TOUCH_SOURCES, sources, [newest_by_source[s] for s in sources], [per_source[s] for s in sources]
    )
    units = sorted(newest_by_unit)
    await connection.execute(queries.TOUCH_UNITS, units, [newest_by_unit[u] for u in units], catalogue_moved)


async def claim_changed_units(connection: Connection) -> frozenset[str]:
    """The unit codes whose catalogue changed since the last claim, unmarked (run it before reading the usage of
    the scopes above them)."""
    return frozenset(r["unit_code"] for r in await connection.fetch(queries.CLAIM_CHANGED_UNITS))


async def read_tree(
    connection: Connection, *, now: datetime, definitions: Sequence[KpiDefinition], claim: bool = False
) -> tuple[SnapshotTree, TreeRead]:
    """The unit tree and every window's totals at `now` (one repeatable-read view): a tree that knows nothing yet
    and the read that fills it. With `claim` (the snapshot leader), the deltas that view includes are taken too, so
    the next round adds only later batches."""
    bounds = all_windows(now=now)
    async with connection.transaction(isolation="repeatable_read", readonly=not claim):
        units = {r["code"]: r["level"] for r in await connection.fetch(queries.UNITS)}
        ancestors: dict[str, list[str]] = {}
        for r in await connection.fetch(queries.CLOSURE):
            ancestors.setdefault(r["descendant_code"], []).append(r["ancestor_code"])
        read = await _read(connection, bounds, whole={b.name for b in bounds}, usage_of=None, claim=claim)
    return SnapshotTree(units=units, ancestors=ancestors, definitions=definitions), read


async def read_changes(
    connection: Connection,
    bounds: Sequence[WindowBounds],
    *,
    whole: Collection[WindowName],
    usage_of: Collection[str],
) -> TreeRead:
    """What batches added since the last round (taken: the leader's), the windows in `whole` read whole, and the
    usage of the scopes `usage_of` (those above a changed catalogue; one repeatable-read view)."""
    async with connection.transaction(isolation="repeatable_read"):
        return await _read(connection, bounds, whole=whole, usage_of=usage_of, claim=True)


async def _read(
    connection: Connection,
    bounds: Sequence[WindowBounds],
    *,
    whole: Collection[WindowName],
    usage_of: Collection[str] | None,
    claim: bool,
) -> TreeRead:
    # Taken first, in the same view as the windows read whole: a delta is either in those totals or added to the
    # others, never both, never neither.
    deltas = [(r[0], r[1], tuple(r)[2:]) for r in await connection.fetch(queries.CLAIM_DELTAS)] if claim else []
    usage_deltas = [(r[0], r[1], r[2]) for r in await connection.fetch(queries.CLAIM_USAGE_DELTAS)] if claim else []
    totals: dict[WindowName, dict[str, list[int]]] = {}
    for window in bounds:
        if window.name not in whole:
            continue
        parts = window_parts(window)
        ranges = [*parts.hour_ranges, (window.first_bucket,) * 2, (window.first_bucket,) * 2][:2]  # empty ranges
        rows = await connection.fetch(queries.WINDOW_TOTALS, parts.first_day, parts.last_day, *ranges[0], *ranges[1])
        totals[window.name] = {r[0]: list(r)[1:] for r in rows}
    usage: dict[str, Usage] = {}
    if usage_of is None or usage_of:
        # Streamed, each scope's row made a set and a dict at once: the whole catalogue per scope is ~380k codes at
        # 10,000 units (33 MB as rows), its sets mostly the same few (interned).
        shared: dict[frozenset[str], frozenset[str]] = {}
        query, arguments = (queries.USAGE, ()) if usage_of is None else (queries.USAGE_OF, (sorted(usage_of),))
        async for r in connection.cursor(query, *arguments, prefetch=USAGE_PREFETCH):
            codes = frozenset(r["offered"])
            used = {code: at for code, at in zip(r["offered"], r["last_online"], strict=True) if at is not None}
            usage[r["unit_code"]] = (shared.setdefault(codes, codes), used)
    return TreeRead(
        totals=totals,
        whole=frozenset(whole),
        deltas=deltas,
        usage_deltas=usage_deltas,
        usage=usage,
        usage_scopes=None if usage_of is None else frozenset(usage_of),
    )


async def compute_snapshots(
    connection: Connection, *, now: datetime, definitions: Sequence[KpiDefinition]
) -> list[KpiSnapshot]:
    """Every KPI for every unit and window at `now`, from the day and hour rollups (one repeatable-read view)."""
    tree, read = await read_tree(connection, now=now, definitions=definitions)
    return tree.advance(read, all_windows(now=now), now=now)


async def write_snapshots(connection: Connection, snapshots: Sequence[KpiSnapshot]) -> None:
    """Upsert snapshots into the current-snapshot table."""
    if not snapshots:
        return
    await connection.execute(
        queries.UPSERT_SNAPSHOTS,
        [s.kpi for s in snapshots],
        [s.window for s in snapshots],
        [s.unit_code for s in snapshots],
        [s.unit_level for s in snapshots],
        [s.numerator for s in snapshots],
        [s.denominator for s in snapshots],
        [s.ratio for s in snapshots],
        [s.window_start for s in snapshots],
        [s.window_end for s in snapshots],
        [s.computed_at for s in snapshots],
    )


async def load_snapshots(connection: Connection, *, since: datetime | None = None) -> list[KpiSnapshot]:
    """The current-snapshot table; with `since`, only the rows computed then or later (the leader writes a round's
    rows in one statement, rounds in order)."""
    rows = await connection.fetch(queries.SELECT_SNAPSHOTS, since)
    return [
        KpiSnapshot(
            kpi=r["kpi"],
            window=r["window_name"],
            unit_code=r["unit_code"],
            unit_level=r["unit_level"],
            numerator=r["numerator"],
            denominator=r["denominator"],
            ratio=r["ratio"],
            window_start=r["window_start"],
            window_end=r["window_end"],
            computed_at=r["computed_at"],
        )
        for r in rows
    ]


async def prune(connection: Connection, *, buckets_before: datetime, event_ids_before: datetime) -> tuple[int, int]:
    """Delete buckets and event ids past retention; returns (buckets, ids) deleted."""
    buckets = 0
    for query in queries.PRUNE_BUCKETS:
        buckets += int((await connection.execute(query, buckets_before)).split()[-1])
    ids = await connection.execute(queries.PRUNE_EVENT_IDS, event_ids_before)
    return buckets, int(ids.split()[-1])
