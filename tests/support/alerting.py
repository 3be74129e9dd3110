"""Test doubles that are real servers (an HTTP sink that records what receivers get, an SMTP server, Alertmanager),
and the alerts service's parts over a test database, built by the service's own factory."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from services.alerts.core.ruleset import RuleSet
from services.alerts.inject import Alerts, build_alerts
from services.alerts.settings import AlertsSettings
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok
from shared.producer import OutgoingRecord, RecordSink

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@dataclass(frozen=True, slots=True)
class Received:
    """One request the sink answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class HttpSink:
    """A local HTTP server recording every POST; `failing` makes it answer 503 (a receiver that is down)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[Received] = []
        self.failing = False
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpSink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = 503 if sink.failing else 200
                with sink._lock:
                    sink.received.append(Received(self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}' if status == 200 else b'{"ok": false}')

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered 200, optionally only those to one path."""
        with self._lock:
            return [r for r in self.received if r.status == 200 and (path is None or r.path == path)]

    def attempts(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if path is None or r.path == path]


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's hook name)
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted for delivery"


class SmtpSink:
    """aiosmtpd on a free port, keeping every message."""

    def __init__(self) -> None:
        self.port = free_port()
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        return list(self._collector.messages)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class Alertmanager:
    """The Debian package's Alertmanager, routing everything to a webhook with resolved notifications on."""

    def __init__(self, home: Path, *, webhook_url: str) -> None:
        self.home = home
        self.port = free_port()
        self.webhook_url = webhook_url
        self._process: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Alertmanager:
        if shutil.which(ALERTMANAGER) is None:
            raise RuntimeError(f"{ALERTMANAGER} is not installed (apt-get install prometheus-alertmanager)")
        self.home.mkdir(parents=True, exist_ok=True)
        config = {
            "route": {
                "receiver": "sink",
                "group_by": ["alertname", "unit"],
                "group_wait": "100ms",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [{"name": "sink", "webhook_configs": [{"url": self.webhook_url, "send_resolved": True}]}],
        }
        (self.home / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self._process = spawn(
            [
                ALERTMANAGER,
                f"--config.file={self.home / 'alertmanager.yml'}",
                f"--storage.path={self.home / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",
            ],
            log_file=self.home / "alertmanager.log",
            pid_file=self.home / "alertmanager.pid",
        )
        process = self._process
        wait_until(
            lambda: http_ok(f"{self.url}/-/ready"),
            timeout=30,
            what=f"alertmanager ({self.home})",
            alive=lambda: process.poll() is None,
        )
        return self

    def stop(self) -> None:
        if self._process is not None:
            stop_pid(self._process.pid, timeout=5)
            self._process.wait(10)
            self._process = None


async def eventually(check: Any, *, timeout: float, what: str, interval: float = 0.1) -> Any:  # noqa: ASYNC109
    """Poll check() (sync or async) until it returns something truthy, and return it; awaits between polls so
    the test's own event loop keeps running. `timeout` is a hang guard saying what never happened."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what}: still not true after {timeout:.0f}s (last: {last!r})")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


class RecordedChanges:
    """Stands in for the Kafka producer of the alerts topic: keeps every record it is given."""

    def __init__(self) -> None:
        self.records: list[OutgoingRecord] = []

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        self.records.extend(records)

    def changes(self) -> list[Any]:
        """The AlertChange bodies, in order."""
        return [orjson.loads(r.value or b"") for r in self.records]


@asynccontextmanager
async def alerts_over(
    pool: asyncpg.Pool[Any],
    *,
    rules: RuleSet,
    clock: Callable[[], datetime],
    producer: RecordSink | None = None,
    environ: Mapping[str, str] | None = None,
    **settings: Any,
) -> AsyncIterator[Alerts]:
    """The alerts service's parts over a test database, as `build_alerts` wires them (changes recorded unless a
    producer is given); nothing consumes or runs in the background: the test drives the engine and dispatcher."""
    built = build_alerts(
        AlertsSettings(**settings),
        pool=pool,
        rules=rules,
        clock=clock,
        producer=producer or RecordedChanges(),
        environ=environ or {},
    )
    async with built:
        yield built
