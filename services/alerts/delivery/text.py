"""Plain-text rendering shared by the chat and email receivers: one notification, a group of them, or a digest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.alerts.core.digest import Digest, DigestEntry
from services.alerts.core.grouping import NotificationGroup
from services.alerts.core.notifications import AlertNotification
from shared.kpi_catalogue import VIETNAM

Message = AlertNotification | NotificationGroup | Digest
DIGEST_LINES = 50
"""Entries a digest spells out in chat and email; the rest are counted (the webhook's JSON has them all)."""


def parse_message(payload: Mapping[str, Any]) -> Message:
    """An outbox payload as what it is, by its `kind`."""
    kind = payload.get("kind")
    if kind == "group":
        return NotificationGroup.model_validate(payload)
    if kind == "digest":
        return Digest.model_validate(payload)
    return AlertNotification.model_validate(payload)


def headline(message: Message) -> str:
    """`[FIRING:warning] summary`, `[RESOLVED] summary`, `[3 ALERTS: 2 firing, 1 resolved]`, `[DIGEST] ...`."""
    if isinstance(message, NotificationGroup):
        return f"[{message.count} ALERTS: {message.firing} firing, {message.resolved} resolved] " + "; ".join(
            _summary(n) for n in message.notifications[:3]
        ) + (" …" if message.count > 3 else "")  # fmt: skip
    if isinstance(message, Digest):
        day = message.slot.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M")
        return f"[DIGEST] {message.count} below target ({day} Vietnam time), {len(message.cleared)} cleared"
    summary = _summary(message)
    if message.status == "resolved":
        return f"[RESOLVED] {summary}"
    return f"[{message.status.upper()}:{message.severity}] {summary}"


def details(message: Message) -> list[str]:
    """The body, one item a line."""
    if isinstance(message, NotificationGroup):
        lines = [f"{headline(n)} ({n.alert_id})" for n in message.notifications]
        return [*lines, f"Notification: {message.id}"]
    if isinstance(message, Digest):
        return _digest_lines(message)
    lines = []
    if description := message.annotations.get("description"):
        lines.append(description)
    if runbook := message.annotations.get("runbook_url"):
        lines.append(f"Runbook: {runbook}")
    lines.append(f"Alert: {message.alert_id} (since {message.starts_at.isoformat(timespec='seconds')})")
    if message.ends_at is not None:
        lines.append(f"Resolved at {message.ends_at.isoformat(timespec='seconds')}")
    lines.append(f"Notification: {message.id}")
    return lines


def status_of(message: Message) -> str:
    """firing or resolved (a group is firing if any member is; a digest lists gaps: firing)."""
    if isinstance(message, AlertNotification):
        return message.status
    if isinstance(message, NotificationGroup):
        return "firing" if message.firing else "resolved"
    return "firing"


def severity_of(message: Message) -> str:
    """The highest severity in the message."""
    order = ["info", "warning", "critical"]
    if isinstance(message, AlertNotification):
        return message.severity
    found = [n.severity for n in message.notifications] if isinstance(message, NotificationGroup) else ["info"]
    return max(found, key=lambda s: order.index(s) if s in order else 0)


def _summary(notification: AlertNotification) -> str:
    return notification.annotations.get("summary", notification.alert_id)


def _change(entry: DigestEntry) -> str:
    if entry.new:
        return "new"
    if entry.change is None:
        return "unchanged"
    return f"{entry.change * 100:+.1f} pts since the last digest"


def _digest_lines(digest: Digest) -> list[str]:
    lines = [f"{e.summary} ({_change(e)})" for e in digest.entries[:DIGEST_LINES]]
    if digest.count > DIGEST_LINES:
        lines.append(f"… and {digest.count - DIGEST_LINES} more")
    lines += [f"Cleared since the last digest: {c.summary}" for c in digest.cleared[:DIGEST_LINES]]
    return [*lines, f"Notification: {digest.id}"]
