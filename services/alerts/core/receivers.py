"""Receiver configurations: where notifications go. Secrets are named by environment variable, never inline."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.alerts.core.durations import Duration

ALERTS_TOPIC_RECEIVER = "alerts-topic"
"""Reserved receiver: every state change goes through the outbox to the `civicpulse.alerts` topic."""

ReceiverName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$", description="Name of an environment variable.")]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class _Receiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ReceiverName
    timeout: Duration = Field(default=timedelta(seconds=10), description="Per-request timeout.")

    def secret_envs(self) -> dict[str, str]:
        """Field name → environment variable this receiver needs set."""
        return {}


class _Notifying(_Receiver):
    """A receiver people read: its notifications can be grouped, and it gets the digest of its digest alerts."""

    group_wait: Duration | None = Field(
        default=None,
        description="Group notifications: hold the first this long, then send every one due as one notification "
        "(unset: each is sent on its own, at once).",
    )
    group_interval: Duration = Field(
        default=timedelta(minutes=5), description="Least time between two grouped notifications to this receiver."
    )
    digest_at: time = Field(default=time(8, 0), description="Vietnam time of the first digest of a day.")
    digest_every: Duration = Field(
        default=timedelta(days=1), description="Time between digests (from digest_at, Vietnam time)."
    )

    @field_validator("digest_every")
    @classmethod
    def _positive(cls, every: timedelta) -> timedelta:
        if every <= timedelta(0):
            raise ValueError("digest_every must be longer than 0s")
        return every


class WebhookReceiver(_Notifying):
    """POST the notification as JSON, signed with HMAC-SHA256 of the body."""

    type: Literal["webhook"]
    url: HttpUrl
    secret_env: EnvName | None = Field(default=None, description="Variable holding the HMAC key.")

    def secret_envs(self) -> dict[str, str]:
        return {"secret_env": self.secret_env} if self.secret_env else {}


class AlertmanagerReceiver(_Receiver):
    """Prometheus Alertmanager API v2; firing alerts are re-sent every `resend_interval`."""

    type: Literal["alertmanager"]
    url: HttpUrl = Field(description="Base URL, e.g. http://alertmanager:9093")
    resend_interval: Duration = Field(default=timedelta(minutes=1), description="Re-send firing alerts this often.")
    generator_url: str = Field(default="", description="Link back to CivicPulse shown by Alertmanager.")


class SlackReceiver(_Notifying):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat)."""

    type: Literal["slack"]
    url_env: EnvName = Field(description="Variable holding the webhook URL (the URL is the secret).")

    def secret_envs(self) -> dict[str, str]:
        return {"url_env": self.url_env}


class TelegramReceiver(_Notifying):
    """Telegram Bot API `sendMessage`."""

    type: Literal["telegram"]
    bot_token_env: EnvName
    chat_id: str = Field(min_length=1)
    api_url: HttpUrl = Field(default=HttpUrl("https://api.telegram.org"))

    def secret_envs(self) -> dict[str, str]:
        return {"bot_token_env": self.bot_token_env}


class EmailReceiver(_Notifying):
    """Email over SMTP (optionally STARTTLS or implicit TLS, optionally authenticated)."""

    type: Literal["email"]
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password_env: EnvName | None = None
    from_address: str
    to: list[str] = Field(min_length=1)

    def secret_envs(self) -> dict[str, str]:
        return {"password_env": self.password_env} if self.password_env else {}

    @field_validator("from_address")
    @classmethod
    def _one_address(cls, address: str) -> str:
        if not _EMAIL.match(address):
            raise ValueError(f"{address!r} is not an email address")
        return address

    @field_validator("to")
    @classmethod
    def _addresses(cls, addresses: list[str]) -> list[str]:
        return [cls._one_address(a) for a in addresses]


NotifyingReceiver = WebhookReceiver | SlackReceiver | TelegramReceiver | EmailReceiver
"""Receivers that get grouped notifications and digests (Alertmanager groups by itself and gets every alert)."""

ReceiverConfig = Annotated[
    WebhookReceiver | AlertmanagerReceiver | SlackReceiver | TelegramReceiver | EmailReceiver,
    Field(discriminator="type"),
]


def grouping_of(config: object) -> tuple[timedelta, timedelta] | None:
    """(group_wait, group_interval) of a receiver that groups its notifications, else None."""
    if isinstance(config, _Notifying) and config.group_wait is not None:
        return config.group_wait, config.group_interval
    return None
