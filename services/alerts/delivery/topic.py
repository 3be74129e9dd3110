"""The reserved `alerts-topic` receiver: state changes from the outbox to the `civicpulse.alerts` topic."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from services.alerts.delivery.base import DeliveryError

PublishChange = Callable[[bytes, bytes, dict[str, str]], Awaitable[None]]
"""(key, value, headers) → awaited until the broker acknowledged it."""


class AlertsTopicDeliverer:
    """Publishes an AlertChange with key = alert id, so one alert's changes stay in order on one partition."""

    def __init__(self, publish: PublishChange) -> None:
        self._publish = publish

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        key = str(payload["alert_id"]).encode()
        headers = {"content-type": "application/json", "x-civicpulse-change-id": str(notification_id)}
        try:
            await self._publish(key, orjson.dumps(dict(payload)), headers)
        except Exception as exc:  # any producer error: the outbox retries it
            raise DeliveryError(f"alerts topic: {type(exc).__name__}: {exc}") from exc
