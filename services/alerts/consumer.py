"""The snapshots-topic subscriber: parse a batch, evaluate it (state, history, outbox committed), then ack."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Annotated, Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as CurrentMessage
from faststream.message import StreamMessage
from pydantic import ValidationError, WithJsonSchema

from services.alerts.engine import AlertEngine
from services.alerts.settings import AlertsSettings
from services.alerts.telemetry import AlertsMetrics
from shared.kafka import commit_or_rewind
from shared.retry import Backoff, RetryPolicy
from shared.snapshots import KpiSnapshot, snapshot_adapter

log = logging.getLogger(__name__)
SnapshotRecord = Annotated[
    bytes,
    WithJsonSchema(
        {
            **snapshot_adapter.json_schema(),
            "description": "A KpiSnapshot as JSON (shared/snapshots.py), key "
            "kpi|window|unit_code; one that does not parse is counted and skipped.",
        }
    ),
]
"""What the subscriber receives: the record's bytes, documented (AsyncAPI) as the snapshot they hold."""


def parse_snapshots(records: Sequence[ConsumerRecord[Any, Any]], metrics: AlertsMetrics) -> list[KpiSnapshot]:
    """Valid snapshots of a batch; an unparsable record is counted and skipped (snapshots are re-sent every minute)."""
    snapshots = []
    for record in records:
        try:
            snapshots.append(snapshot_adapter.validate_json(record.value or b""))
        except ValidationError:
            metrics.invalid_snapshots.inc()
            log.warning("skipping an invalid snapshot", extra={"partition": record.partition, "offset": record.offset})
    return snapshots


async def _values(message: StreamMessage[Any]) -> list[bytes]:
    return [record.value or b"" for record in message.raw_message]


def register_consumer(
    broker: KafkaBroker, *, settings: AlertsSettings, engine: AlertEngine, metrics: AlertsMetrics
) -> None:
    """Subscribe the evaluator to the snapshots topic; offsets are committed only after the alerts are."""
    backoff = Backoff(RetryPolicy.fixed(settings.alerts_retry_backoff_s))

    @broker.subscriber(
        settings.topic_snapshots,
        group_id=settings.alerts_group_id,
        batch=True,
        max_records=settings.alerts_batch_max_records,
        batch_timeout_ms=200,
        auto_offset_reset=settings.alerts_offset_reset,
        ack_policy=AckPolicy.MANUAL,
        decoder=_values,
        title="evaluate-snapshots",
        description="KPI snapshots from the metrics service, evaluated against the alert rules; offsets are "
        "committed once the resulting alert changes are.",
    )
    async def evaluate_snapshots(values: list[SnapshotRecord], message: CurrentMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        # A replayed batch is harmless: evaluation depends on values and time, not on how often they arrive.
        async with commit_or_rewind(message, backoff=backoff):
            await engine.on_snapshots(parse_snapshots(records, metrics))
