"""Plain-text rendering shared by the chat and email receivers."""

from __future__ import annotations

from services.alerts.core.notifications import AlertNotification


def headline(notification: AlertNotification) -> str:
    """`[FIRING:warning] summary` or `[RESOLVED] summary`."""
    summary = notification.annotations.get("summary", notification.alert_id)
    if notification.status == "resolved":
        return f"[RESOLVED] {summary}"
    return f"[{notification.status.upper()}:{notification.severity}] {summary}"


def details(notification: AlertNotification) -> list[str]:
    """Description, runbook, and the alert's identity, one item a line."""
    lines = []
    if description := notification.annotations.get("description"):
        lines.append(description)
    if runbook := notification.annotations.get("runbook_url"):
        lines.append(f"Runbook: {runbook}")
    lines.append(f"Alert: {notification.alert_id} (since {notification.starts_at.isoformat(timespec='seconds')})")
    if notification.ends_at is not None:
        lines.append(f"Resolved at {notification.ends_at.isoformat(timespec='seconds')}")
    lines.append(f"Notification: {notification.id}")
    return lines
