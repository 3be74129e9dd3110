"""The reserved `alerts-topic` receiver: state changes from the outbox to the `civicpulse.alerts` topic."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from services.alerts.delivery.base import DeliveryError
from shared.producer import OutgoingRecord, RecordSink


class AlertsTopicDeliverer:
    """Produces an AlertChange with key = alert id, so one alert's changes stay in order on one partition."""

    def __init__(self, producer: RecordSink, *, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        headers = [("content-type", b"application/json"), ("x-civicpulse-change-id", str(notification_id).encode())]
        record = OutgoingRecord(self._topic, str(payload["alert_id"]).encode(), orjson.dumps(dict(payload)), headers)
        try:
            await self._producer.send_all([record])
        except Exception as exc:  # any producer error: the outbox retries it
            raise DeliveryError(f"alerts topic: {type(exc).__name__}: {exc}") from exc
