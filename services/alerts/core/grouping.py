"""Grouping: notifications due to one receiver at once go out as one, as Alertmanager's group_wait and
group_interval do. Pure: when a receiver's queued notifications are due, and the group notification they form."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from services.alerts.core.notifications import NAMESPACE, AlertNotification


class NotificationGroup(BaseModel):
    """Several notifications to one receiver as one: the generic webhook's JSON body (`kind: group`)."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID
    kind: Literal["group"] = "group"
    receiver: str
    at: datetime
    count: int
    firing: int
    resolved: int
    notifications: list[AlertNotification]


def group_due(
    *, first_queued_at: datetime, last_sent_at: datetime | None, group_wait: timedelta, group_interval: timedelta
) -> datetime:
    """When a receiver's queued notifications go out: `group_wait` after the first of them, and never sooner than
    `group_interval` after the receiver's previous group."""
    due = first_queued_at + group_wait
    return max(due, last_sent_at + group_interval) if last_sent_at is not None else due


def group_id(receiver: str, member_ids: Sequence[uuid.UUID]) -> uuid.UUID:
    """Stable for the same members: a group formed again after a crash has the same id."""
    return uuid.uuid5(NAMESPACE, f"group|{receiver}|{','.join(sorted(map(str, member_ids)))}")


def build_group(*, receiver: str, members: Sequence[AlertNotification], now: datetime) -> NotificationGroup:
    """The group of notifications, in the order they were queued."""
    return NotificationGroup(
        id=group_id(receiver, [m.id for m in members]),
        receiver=receiver,
        at=now,
        count=len(members),
        firing=sum(1 for m in members if m.status == "firing"),
        resolved=sum(1 for m in members if m.status == "resolved"),
        notifications=list(members),
    )
