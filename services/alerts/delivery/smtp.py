"""Email over SMTP; the notification id is the Message-ID, so mail systems drop a redelivered copy."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import uuid
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from services.alerts.core.receivers import EmailReceiver
from services.alerts.delivery.base import NOTIFICATION_ID_HEADER, DeliveryError
from services.alerts.delivery.text import Message, details, headline, parse_message


def email_message(notification: Message, *, sender: str, recipients: list[str]) -> EmailMessage:
    """A plain-text message for one notification."""
    message = EmailMessage()
    message["Subject"] = headline(notification)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = f"<{notification.id}@civicpulse>"
    message[NOTIFICATION_ID_HEADER] = str(notification.id)
    message.set_content("\n\n".join(details(notification)) + "\n")
    return message


class EmailDeliverer:
    """Sends through one SMTP server (blocking smtplib in a worker thread)."""

    def __init__(self, config: EmailReceiver, *, password: str | None) -> None:
        self._config = config
        self._password = password

    async def deliver(self, notification_id: uuid.UUID, payload: Mapping[str, Any]) -> None:
        message = email_message(parse_message(payload), sender=self._config.from_address, recipients=self._config.to)
        try:
            await asyncio.to_thread(self._send, message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"email {self._config.name}: recipients refused: {exc}", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"email {self._config.name}: {type(exc).__name__}: {exc}") from exc

    def _send(self, message: EmailMessage) -> None:
        config, timeout = self._config, self._config.timeout.total_seconds()
        context = ssl.create_default_context()
        smtp_class = smtplib.SMTP_SSL if config.security == "tls" else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": context} if config.security == "tls" else {}
        with smtp_class(config.smtp_host, config.smtp_port, timeout=timeout, **kwargs) as smtp:
            if config.security == "starttls":
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, self._password or "")
            smtp.send_message(message)
