"""Generic webhook: the notification as JSON, signed with HMAC-SHA256 of the exact body bytes."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from services.alerts.core.receivers import WebhookReceiver
from services.alerts.delivery.base import NOTIFICATION_ID_HEADER, post

SIGNATURE_HEADER = "X-CivicPulse-Signature"


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value: `sha256=<hex HMAC of the body>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str) -> bool:
    """What a receiver runs on the raw body before trusting it (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), header)


class WebhookDeliverer:
    """POSTs to one URL."""

    def __init__(self, config: WebhookReceiver, *, client: httpx.AsyncClient, secret: str | None) -> None:
        self._config = config
        self._client = client
        self._secret = secret.encode() if secret else None

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        body = orjson.dumps(dict(payload))
        headers = {"Content-Type": "application/json", NOTIFICATION_ID_HEADER: str(notification_id)}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, body)
        await post(
            self._client,
            str(self._config.url),
            what=f"webhook {self._config.name}",
            content=body,
            headers=headers,
            timeout_s=self._config.timeout.total_seconds(),
        )
