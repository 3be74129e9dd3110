"""The events-topic subscriber: parse a batch, count it in one transaction, then commit the offsets (in order)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as CurrentMessage
from faststream.message import StreamMessage
from pydantic import PlainValidator, ValidationError

from services.metrics import store, units
from services.metrics.refresher import SnapshotRefresher
from services.metrics.settings import MetricsSettings
from services.metrics.telemetry import PipelineMetrics
from shared.commit_pipeline import CommitPipeline
from shared.dead_letters import dead_letter
from shared.events import Event, parse_event
from shared.producer import OutgoingRecord, RecordProducer, RecordSink, TopicPartitions
from shared.retry import Backoff, RetryPolicy

log = logging.getLogger(__name__)
LATE_AFTER = timedelta(hours=1)
DEAD_LETTER_TIMEOUT_S = 15.0
EventRecord = Annotated[bytes, PlainValidator(lambda value: value, json_schema_input_type=Event)]
"""A record's bytes, left for `parse_batch` to validate one by one; documented (AsyncAPI) as a canonical event."""


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """Events to count, and the dead letters to produce with their reasons (in the same order)."""

    events: list[Event]
    dead: list[OutgoingRecord]
    reasons: list[str]


def parse_batch(
    records: Sequence[ConsumerRecord[Any, Any]], *, oldest: datetime, dlq_topic: str, at: datetime
) -> ParsedBatch:
    """Validate each record on its own: a bad one is dead-lettered, the others are counted."""
    parsed = ParsedBatch([], [], [])

    def reject(record: ConsumerRecord[Any, Any], reason: str, detail: str) -> None:
        parsed.dead.append(dead_letter(record, reason=reason, detail=detail, topic=dlq_topic, at=at))
        parsed.reasons.append(reason)

    for record in records:
        try:
            event = parse_event(record.value or b"")
        except ValidationError as exc:
            reject(record, "invalid_event", _first_errors(exc))
            continue
        if event.occurred_at < oldest:
            reject(record, "older_than_retention", f"occurred_at before {oldest.isoformat()}")
            continue
        parsed.events.append(event)
    return parsed


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
    dead_letters: RecordSink | None = None,
) -> CommitPipeline:
    """Subscribe the counting handler to the events topic (manual acks: commit only after PostgreSQL commits).

    Dead letters go out through `dead_letters` (by default a RecordProducer on the broker) before the counts
    are written; the batch is committed only once both are durable. Up to `metrics_batches_in_flight` batches
    are in flight (above 1, the next are validated and prepared while one is counted, one transaction at a time);
    the returned pipeline commits them in order (run it beside the broker, close it before the broker stops).
    """
    broker.publisher(  # declared for the AsyncAPI document
        settings.topic_dlq,
        title="dead-letters",
        schema=bytes,
        description="Events that cannot be counted (invalid, or older than bucket retention): original key, bytes "
        "and headers, plus x-dlq-reason, x-dlq-error, x-source-topic, x-source-partition, x-source-offset, x-dlq-at.",
    )
    dlq = (
        dead_letters
        if dead_letters is not None
        else RecordProducer(broker, timeout_s=DEAD_LETTER_TIMEOUT_S, partitions=TopicPartitions(settings))
    )
    pipeline = CommitPipeline(
        depth=settings.metrics_batches_in_flight,
        backoff=Backoff(RetryPolicy.fixed(settings.metrics_retry_backoff_s)),
        name="count-events",
    )

    counting = asyncio.Lock()

    async def count(records: tuple[ConsumerRecord[Any, Any], ...], consumer: Any) -> None:
        started = time.perf_counter()
        now = datetime.now(UTC)
        parsed = parse_batch(
            records, oldest=now - timedelta(days=settings.metrics_bucket_retention_days) + timedelta(hours=1),
            dlq_topic=settings.topic_dlq, at=now,
        )  # fmt: skip
        prepared = store.prepare_batch(parsed.events, lifecycle=settings.metrics_lifecycle_enabled)
        await dlq.send_all(parsed.dead)
        # One counting transaction at a time: two would wait on each other's rows (a dossier's events often fall
        # in consecutive batches; every batch adds to most units' backlog rows), and retry their merges.
        async with counting, pool.acquire() as connection:
            outcome = await store.record_prepared(connection, prepared)
            unknown = await units.unknown_among(connection, outcome.units) if outcome.units else set()
        if outcome.new:
            refresher.mark_dirty()  # visible to snapshots now, whether or not the offsets are committed yet
        late_before = now - LATE_AFTER
        for kind, n in Counter(e.type for e in outcome.new).items():
            metrics.processed.labels(kind).inc(n)
        # Counted all the same: an unknown unit rolls up once the tree knows the code.
        if unknown:
            for source, n in Counter(e.source for e in outcome.new if e.unit_code in unknown).items():
                metrics.unknown_unit_events.labels(source).inc(n)
        for kind, n in Counter(e.type for e in outcome.new if e.occurred_at < late_before).items():
            metrics.late.labels(kind).inc(n)
        metrics.duplicates.inc(outcome.duplicates)
        for reason in parsed.reasons:
            metrics.dead_lettered.labels(reason).inc()
        metrics.batch_size.observe(len(records))
        metrics.batch_seconds.observe(time.perf_counter() - started)
        _observe_lag(consumer, records, metrics)

    @broker.subscriber(
        settings.topic_events,
        group_id=settings.metrics_group_id,
        batch=True,
        max_records=settings.metrics_batch_max_records,
        batch_timeout_ms=settings.metrics_batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        listener=pipeline,
        decoder=_raw_body,
        title="count-events",
        description="Canonical events; each batch is counted in one PostgreSQL transaction and its offsets are "
        "committed after it (and every batch before it) commits; unparsable or too old records go to the DLQ.",
    )
    async def count_events(events: list[EventRecord], message: CurrentMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        await pipeline.submit(message, lambda: count(records, message.consumer))

    return pipeline


def _observe_lag(consumer: Any, records: Sequence[ConsumerRecord[Any, Any]], metrics: PipelineMetrics) -> None:
    last: dict[TopicPartition, int] = {}
    for record in records:
        last[TopicPartition(record.topic, record.partition)] = record.offset
    for partition, offset in last.items():
        highwater = consumer.highwater(partition) if hasattr(consumer, "highwater") else None
        if highwater is not None:
            metrics.lag.labels(str(partition.partition)).set(max(0, highwater - offset - 1))
