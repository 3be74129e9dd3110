"""Builds a deliverer per configured receiver, reading each secret from the environment it names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from services.alerts.core.receivers import (
    ALERTS_TOPIC_RECEIVER,
    AlertmanagerReceiver,
    EmailReceiver,
    SlackReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from services.alerts.core.ruleset import RuleSet
from services.alerts.delivery.alertmanager import AlertmanagerDeliverer
from services.alerts.delivery.base import Deliverer
from services.alerts.delivery.chat import SlackDeliverer, TelegramDeliverer
from services.alerts.delivery.smtp import EmailDeliverer
from services.alerts.delivery.topic import AlertsTopicDeliverer
from services.alerts.delivery.webhook import WebhookDeliverer
from shared.producer import RecordSink


def build_deliverers(
    rules: RuleSet,
    *,
    client: httpx.AsyncClient,
    environ: Mapping[str, str],
    changes: RecordSink,
    changes_topic: str,
    clock: Callable[[], datetime],
) -> dict[str, Deliverer]:
    """Receiver name → deliverer, plus the reserved alerts-topic one producing to `changes_topic` (secrets were
    checked when the rules were loaded)."""
    deliverers: dict[str, Deliverer] = {ALERTS_TOPIC_RECEIVER: AlertsTopicDeliverer(changes, topic=changes_topic)}
    for name, config in rules.receivers.items():
        if isinstance(config, WebhookReceiver):
            secret = environ.get(config.secret_env) if config.secret_env else None
            deliverers[name] = WebhookDeliverer(config, client=client, secret=secret)
        elif isinstance(config, AlertmanagerReceiver):
            deliverers[name] = AlertmanagerDeliverer(config, client=client, clock=clock)
        elif isinstance(config, SlackReceiver):
            deliverers[name] = SlackDeliverer(config, client=client, url=environ.get(config.url_env, ""))
        elif isinstance(config, TelegramReceiver):
            deliverers[name] = TelegramDeliverer(config, client=client, token=environ.get(config.bot_token_env, ""))
        elif isinstance(config, EmailReceiver):
            password = environ.get(config.password_env) if config.password_env else None
            deliverers[name] = EmailDeliverer(config, password=password)
    return deliverers
