"""PostgreSQL side of the metrics service: count a batch exactly once, compute and keep snapshots, prune."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg

from services.metrics import dossiers, queries
from services.metrics.core.counters import COUNTERS, aggregate, last_online, roll_up, rollups
from services.metrics.core.kpis import KpiDefinition
from services.metrics.core.snapshots import build_snapshots
from services.metrics.core.windows import HOUR, all_windows, window_parts
from shared.events import Event, ProcedurePublished
from shared.snapshots import KpiSnapshot

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]


T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch changed."""

    new: list[Event]
    duplicates: int
    units: frozenset[str]


async def record_batch(connection: Connection, events: Sequence[Event], *, lifecycle: bool = True) -> BatchOutcome:
    """Count the events not seen before, in one transaction with their ids: a replay changes nothing.

    With `lifecycle`, the same transaction merges them into their dossiers' states and the live backlog.
    """
    if not events:
        return BatchOutcome([], 0, frozenset())
    # One event id twice in the same batch: the first wins, as it would across batches.
    unique = list({e.event_id: e for e in reversed(events)}.values())[::-1]
    by_id = sorted(unique, key=lambda e: e.event_id)  # replicas overlapping after a rebalance lock ids in one order
    async with connection.transaction():
        rows = await connection.fetch(
            queries.RECORD_EVENT_IDS, [e.event_id for e in by_id], [e.occurred_at for e in by_id]
        )
        fresh_ids = {r["event_id"] for r in rows}
        new = [e for e in unique if e.event_id in fresh_ids]
        if new and lifecycle:
            # PostgreSQL and Python take turns less: each statement runs in the server while a worker thread
            # computes what the next one needs (pure functions; the transaction stays on this task).
            locked, counts = await alongside(dossiers.lock_states(connection, new), lambda: count_rows(new))
            _, planned = await alongside(_write_counts(connection, new, counts), lambda: dossiers.plan(locked))
            await dossiers.write_plan(connection, planned)
        elif new:
            await _write_counts(connection, new, count_rows(new))
    return BatchOutcome(new, len(events) - len(new), frozenset(e.unit_code for e in new))


@dataclass(frozen=True, slots=True)
class CountRows:
    """What a batch's new events add to the counters, as rows per key (computed off the event loop)."""

    counts: list[tuple[tuple[Any, ...], list[int]]]
    daily: list[tuple[tuple[Any, ...], list[int]]]
    hourly: list[tuple[tuple[Any, ...], list[int]]]
    online: list[tuple[tuple[str, str], datetime]]
    published: list[tuple[tuple[str, str], ProcedurePublished]]


def count_rows(new: Sequence[Event]) -> CountRows:
    """The counter rows of new events, each list in a fixed order (replicas lock rows alike: no deadlock)."""
    counts = aggregate(new)
    daily, hourly = rollups(counts)
    return CountRows(
        counts=sorted((tuple(k), v) for k, v in counts.items()),
        daily=sorted(daily.items()),
        hourly=sorted(hourly.items()),
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
    await _add(connection, queries.ADD_COUNTS, rows.counts)
    await _add(connection, queries.ADD_DAILY, rows.daily)
    await _add(connection, queries.ADD_UNIT_HOURLY, rows.hourly)
    if rows.online:
        await connection.execute(
            queries.TOUCH_PROCEDURE_ONLINE,
            [u for (u, _), _ in rows.online],
            [p for (_, p), _ in rows.online],
            [t for _, t in rows.online],
        )
    await _touch_activity(connection, new)
    if rows.published:
        await connection.execute(
            queries.PUBLISH_PROCEDURES,
            [unit for (unit, _), _ in rows.published],
            [code for (_, code), _ in rows.published],
            [e.service_level.value for _, e in rows.published],
        )


async def _add(connection: Connection, query: str, rows: Sequence[tuple[tuple[Any, ...], list[int]]]) -> None:
    if not rows:
        return
    keys = list(zip(*(key for key, _ in rows), strict=True))
    columns = list(zip(*(values for _, values in rows), strict=True))
    await connection.execute(query, *(list(k) for k in keys), *(list(c) for c in columns))


async def _touch_activity(connection: Connection, events: Sequence[Event]) -> None:
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
    await connection.execute(queries.TOUCH_UNITS, units, [newest_by_unit[u] for u in units])


async def compute_snapshots(
    connection: Connection, *, now: datetime, definitions: Sequence[KpiDefinition]
) -> list[KpiSnapshot]:
    """Every KPI for every unit and window at `now`, from the day and hour rollups (one repeatable-read view)."""
    snapshots: list[KpiSnapshot] = []
    windows = all_windows(now=now)
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        units = {r["code"]: r["level"] for r in await connection.fetch(queries.UNITS)}
        ancestors: dict[str, list[str]] = {}
        for r in await connection.fetch(queries.CLOSURE):
            ancestors.setdefault(r["descendant_code"], []).append(r["ancestor_code"])
        usage_rows = await connection.fetch(queries.USAGE)
        for window in windows:
            parts = window_parts(window)
            ranges = [*parts.hour_ranges, (now, now), (now, now)][:2]  # empty ranges fill unused parameters
            rows = await connection.fetch(
                queries.WINDOW_TOTALS,
                parts.first_day,
                parts.last_day,
                ranges[0][0],
                ranges[0][1],
                ranges[1][0],
                ranges[1][1],
            )
            per_unit = {r["unit_code"]: [r[c] for c in COUNTERS] for r in rows}
            totals = roll_up(per_unit, ancestors)
            start, end = window.first_bucket, window.last_bucket + HOUR
            usage = {
                r["unit_code"]: (sum(1 for t in r["last_online"] or () if start <= t < end), r["denominator"])
                for r in usage_rows
            }
            snapshots.extend(
                build_snapshots(
                    window=window, totals=totals, usage=usage, units=units, definitions=definitions, computed_at=now
                )
            )
    return snapshots


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


async def load_snapshots(connection: Connection) -> list[KpiSnapshot]:
    """The current-snapshot table."""
    rows = await connection.fetch(queries.SELECT_SNAPSHOTS)
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
