"""Sends each receiver's digest at its scheduled slots: its firing `notify: digest` alerts, worst first, with the
change since its previous digest, recorded and queued in one transaction (a slot is digested once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from services.alerts.core.digest import Digest, build_digest, digest_slot
from services.alerts.core.notifications import Alert
from services.alerts.core.receivers import EmailReceiver, SlackReceiver, TelegramReceiver, WebhookReceiver
from services.alerts.core.silences import Silence, silencing
from services.alerts.ports import DigestStore, KnownAlerts, Outgoing

log = logging.getLogger(__name__)
DIGEST_KIND = "digest"


class SilencedAlerts(KnownAlerts, Protocol):
    """The engine: alerts and rules in force, and the silences it read last."""

    @property
    def silences(self) -> Sequence[Silence]: ...


class DigestScheduler:
    """Checks every round whether a receiver's slot came; empty digests are recorded but not sent."""

    def __init__(
        self,
        *,
        digests: DigestStore,
        known: SilencedAlerts,
        clock: Callable[[], datetime],
        transient_errors: tuple[type[Exception], ...] = (OSError,),
    ) -> None:
        self._digests = digests
        self._known = known
        self._clock = clock
        self._transient_errors = transient_errors
        self._done: dict[str, datetime] = {}

    async def run(self, *, period: float) -> None:
        """Every `period` seconds until cancelled; a failed round (database down) is retried next time."""
        while True:
            try:
                await self.send_due()
            except self._transient_errors:
                log.warning("digest round failed; retrying", exc_info=True)
            await asyncio.sleep(period)

    async def send_due(self) -> list[Digest]:
        """Record (and queue, unless empty) the digest of every receiver whose slot has come; returns them."""
        now, rules = self._clock(), self._known.rules
        made = []
        for name, config in rules.receivers.items():
            if not isinstance(config, WebhookReceiver | SlackReceiver | TelegramReceiver | EmailReceiver):
                continue  # Alertmanager gets every alert itself, with its `notify` label
            digested = {r.name for r in rules if r.notify == "digest" and name in r.receivers}
            slot = digest_slot(config, now)
            if not digested or self._done.get(name) == slot:
                continue
            last = await self._digests.last(name)
            if last is not None and last.slot >= slot:
                self._done[name] = slot
                continue
            alerts = [a for a in self._known.alerts.values() if a.state.rule in digested and not self._muted(a, now)]
            digest = build_digest(
                receiver=name,
                slot=slot,
                now=now,
                alerts=alerts,
                previous=last.entries if last is not None else {},
                previous_slot=last.slot if last is not None else None,
            )
            outgoing = None
            if digest.entries or digest.cleared:
                outgoing = Outgoing(digest.id, name, DIGEST_KIND, digest.model_dump(mode="json"))
            if await self._digests.add(digest, outgoing, now=now):
                made.append(digest)
                log.info("digest recorded", extra={"receiver": name, "entries": digest.count, "slot": str(slot)})
            self._done[name] = slot
        return made

    def _muted(self, alert: Alert, now: datetime) -> bool:
        return bool(silencing(self._known.silences, alert.labels, now))
