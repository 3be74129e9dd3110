"""Delivers the outbox: claim due rows, send each, settle it in its own short transaction; retry with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from services.alerts import queries
from services.alerts.core.backoff import retry_delay
from services.alerts.delivery.base import Deliverer, DeliveryError
from services.alerts.engine import utc_now
from services.alerts.telemetry import AlertsMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DispatchOptions:
    """Polling, batching, retry and lease settings."""

    poll_s: float = 1.0
    batch: int = 50
    max_attempts: int = 10
    backoff_base_s: float = 2.0
    backoff_max_s: float = 600.0
    lease_s: float = 60.0
    retention_s: float = 30 * 86400.0


class Dispatcher:
    """At-least-once delivery: a crash between sending and settling re-sends with the same notification id."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool[Any],
        deliverers: Callable[[], Mapping[str, Deliverer]],
        options: DispatchOptions,
        metrics: AlertsMetrics,
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
    ) -> None:
        self._pool = pool
        self._deliverers = deliverers
        self._options = options
        self._metrics = metrics
        self._clock = clock
        self._rng = rng or random.Random()
        self.backlog: dict[tuple[str, str], int] = {}

    async def run(self) -> None:
        """Poll until cancelled; a failing round (database down) is logged and retried."""
        next_backlog = next_prune = 0.0
        while True:
            try:
                claimed = await self.dispatch_once()
                if time.monotonic() >= next_backlog:
                    await self.refresh_backlog()
                    next_backlog = time.monotonic() + 5.0
                if time.monotonic() >= next_prune:
                    await self.prune()
                    next_prune = time.monotonic() + 600.0
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("outbox round failed; retrying", exc_info=True)
                claimed = 0
            if claimed < self._options.batch:
                await asyncio.sleep(self._options.poll_s)

    async def dispatch_once(self) -> int:
        """Claim and deliver one batch of due notifications; returns how many were claimed."""
        now = self._clock()
        lease_until = now + timedelta(seconds=self._options.lease_s)
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(queries.CLAIM_OUTBOX, now, self._options.batch, lease_until)
        if rows:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        return len(rows)

    async def prune(self) -> int:
        """Delete delivered rows past retention (failed ones stay for inspection); returns how many."""
        cutoff = self._clock() - timedelta(seconds=self._options.retention_s)
        async with self._pool.acquire() as connection:
            result = await connection.execute(queries.PRUNE_OUTBOX, cutoff)
        return int(result.split()[-1])

    async def refresh_backlog(self) -> None:
        """Count undelivered rows by receiver and status, for /metrics."""
        async with self._pool.acquire() as connection:
            rows = await connection.fetch(queries.OUTBOX_BACKLOG)
        self.backlog = {(r["receiver"], r["status"]): r["n"] for r in rows}

    async def _deliver(self, row: Mapping[str, Any]) -> None:
        receiver = row["receiver"]
        deliverer = self._deliverers().get(receiver)
        if deliverer is None:
            gone = DeliveryError(f"receiver {receiver!r} is no longer configured", permanent=True)
            await self._settle_failure(row, gone)
            return
        started = time.perf_counter()
        try:
            # Settle well inside the lease, or another poller would send it again meanwhile.
            await asyncio.wait_for(deliverer.deliver(row["notification_id"], row["payload"]), self._options.lease_s / 2)
        except Exception as exc:  # every failure is recorded on the row; the loop goes on
            self._metrics.delivery_seconds.labels(receiver).observe(time.perf_counter() - started)
            await self._settle_failure(row, exc)
            return
        self._metrics.delivery_seconds.labels(receiver).observe(time.perf_counter() - started)
        async with self._pool.acquire() as connection:
            await connection.execute(queries.MARK_DELIVERED, row["id"], self._clock())
        self._metrics.sent.labels(receiver).inc()

    async def _settle_failure(self, row: Mapping[str, Any], exc: Exception) -> None:
        receiver, attempts = row["receiver"], row["attempts"]
        error = str(exc) or type(exc).__name__
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        extra = {"receiver": receiver, "notification_id": str(row["notification_id"]), "attempts": attempts}
        async with self._pool.acquire() as connection:
            if permanent or attempts >= self._options.max_attempts:
                await connection.execute(queries.MARK_FAILED, row["id"], error[:2000])
                self._metrics.failed.labels(receiver).inc()
                log.error("notification undeliverable: %s", error, extra=extra)
                return
            delay = retry_delay(attempts, base=self._options.backoff_base_s, cap=self._options.backoff_max_s,
                                rng=self._rng)  # fmt: skip
            await connection.execute(queries.MARK_RETRY, row["id"], self._clock() + delay, error[:2000])
        self._metrics.retried.labels(receiver).inc()
        log.warning("delivery failed; retrying in %.1fs: %s", delay.total_seconds(), error, extra=extra)
