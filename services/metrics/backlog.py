"""Live backlog per unit: a background task re-reads it (overdue-ness moves with the clock, even with no event),
every replica serves it from memory, and Prometheus reads the same board."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from services.metrics import dossiers
from services.metrics.dossiers import UnitBacklog
from services.metrics.settings import MetricsSettings
from shared.kpi_catalogue import UNKNOWN_LEVEL

log = logging.getLogger(__name__)
PRUNE_LOCK = 0x444F5353  # "DOSS": one replica prunes the dossier state at a time


@dataclass(slots=True)
class BacklogBoard:
    """Every unit's live figures as this replica last read them."""

    units: dict[str, UnitBacklog] = field(default_factory=dict)
    computed_at: datetime | None = None


class BacklogRefresher:
    """Background task: re-read the backlog every `metrics_backlog_refresh_s`, prune closed dossiers."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool[Any],
        board: BacklogBoard,
        settings: MetricsSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.pool = pool
        self.board = board
        self.clock = clock
        self._settings = settings
        self._next_prune: datetime | None = None

    async def refresh(self) -> None:
        """Read every unit's figures at the clock's now."""
        now = self.clock()
        async with self.pool.acquire() as connection:
            figures = await dossiers.load_backlog(connection, now=now, unknown_level=UNKNOWN_LEVEL)
            if self._next_prune is None or now >= self._next_prune:
                await self._prune(connection, now=now)
                self._next_prune = now + timedelta(seconds=self._settings.metrics_prune_interval_s)
        self.board.units = {f.unit_code: f for f in figures}
        self.board.computed_at = now

    async def _prune(self, connection: Any, *, now: datetime) -> None:
        async with connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", PRUNE_LOCK):
                return
            closed = await dossiers.prune_dossiers(
                connection,
                closed_before=now - timedelta(days=self._settings.metrics_dossier_retention_days),
                buckets_before=now - timedelta(days=self._settings.metrics_bucket_retention_days),
            )
        if closed:
            log.info("closed dossiers left the hot state", extra={"dossiers": closed})

    async def run(self) -> None:
        """Refresh until cancelled; a failing round is logged and retried, never fatal."""
        while True:
            try:
                await self.refresh()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("backlog refresh failed; retrying", exc_info=True)
            await asyncio.sleep(self._settings.metrics_backlog_refresh_s)


class BacklogCollector(Collector):
    """Backlog gauges per unit of the exported levels (bounded cardinality), read from memory at scrape time."""

    def __init__(self, *, board: BacklogBoard, levels: frozenset[str]) -> None:
        self._board = board
        self._levels = levels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["unit", "level"]
        families = {
            "in_progress": GaugeMetricFamily("civicpulse_backlog_in_progress", "Dossiers in progress.", labels=labels),
            "overdue": GaugeMetricFamily(
                "civicpulse_backlog_overdue", "Dossiers in progress past their due time, clock running.", labels=labels
            ),
            "paused": GaugeMetricFamily("civicpulse_backlog_paused", "Dossiers in progress, paused.", labels=labels),
        }
        for unit in self._board.units.values():
            if unit.level not in self._levels:
                continue
            figures = unit.figures
            families["in_progress"].add_metric([unit.unit_code, unit.level], figures.in_progress)
            families["overdue"].add_metric([unit.unit_code, unit.level], figures.overdue)
            families["paused"].add_metric([unit.unit_code, unit.level], figures.paused)
        yield from families.values()
