"""The PostgreSQL adapter of the `Inputs` port: the metrics service's read model (docs/read-model.md), nothing else."""

from __future__ import annotations

from collections.abc import Iterable

from services.alerts import queries
from services.alerts.core.conditions import Reading
from services.alerts.core.describe import UnitInfo
from services.alerts.database import Database
from services.alerts.inputs import KpiReading, KpiScope, UnitBacklog
from services.alerts.ports import Activity


class PostgresInputs:
    """Current KPI values, the live backlog, the unit tree and activity, read from the `read_model` views."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def kpi_readings(self, watched: Iterable[tuple[str, str]]) -> dict[KpiScope, KpiReading]:
        pairs = sorted(watched)
        rows = await self._database.fetch(queries.SELECT_KPI_CURRENT, [k for k, _ in pairs], [w for _, w in pairs])
        return {
            (r["kpi"], r["window_name"], r["unit_code"]): KpiReading(
                r["unit_level"],
                Reading(
                    value=r["ratio"],
                    observed_at=r["computed_at"],
                    numerator=r["numerator"],
                    denominator=r["denominator"],
                ),
            )
            for r in rows
        }

    async def units(self) -> dict[str, UnitInfo]:
        return {r["code"]: UnitInfo(r["name"], r["level"]) for r in await self._database.fetch(queries.SELECT_UNITS)}

    async def backlog(self) -> dict[str, UnitBacklog]:
        return {
            r["unit_code"]: UnitBacklog(r["unit_level"], r["in_progress"], r["overdue"], r["paused"], r["as_of"])
            for r in await self._database.fetch(queries.SELECT_BACKLOG)
        }

    async def activity(self) -> Activity:
        sources = await self._database.fetch(queries.SELECT_SOURCE_ACTIVITY)
        units = await self._database.fetch(queries.SELECT_UNIT_ACTIVITY)
        return Activity(
            sources={r["source"]: r["last_occurred_at"] for r in sources},
            units={r["unit_code"]: r["last_occurred_at"] for r in units},
        )
