"""The alerts panel's source: the alerts service's `/v1/alerts`, read over HTTP by the board's server.

The page asks the metrics service, not the alerts service, so the browser talks to one origin and the panel can
say "unavailable" when the alerts API is down or not configured instead of failing in the browser.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)
SHOWN = 50


class BoardAlert(BaseModel):
    """An active alert as the board shows it."""

    alert_id: str
    rule: str
    subject: str
    status: str
    severity: str
    since: datetime | None
    value: float | None
    target: float | None
    summary: str | None
    unit: str | None
    unit_name: str | None = None
    silenced: bool


class BoardAlerts(BaseModel):
    """Active alerts, firing first then by severity and age; `available` is false when the API didn't answer."""

    available: bool
    count: int
    items: list[BoardAlert]


SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class AlertsFeed:
    """Reads active alerts from the alerts API with a short timeout; any failure is `available: false`."""

    def __init__(self, client: httpx.AsyncClient | None) -> None:
        self._client = client

    async def active(self) -> BoardAlerts:
        """The active alerts, or unavailable."""
        if self._client is None:
            return BoardAlerts(available=False, count=0, items=[])
        try:
            response = await self._client.get("/v1/alerts")
            response.raise_for_status()
            raw: list[dict[str, Any]] = response.json()["items"]
            items = [_board_alert(a) for a in raw]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, ValidationError) as exc:
            log.info("alerts API unavailable for the board", extra={"error": repr(exc)})
            return BoardAlerts(available=False, count=0, items=[])
        items.sort(
            key=lambda a: (
                a.status != "firing",
                SEVERITY_ORDER.get(a.severity, 9),
                a.since.timestamp() if a.since else float("inf"),
            )
        )
        return BoardAlerts(available=True, count=len(items), items=items[:SHOWN])


def _board_alert(raw: dict[str, Any]) -> BoardAlert:
    labels: dict[str, str] = raw.get("labels") or {}
    annotations: dict[str, str] = raw.get("annotations") or {}
    return BoardAlert(
        alert_id=raw["alert_id"],
        rule=raw["rule"],
        subject=raw["subject"],
        status=raw["status"],
        severity=raw["severity"],
        since=raw.get("since"),
        value=raw.get("value"),
        target=raw.get("target"),
        summary=annotations.get("summary"),
        unit=labels.get("unit"),
        silenced=bool(raw.get("silenced_by")),
    )
