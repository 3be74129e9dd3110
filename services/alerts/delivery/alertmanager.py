"""Prometheus Alertmanager API v2: alerts are pushed, re-sent while firing, and ended with their resolve time."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from services.alerts.core.notifications import Alert, AlertNotification
from services.alerts.core.receivers import AlertmanagerReceiver
from services.alerts.delivery.base import NOTIFICATION_ID_HEADER, DeliveryError, Receivers, post
from services.alerts.ports import KnownAlerts
from shared.alert_changes import AlertStatus

log = logging.getLogger(__name__)
RESENDS_AHEAD = 3
"""A firing alert ends this many resend intervals ahead: a missed resend or two does not resolve it."""


def am_alert(
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
    generator_url: str,
) -> dict[str, Any]:
    """One element of the `POST /api/v2/alerts` body."""
    alert: dict[str, Any] = {
        "labels": {k: v for k, v in labels.items() if v},
        "annotations": {k: v for k, v in annotations.items() if v},
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
    }
    if generator_url:
        alert["generatorURL"] = generator_url
    return alert


def ends_at_while_firing(config: AlertmanagerReceiver, now: datetime) -> datetime:
    """endsAt of a firing alert: a few resend intervals ahead."""
    return now + RESENDS_AHEAD * config.resend_interval


class AlertmanagerDeliverer:
    """Pushes one alert per notification: firing ones with a future endsAt, resolved ones with their resolve time."""

    def __init__(self, config: AlertmanagerReceiver, *, client: httpx.AsyncClient, clock: Callable[[], datetime]):
        self.config = config
        self._client = client
        self._clock = clock

    @property
    def url(self) -> str:
        return str(self.config.url).rstrip("/") + "/api/v2/alerts"

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        notification = AlertNotification.model_validate(payload)
        ends = notification.ends_at if notification.ends_at else ends_at_while_firing(self.config, self._clock())
        alert = am_alert(
            labels=notification.labels,
            annotations=notification.annotations,
            starts_at=notification.starts_at,
            ends_at=ends,
            generator_url=self.config.generator_url,
        )
        await self.push([alert], headers={NOTIFICATION_ID_HEADER: str(notification_id)})

    async def push(self, alerts: list[dict[str, Any]], *, headers: Mapping[str, str] | None = None) -> None:
        """POST a list of alerts."""
        await post(
            self._client,
            self.url,
            what=f"alertmanager {self.config.name}",
            json=alerts,
            headers=dict(headers or {}),
            timeout_s=self.config.timeout.total_seconds(),
        )


class AlertmanagerResender:
    """Re-sends every notified firing alert routed to Alertmanager each resend interval, as Alertmanager expects."""

    def __init__(self, *, receivers: Receivers, known: KnownAlerts, clock: Callable[[], datetime]) -> None:
        self._receivers = receivers
        self._known = known
        self._clock = clock
        self._last: dict[str, datetime] = {}

    async def run(self, *, period: float = 1.0) -> None:
        """Check every `period` seconds which receivers are due."""
        while True:
            try:
                await self.resend_due()
            except Exception:  # a bug here must not stop the resends for good
                log.exception("alertmanager resend round failed")
            await asyncio.sleep(period)

    async def resend_due(self) -> None:
        """Push the firing alerts of every receiver whose resend interval has passed."""
        now = self._clock()
        alertmanagers = [d for d in self._receivers.current.values() if isinstance(d, AlertmanagerDeliverer)]
        for deliverer in alertmanagers:
            name = deliverer.config.name
            if now - self._last.get(name, datetime.min.replace(tzinfo=now.tzinfo)) < deliverer.config.resend_interval:
                continue
            self._last[name] = now
            alerts = [self._alert(alert, deliverer.config, now) for alert in self._firing(name)]
            if alerts:
                try:
                    await deliverer.push(alerts)
                except DeliveryError:
                    log.warning("alertmanager resend failed", extra={"receiver": name}, exc_info=True)
                    self._last[name] = now - deliverer.config.resend_interval + timedelta(seconds=5)

    def _firing(self, receiver: str) -> list[Alert]:
        routed = {r.name for r in self._known.rules if receiver in r.receivers}
        return [
            a
            for a in self._known.alerts.values()
            if a.state.status is AlertStatus.FIRING and a.state.rule in routed and a.state.last_notified_at is not None
        ]

    @staticmethod
    def _alert(alert: Alert, config: AlertmanagerReceiver, now: datetime) -> dict[str, Any]:
        return am_alert(
            labels=alert.labels,
            annotations=alert.annotations,
            starts_at=alert.state.fired_at or now,
            ends_at=ends_at_while_firing(config, now),
            generator_url=config.generator_url,
        )
