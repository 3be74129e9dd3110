"""What the engine evaluates, read from PostgreSQL: KPI snapshots, the unit tree, activity and silences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.alerts import queries
from services.alerts.core.conditions import Reading
from services.alerts.core.describe import UnitInfo
from services.alerts.core.silences import Silence
from shared.snapshots import KpiSnapshot

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]

Scope = tuple[str, str, str]
"""(kpi, window, unit code) of a snapshot."""


@dataclass(frozen=True, slots=True)
class KpiReading:
    """The newest value of one KPI scope, and the level of its unit."""

    unit_level: str
    reading: Reading


def kpi_reading(snapshot: KpiSnapshot) -> KpiReading:
    """A snapshot as a reading; observed when it was computed, so an older one never overrides a newer one."""
    return KpiReading(
        snapshot.unit_level,
        Reading(value=snapshot.ratio, observed_at=snapshot.computed_at, numerator=snapshot.numerator,
                denominator=snapshot.denominator),
    )  # fmt: skip


async def load_kpi_readings(connection: Connection, watched: Iterable[tuple[str, str]]) -> dict[Scope, KpiReading]:
    """Current snapshots of the watched (kpi, window) pairs, as the metrics service last wrote them."""
    pairs = sorted(watched)
    rows = await connection.fetch(queries.SELECT_SNAPSHOTS, [k for k, _ in pairs], [w for _, w in pairs])
    return {
        (r["kpi"], r["window_name"], r["unit_code"]): KpiReading(
            r["unit_level"],
            Reading(value=r["ratio"], observed_at=r["computed_at"], numerator=r["numerator"],
                    denominator=r["denominator"]),
        )
        for r in rows
    }  # fmt: skip


async def load_units(connection: Connection) -> dict[str, UnitInfo]:
    """The unit tree's names and levels."""
    return {r["code"]: UnitInfo(r["name"], r["level"]) for r in await connection.fetch(queries.SELECT_UNITS)}


async def load_activity(connection: Connection) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """Newest event time per source, and per unit including its descendants."""
    sources = {r["source"]: r["last_occurred_at"] for r in await connection.fetch(queries.SELECT_SOURCE_ACTIVITY)}
    units = {r["unit_code"]: r["last_occurred_at"] for r in await connection.fetch(queries.SELECT_UNIT_ACTIVITY)}
    return sources, units


def staleness_reading(last_event_at: datetime, *, now: datetime) -> Reading:
    """Age of the newest event, in seconds, observed now."""
    return Reading(value=max(0.0, (now - last_event_at).total_seconds()), observed_at=now, last_event_at=last_event_at)


def silence_from_row(row: Mapping[str, Any]) -> Silence:
    """A stored silence."""
    return Silence(
        id=row["id"], matchers=row["matchers"], starts_at=row["starts_at"], ends_at=row["ends_at"],
        author=row["author"], comment=row["comment"],
    )  # fmt: skip


async def load_silences(connection: Connection, *, now: datetime) -> list[Silence]:
    """Silences not yet ended nor deleted (including future ones)."""
    return [silence_from_row(r) for r in await connection.fetch(queries.SELECT_SILENCES, now)]
