"""The snapshots-topic subscriber: parse a batch, evaluate it (state, history, outbox committed), then ack."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage as CurrentMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from services.alerts.engine import AlertEngine
from services.alerts.settings import AlertsSettings
from services.alerts.telemetry import AlertsMetrics
from shared.kafka import commit_or_rewind
from shared.snapshots import KpiSnapshot, snapshot_adapter

log = logging.getLogger(__name__)


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


async def _raw_body(message: StreamMessage[Any]) -> Any:
    return message.body


def register_consumer(
    broker: KafkaBroker, *, settings: AlertsSettings, engine: AlertEngine, metrics: AlertsMetrics
) -> None:
    """Subscribe the evaluator to the snapshots topic; offsets are committed only after the alerts are."""

    @broker.subscriber(
        settings.topic_snapshots,
        group_id=settings.alerts_group_id,
        batch=True,
        max_records=settings.alerts_batch_max_records,
        batch_timeout_ms=200,
        auto_offset_reset=settings.alerts_offset_reset,
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        title="evaluate snapshots",
    )
    async def evaluate_snapshots(body: Any, message: CurrentMessage) -> None:
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        # A replayed batch is harmless: evaluation depends on values and time, not on how often they arrive.
        async with commit_or_rewind(message, retry_backoff_s=settings.alerts_retry_backoff_s):
            await engine.on_snapshots(parse_snapshots(records, metrics))
