"""Delivers the outbox: claim due rows, send each, settle it in its own short transaction; retry with backoff."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.alerts.delivery.base import DeliveryError, Receivers
from services.alerts.engine import utc_now
from services.alerts.grouper import Grouper
from services.alerts.ports import Outbox, OutboxEntry
from services.alerts.telemetry import AlertsMetrics
from shared.retry import RetryPolicy

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
        outbox: Outbox,
        receivers: Receivers,
        options: DispatchOptions,
        metrics: AlertsMetrics,
        transient_errors: tuple[type[Exception], ...] = (OSError,),
        clock: Callable[[], datetime] = utc_now,
        rng: random.Random | None = None,
        grouper: Grouper | None = None,
    ) -> None:
        self._outbox = outbox
        self._grouper = grouper
        self._receivers = receivers
        self._transient_errors = transient_errors
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
            except self._transient_errors:
                log.warning("outbox round failed; retrying", exc_info=True)
                claimed = 0
            if claimed < self._options.batch:
                await asyncio.sleep(self._options.poll_s)

    async def dispatch_once(self) -> int:
        """Form the groups that are due, then claim and deliver one batch of due notifications; returns how many
        were claimed."""
        if self._grouper is not None:
            await self._grouper.form_due()
        now = self._clock()
        lease_until = now + timedelta(seconds=self._options.lease_s)
        entries = await self._outbox.claim(now=now, limit=self._options.batch, lease_until=lease_until)
        if entries:
            await asyncio.gather(*(self._deliver(entry) for entry in entries))
        return len(entries)

    async def prune(self) -> int:
        """Delete delivered rows past retention (failed ones stay for inspection); returns how many."""
        cutoff = self._clock() - timedelta(seconds=self._options.retention_s)
        return await self._outbox.prune(delivered_before=cutoff)

    async def refresh_backlog(self) -> None:
        """Count undelivered rows by receiver and status, for /metrics."""
        self.backlog = await self._outbox.backlog()

    async def _deliver(self, entry: OutboxEntry) -> None:
        receiver = entry.receiver
        deliverer = self._receivers.current.get(receiver)
        if deliverer is None:
            gone = DeliveryError(f"receiver {receiver!r} is no longer configured", permanent=True)
            await self._settle_failure(entry, gone)
            return
        started = time.perf_counter()
        try:
            # Settle well inside the lease, or another poller would send it again meanwhile.
            await asyncio.wait_for(deliverer.deliver(entry.notification_id, entry.payload), self._options.lease_s / 2)
        except Exception as exc:  # every failure is recorded on the row; the loop goes on
            self._metrics.delivery_seconds.labels(receiver).observe(time.perf_counter() - started)
            await self._settle_failure(entry, exc)
            return
        self._metrics.delivery_seconds.labels(receiver).observe(time.perf_counter() - started)
        await self._outbox.delivered(entry.id, at=self._clock())
        self._metrics.sent.labels(receiver).inc()

    async def _settle_failure(self, entry: OutboxEntry, exc: Exception) -> None:
        receiver, attempts = entry.receiver, entry.attempts
        error = str(exc) or type(exc).__name__
        permanent = isinstance(exc, DeliveryError) and exc.permanent
        extra = {"receiver": receiver, "notification_id": str(entry.notification_id), "attempts": attempts}
        if permanent or attempts >= self._options.max_attempts:
            await self._outbox.failed(entry.id, error=error[:2000])
            self._metrics.failed.labels(receiver).inc()
            log.error("notification undeliverable: %s", error, extra=extra)
            return
        retry = RetryPolicy(base_s=self._options.backoff_base_s, cap_s=self._options.backoff_max_s, jitter=True)
        delay = timedelta(seconds=retry.delay(attempts, rng=self._rng))
        await self._outbox.retry_later(entry.id, due=self._clock() + delay, error=error[:2000])
        self._metrics.retried.labels(receiver).inc()
        log.warning("delivery failed; retrying in %.1fs: %s", delay.total_seconds(), error, extra=extra)
