"""HTTP API: active alerts (with value, target and since) and their history, read from the store."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.alerts.core.notifications import Alert
from services.alerts.core.rules import Notify
from services.alerts.core.silences import NO_NUL, silencing
from services.alerts.ports import AlertsStorage, HistoryRecord
from shared.alert_changes import AlertStatus


class ActiveAlert(BaseModel):
    """A pending or firing alert; silenced ones are listed too, with the silences muting them."""

    alert_id: str
    rule: str
    subject: str
    status: AlertStatus
    severity: str
    since: datetime | None
    fired_at: datetime | None
    value: float | None
    target: float | None
    numerator: int | None
    denominator: int | None
    observed_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    silenced_by: list[uuid.UUID]


class AlertList(BaseModel):
    """Active alerts."""

    count: int
    items: list[ActiveAlert]


HistoryEntry = HistoryRecord
"""One state change, as stored (the port's record is the response model: one definition of its fields)."""


class History(BaseModel):
    """A page of history, newest first; pass `next_before` as `before` for the next page."""

    items: list[HistoryEntry]
    next_before: int | None


def alerts_router(*, storage: AlertsStorage, clock: Callable[[], datetime]) -> APIRouter:
    """Routes over stored alerts and their history."""
    router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

    @router.get("")
    async def active_alerts(
        status: AlertStatus | None = None,
        rule: Annotated[str | None, Query(max_length=200)] = None,
        severity: Annotated[str | None, Query(max_length=50)] = None,
        notify: Notify | None = None,
    ) -> AlertList:
        """Pending and firing alerts, oldest first (`notify`: page or digest alerts only)."""
        now = clock()
        active, in_force = await storage.alerts.active(), await storage.silences.in_force(now=now)
        items = [_active(alert, silencing(in_force, alert.labels, now)) for alert in active]
        items = [
            a
            for a in items
            if (status is None or a.status == status)
            and (rule is None or a.rule == rule)
            and (severity is None or a.severity == severity)
            and (notify is None or a.labels.get("notify", "page") == notify)
        ]
        return AlertList(count=len(items), items=items)

    @router.get("/history")
    async def history(
        alert_id: Annotated[str | None, Query(max_length=500, pattern=NO_NUL)] = None,
        rule: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,  # alert_history.id is a bigint
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> History:
        """State changes, newest first, filtered by alert or rule."""
        records = await storage.history.page(alert_id=alert_id, rule=rule, before=before, limit=limit)
        items = list(records)
        return History(items=items, next_before=items[-1].id if len(items) == limit else None)

    return router


def _active(alert: Alert, silenced_by: list[uuid.UUID]) -> ActiveAlert:
    state, reading = alert.state, alert.state.reading
    return ActiveAlert(
        alert_id=state.alert_id,
        rule=state.rule,
        subject=state.subject,
        status=state.status,
        severity=alert.severity,
        since=state.since,
        fired_at=state.fired_at,
        value=reading.value if reading else None,
        target=alert.target,
        numerator=reading.numerator if reading else None,
        denominator=reading.denominator if reading else None,
        observed_at=reading.observed_at if reading else None,
        labels=alert.labels,
        annotations=alert.annotations,
        silenced_by=silenced_by,
    )
