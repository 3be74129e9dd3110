"""Run the project's services as real processes in tests, pointed at the session's Kafka and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok
from shared.events import Event, dump_event
from shared.settings import KafkaSettings, TopicSettings


def service_env(*, kafka: KafkaSettings, topics: TopicSettings, pg_dsn: str, **extra: str) -> dict[str, str]:
    """The environment of a service process under test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env.update(
        CIVICPULSE_KAFKA_BOOTSTRAP=kafka.kafka_bootstrap,
        CIVICPULSE_PG_DSN=pg_dsn,
        CIVICPULSE_ENVIRONMENT="test",
        CIVICPULSE_LOG_LEVEL="INFO",
        CIVICPULSE_TOPIC_RAW=topics.topic_raw,
        CIVICPULSE_TOPIC_EVENTS=topics.topic_events,
        CIVICPULSE_TOPIC_DLQ=topics.topic_dlq,
        CIVICPULSE_TOPIC_SNAPSHOTS=topics.topic_snapshots,
        CIVICPULSE_TOPIC_ALERTS=topics.topic_alerts,
        CIVICPULSE_METRICS_SNAPSHOT_PUBLISH_INTERVAL_S="1",  # tests wait for the topic; the default is 15 s
    )
    env.update(extra)
    return env


class ServiceUnderTest:
    """One service process: `civicpulse <args>` with its own HTTP port and log file."""

    def __init__(self, name: str, args: Iterable[str], *, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = list(args)
        self.port = free_port()
        self.env = {**env, "CIVICPULSE_HTTP_PORT": str(self.port), "CIVICPULSE_HTTP_HOST": "127.0.0.1"}
        self.log_file = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, ready: bool = True) -> None:
        """Start and wait for /healthz (and /readyz unless ready=False)."""
        self.process = spawn(
            [sys.executable, "-m", "services.cli", *self.args],
            log_file=self.log_file, pid_file=self.log_file.with_suffix(".pid"), env=self.env, cwd=REPO_ROOT,
        )  # fmt: skip
        process = self.process
        path = "/readyz" if ready else "/healthz"
        wait_until(lambda: http_ok(self.url + path), timeout=60, what=f"{self.name} ({self.log_file})",
                   alive=lambda: process.poll() is None)  # fmt: skip

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        """SIGTERM and wait: a clean shutdown."""
        if self.process is not None:
            stop_pid(self.process.pid)
            self.process.wait(30)
            self.process = None

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def metric(self, name: str) -> float:
        """Sum of a metric's samples on /metrics (0 when absent)."""
        total = 0.0
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.rsplit(" ", 1)[1])
        return total


async def produce(kafka: KafkaSettings, topic: str, events: Iterable[Event]) -> int:
    """Send events with a plain aiokafka producer (not our ingest code); returns how many."""
    producer = AIOKafkaProducer(**kafka.aiokafka_options(), acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    sent = 0
    try:
        futures = []
        for event in events:
            futures.append(await producer.send(topic, dump_event(event), key=event.key.encode()))
            sent += 1
        for future in futures:
            await future
    finally:
        await producer.stop()
    return sent


def poll(check: object, *, timeout: float, what: str) -> None:
    """Wait until check() is truthy; a deadline guards against hangs only (it is not what the test asserts)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()  # type: ignore[operator]
        if last:
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: still not true after {timeout:.0f}s (last: {last!r})")
