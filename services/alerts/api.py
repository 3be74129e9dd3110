"""HTTP API: active alerts (with value, target and since) and their history, read from PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.alerts import inputs, queries
from services.alerts.core.silences import NO_NUL, silencing
from shared.alert_changes import AlertStatus

PoolProvider = Callable[[], "asyncpg.Pool[Any]"]


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


class HistoryEntry(BaseModel):
    """One state change."""

    id: int
    alert_id: str
    rule: str
    subject: str
    from_status: AlertStatus
    to_status: AlertStatus
    at: datetime
    episode: int
    value: float | None
    target: float | None
    numerator: int | None
    denominator: int | None
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    note: str | None


class History(BaseModel):
    """A page of history, newest first; pass `next_before` as `before` for the next page."""

    items: list[HistoryEntry]
    next_before: int | None


def alerts_router(*, pool: PoolProvider, clock: Callable[[], datetime]) -> APIRouter:
    """Routes over the alert tables."""
    router = APIRouter(prefix="/v1/alerts", tags=["alerts"])

    @router.get("")
    async def active_alerts(
        status: AlertStatus | None = None,
        rule: Annotated[str | None, Query(max_length=200)] = None,
        severity: Annotated[str | None, Query(max_length=50)] = None,
    ) -> AlertList:
        """Pending and firing alerts, oldest first."""
        now = clock()
        async with pool().acquire() as connection:
            rows = await connection.fetch(queries.SELECT_ACTIVE)
            silences = await inputs.load_silences(connection, now=now)
        items = [_active(row, silencing(silences, row["labels"], now)) for row in rows]
        items = [a for a in items if (status is None or a.status == status) and (rule is None or a.rule == rule)
                 and (severity is None or a.severity == severity)]  # fmt: skip
        return AlertList(count=len(items), items=items)

    @router.get("/history")
    async def history(
        alert_id: Annotated[str | None, Query(max_length=500, pattern=NO_NUL)] = None,
        rule: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
        before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,  # alert_history.id is a bigint
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> History:
        """State changes, newest first, filtered by alert or rule."""
        async with pool().acquire() as connection:
            rows = await connection.fetch(queries.SELECT_HISTORY, alert_id, rule, before, limit)
        items = [HistoryEntry.model_validate(dict(row)) for row in rows]
        return History(items=items, next_before=items[-1].id if len(items) == limit else None)

    return router


def _active(row: Mapping[str, Any], silenced_by: list[uuid.UUID]) -> ActiveAlert:
    fields = {k: row[k] for k in ActiveAlert.model_fields if k != "silenced_by" and k in row}
    return ActiveAlert.model_validate({**fields, "silenced_by": silenced_by})
