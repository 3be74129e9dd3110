"""What every receiver implements, and how HTTP answers map to retry or give up."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

NOTIFICATION_ID_HEADER = "X-CivicPulse-Notification-Id"


class DeliveryError(Exception):
    """A delivery failed; `permanent` ones are not retried (the request itself is wrong)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Deliverer(Protocol):
    """Sends one outbox payload; raises DeliveryError (or any exception: retried) when it did not arrive."""

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None: ...


@dataclass(slots=True)
class Receivers:
    """Receiver name → its deliverer; replaced as a whole when the rules are reloaded."""

    current: Mapping[str, Deliverer]


def check_response(response: httpx.Response, *, what: str) -> None:
    """2xx is delivered; 408, 429 and 5xx are retried; any other 4xx is permanent."""
    if response.is_success:
        return
    status = response.status_code
    detail = f"{what} answered {status}: {response.text[:300]}"
    raise DeliveryError(detail, permanent=400 <= status < 500 and status not in (408, 425, 429))


async def post(client: httpx.AsyncClient, url: str, *, what: str, timeout_s: float, **kwargs: Any) -> None:
    """POST and check the answer; transport errors are retried."""
    try:
        response = await client.post(url, timeout=timeout_s, **kwargs)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from exc
    check_response(response, what=what)
