"""Structured logging: one JSON object a line, secrets never included."""

from __future__ import annotations

import logging
import sys

import prometheus_client
from pythonjsonlogger.json import JsonFormatter


def configure_logging(*, level: str = "INFO", fmt: str = "json", service: str = "civicpulse") -> None:
    """Send the root logger's records to stderr as JSON (or plain lines for a console)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
                static_fields={"service": service},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    # `_created` series double every counter's exposition and nobody graphs them.
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiokafka logs every reconnect attempt at ERROR while a broker is down; our own logs say it once.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
