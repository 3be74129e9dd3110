"""The events-topic subscriber: parse a batch, count it in one transaction, then commit the offsets."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.annotations import KafkaMessage as CurrentMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from services.metrics import store
from services.metrics.refresher import SnapshotRefresher
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import PipelineMetrics
from shared.dead_letters import DeadLetter, dead_letter_headers
from shared.events import Event, parse_event
from shared.kafka import commit_or_rewind

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """Events to count and records to dead-letter."""

    events: list[Event]
    dead: list[DeadLetter]


def parse_batch(records: Sequence[ConsumerRecord[Any, Any]], *, oldest: datetime) -> ParsedBatch:
    """Validate each record on its own: a bad one is dead-lettered, the others are counted."""
    events: list[Event] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            event = parse_event(record.value or b"")
        except ValidationError as exc:
            dead.append(DeadLetter.of(record, reason="invalid_event", detail=_first_errors(exc)))
            continue
        if event.occurred_at < oldest:
            dead.append(
                DeadLetter.of(record, reason="older_than_retention", detail=f"occurred_at before {oldest.isoformat()}")
            )
            continue
        events.append(event)
    return ParsedBatch(events, dead)


def _first_errors(exc: ValidationError, limit: int = 5) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:limit])


async def _raw_body(message: StreamMessage[Any]) -> Any:
    """Leave bodies as bytes: parsing is ours, so one bad record can't fail the whole batch."""
    return message.body


def register_consumer(
    broker: KafkaBroker,
    *,
    settings: MetricsSettings,
    pool: asyncpg.Pool[Any],
    refresher: SnapshotRefresher,
    metrics: PipelineMetrics,
) -> None:
    """Subscribe the counting handler to the events topic (manual acks: commit only after PostgreSQL commits)."""
    dlq = broker.publisher(settings.topic_dlq, title="dead letters")

    @broker.subscriber(
        settings.topic_events,
        group_id=settings.metrics_group_id,
        batch=True,
        max_records=settings.metrics_batch_max_records,
        batch_timeout_ms=settings.metrics_batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        title="count events",
    )
    async def count_events(body: Any, message: CurrentMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        started = time.perf_counter()
        now = datetime.now(UTC)
        async with commit_or_rewind(message, retry_backoff_s=settings.metrics_retry_backoff_s):
            parsed = parse_batch(
                records, oldest=now - timedelta(days=settings.metrics_bucket_retention_days) + timedelta(hours=1)
            )
            for letter in parsed.dead:
                await dlq.publish(letter.value, key=letter.key, headers=dead_letter_headers(letter))
            async with pool.acquire() as connection:
                outcome = await store.record_batch(connection, parsed.events)
        for event in outcome.new:
            metrics.processed.labels(event.type).inc()
            if now - event.occurred_at > LATE_AFTER:
                metrics.late.labels(event.type).inc()
        metrics.duplicates.inc(outcome.duplicates)
        for letter in parsed.dead:
            metrics.dead_lettered.labels(letter.reason).inc()
        metrics.batch_size.observe(len(records))
        metrics.batch_seconds.observe(time.perf_counter() - started)
        _observe_lag(message, records, metrics)
        if outcome.new:
            refresher.mark_dirty()


def _observe_lag(message: KafkaMessage, records: Sequence[ConsumerRecord[Any, Any]], metrics: PipelineMetrics) -> None:
    consumer: Any = message.consumer
    last: dict[TopicPartition, int] = {}
    for record in records:
        last[TopicPartition(record.topic, record.partition)] = record.offset
    for partition, offset in last.items():
        highwater = consumer.highwater(partition) if hasattr(consumer, "highwater") else None
        if highwater is not None:
            metrics.lag.labels(str(partition.partition)).set(max(0, highwater - offset - 1))
