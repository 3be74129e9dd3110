"""PostgreSQL side of the metrics service: count a batch exactly once, compute and keep snapshots, prune."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.metrics import queries
from services.metrics.core.counters import COUNTERS, aggregate
from services.metrics.core.kpis import KpiDefinition
from services.metrics.core.snapshots import KpiSnapshot, build_snapshots
from services.metrics.core.windows import all_windows
from shared.events import Event, ProcedurePublished

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What one batch changed."""

    new: list[Event]
    duplicates: int
    units: frozenset[str]


async def record_batch(connection: Connection, events: Sequence[Event]) -> BatchOutcome:
    """Count the events not seen before, in one transaction with their ids: a replay changes nothing."""
    if not events:
        return BatchOutcome([], 0, frozenset())
    # One event id twice in the same batch: the first wins, as it would across batches.
    unique = list({e.event_id: e for e in reversed(events)}.values())[::-1]
    async with connection.transaction():
        rows = await connection.fetch(
            queries.RECORD_EVENT_IDS, [e.event_id for e in unique], [e.occurred_at for e in unique]
        )
        fresh_ids = {r["event_id"] for r in rows}
        new = [e for e in unique if e.event_id in fresh_ids]
        counts = sorted(aggregate(new).items())  # a fixed row order: concurrent replicas can't deadlock
        if counts:
            columns = list(zip(*(values for _, values in counts), strict=True))
            await connection.execute(
                queries.ADD_COUNTS,
                [key.bucket for key, _ in counts],
                [key.unit_code for key, _ in counts],
                [key.procedure_code for key, _ in counts],
                *(list(column) for column in columns),
            )
        if new:
            await _touch_activity(connection, new)
        published = sorted(
            {(e.unit_code, e.procedure_code): e for e in new if isinstance(e, ProcedurePublished)}.items()
        )
        if published:
            await connection.execute(
                queries.PUBLISH_PROCEDURES,
                [unit for (unit, _), _ in published],
                [code for (_, code), _ in published],
                [e.service_level.value for _, e in published],
            )
    return BatchOutcome(new, len(events) - len(new), frozenset(e.unit_code for e in new))


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
    """Every KPI for every unit and window at `now`, from the hourly counters (one repeatable-read view)."""
    snapshots: list[KpiSnapshot] = []
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        units = {r["code"]: r["level"] for r in await connection.fetch(queries.UNITS)}
        for window in all_windows(now=now):
            rows = await connection.fetch(queries.WINDOW_TOTALS, window.first_bucket, window.last_bucket)
            totals = {r["unit_code"]: {c: r[c] for c in COUNTERS} for r in rows}
            usage = {
                r["unit_code"]: (r["numerator"], r["denominator"])
                for r in await connection.fetch(queries.USAGE, window.first_bucket, window.last_bucket)
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
    buckets = await connection.execute(queries.PRUNE_BUCKETS, buckets_before)
    ids = await connection.execute(queries.PRUNE_EVENT_IDS, event_ids_before)
    return int(buckets.split()[-1]), int(ids.split()[-1])
