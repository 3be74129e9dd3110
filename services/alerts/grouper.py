"""Forms group notifications: a grouping receiver's queued notifications go out together once their group is due
(`group_wait` after the first, `group_interval` after the previous group), alone if there is only one."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from services.alerts.core.grouping import build_group, group_due
from services.alerts.core.notifications import AlertNotification
from services.alerts.core.receivers import grouping_of
from services.alerts.ports import KnownAlerts, Outbox, Outgoing, QueuedEntry

log = logging.getLogger(__name__)


class Grouper:
    """Turns queued outbox rows into due ones; the dispatcher then delivers them like any other."""

    def __init__(self, *, outbox: Outbox, known: KnownAlerts, clock: Callable[[], datetime]) -> None:
        self._outbox = outbox
        self._known = known
        self._clock = clock
        self._last_sent: dict[str, datetime] = {}

    async def form_due(self) -> int:
        """Release or group every receiver's queued notifications that are due; returns how many were due."""
        now = self._clock()
        by_receiver: dict[str, list[QueuedEntry]] = {}
        for entry in await self._outbox.queued():
            by_receiver.setdefault(entry.receiver, []).append(entry)
        due = 0
        for receiver, entries in by_receiver.items():
            grouping = grouping_of(self._known.rules.receivers.get(receiver))
            if grouping is not None:
                group_wait, group_interval = grouping
                at = group_due(
                    first_queued_at=entries[0].created_at,
                    last_sent_at=self._last_sent.get(receiver),
                    group_wait=group_wait,
                    group_interval=group_interval,
                )
                if now < at:
                    continue
            due += len(entries)
            # Alone, or the receiver stopped grouping (or is gone: the dispatcher records that), each goes as it is.
            if grouping is None:
                await self._outbox.release([e.id for e in entries], now=now)
            elif len(entries) == 1:
                await self._outbox.release([e.id for e in entries], now=now, group_key=f"group/{receiver}")
            else:
                await self._group(receiver, entries, now)
            self._last_sent[receiver] = now
        return due

    async def _group(self, receiver: str, entries: list[QueuedEntry], now: datetime) -> None:
        members = [AlertNotification.model_validate(e.payload) for e in entries]
        group = build_group(receiver=receiver, members=members, now=now)
        outgoing = Outgoing(group.id, receiver, "group", group.model_dump(mode="json"))
        if not await self._outbox.form_group([e.id for e in entries], outgoing, group_key=f"group/{receiver}", now=now):
            log.info("another replica grouped these notifications first", extra={"receiver": receiver})
