"""Chat receivers: Slack-compatible incoming webhooks and the Telegram Bot API."""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping
from typing import Any

import httpx

from services.alerts.core.receivers import SlackReceiver, TelegramReceiver
from services.alerts.delivery.base import post
from services.alerts.delivery.text import Message, details, headline, parse_message, severity_of, status_of

COLORS = {"resolved": "#2eb886", "critical": "#d00000", "warning": "#f2c744", "info": "#439fe0"}


def slack_message(notification: Message) -> dict[str, Any]:
    """An incoming-webhook message: a text line for notifications, an attachment with the details."""
    resolved = status_of(notification) == "resolved"
    color = COLORS["resolved"] if resolved else COLORS.get(severity_of(notification), "#439fe0")
    return {
        "text": headline(notification),
        "attachments": [
            {
                "color": color,
                "text": "\n".join(details(notification)),
                "footer": f"CivicPulse · {notification.id}",
                "ts": int(notification.at.timestamp()),
            }
        ],
    }


TELEGRAM_MAX_CHARS = 4096
"""Telegram refuses longer messages (a 400: the notification would fail for good)."""


def telegram_message(notification: Message, *, chat_id: str) -> dict[str, Any]:
    """A `sendMessage` request: HTML with the headline in bold, whole lines up to Telegram's length limit."""
    lines = [f"<b>{html.escape(headline(notification))}</b>", *map(html.escape, details(notification))]
    kept: list[str] = []
    for line in lines:
        if sum(len(k) + 1 for k in kept) + len(line) > TELEGRAM_MAX_CHARS - 2:
            kept.append("…")
            break
        kept.append(line)
    return {"chat_id": chat_id, "text": "\n".join(kept), "parse_mode": "HTML", "disable_web_page_preview": True}


class SlackDeliverer:
    """POSTs to a Slack-compatible incoming webhook (the URL, a secret, comes from the environment)."""

    def __init__(self, config: SlackReceiver, *, client: httpx.AsyncClient, url: str) -> None:
        self._config = config
        self._client = client
        self._url = url

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        message = slack_message(parse_message(payload))
        await post(
            self._client,
            self._url,
            what=f"slack {self._config.name}",
            json=message,
            timeout_s=self._config.timeout.total_seconds(),
        )


class TelegramDeliverer:
    """Calls `sendMessage` of a bot (the token comes from the environment)."""

    def __init__(self, config: TelegramReceiver, *, client: httpx.AsyncClient, token: str) -> None:
        self._config = config
        self._client = client
        self._url = f"{str(config.api_url).rstrip('/')}/bot{token}/sendMessage"

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        message = telegram_message(parse_message(payload), chat_id=self._config.chat_id)
        await post(
            self._client,
            self._url,
            what=f"telegram {self._config.name}",
            json=message,
            timeout_s=self._config.timeout.total_seconds(),
        )
