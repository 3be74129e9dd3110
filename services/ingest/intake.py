"""Accepting a validated HTTP batch: source ownership, rate limit, publish, count. No HTTP types here."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from uuid import UUID

from services.ingest.core.ratelimit import RateLimiter
from services.ingest.telemetry import IngestMetrics
from shared.events import Event
from shared.producer import KafkaUnavailable, RecordSink, event_records

log = logging.getLogger(__name__)


class ForeignSourceError(PermissionError):
    """An event names a source other than the caller's."""

    def __init__(self, *, index: int, source: str, caller: str) -> None:
        self.index = index
        super().__init__(f"event {index} has source {source!r}, but the token belongs to {caller!r}")


class RateLimitedError(RuntimeError):
    """The caller's source exceeded its rate; `retry_after_s` says when the same batch can pass."""

    def __init__(self, *, source: str, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"source {source!r} is over its rate limit; retry in {retry_after_s:.1f}s")


class Intake:
    """Publishes batches from authenticated callers, only after every check passed."""

    def __init__(self, *, publisher: RecordSink, limiter: RateLimiter, metrics: IngestMetrics, topic: str) -> None:
        self._publisher = publisher
        self._limiter = limiter
        self._metrics = metrics
        self._topic = topic
        self._refused = 0
        """Batches Kafka refused since it last acknowledged one: a line when refusals start, one when they end."""

    async def accept(self, events: Sequence[Event], *, caller: str, intake: str) -> list[UUID]:
        """Publish the batch and return its event ids once Kafka acknowledged all of it.

        Raises ForeignSourceError, RateLimitedError or KafkaUnavailable; nothing is published when one is raised
        before the publish step, and the batch may be retried as a whole after KafkaUnavailable.
        """
        self._metrics.batch_size.labels(intake).observe(len(events))
        for index, event in enumerate(events):
            if event.source != caller:
                self._metrics.count_rejected_events(events, source=caller, intake=intake, reason="foreign_source")
                raise ForeignSourceError(index=index, source=event.source, caller=caller)
        wait_s = self._limiter.take(caller, len(events))
        if wait_s > 0:
            self._metrics.count_rejected_events(events, source=caller, intake=intake, reason="rate_limited")
            raise RateLimitedError(source=caller, retry_after_s=wait_s)
        try:
            await self._publisher.send_all(event_records(events, topic=self._topic))
        except KafkaUnavailable as exc:
            self._metrics.count_rejected_events(events, source=caller, intake=intake, reason="kafka_unavailable")
            if not self._refused:
                message = "Kafka refused a batch; answering 503 until it acknowledges again"
                log.warning(message, extra={"error": str(exc)})
            self._refused += 1
            raise
        if self._refused:
            log.info("Kafka acknowledges again", extra={"refused_batches": self._refused})
            self._refused = 0
        self._metrics.count_accepted(events, source=caller, intake=intake)
        return [event.event_id for event in events]

    def reject_invalid(self, count: int, *, caller: str, intake: str) -> None:
        """Count a batch of `count` events (or records) refused by validation."""
        self._metrics.batch_size.labels(intake).observe(count)
        self._metrics.count_rejected(count, source=caller, intake=intake, reason="invalid")
