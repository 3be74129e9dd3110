"""A CivicPulse service under benchmark: `python -m services.cli <service> serve` as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from bench.infra import RunScope
from bench.procfs import cpu_seconds, peak_rss_mb
from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok


def service_env(scope: RunScope, *, environment: str = "production", **extra: str) -> dict[str, str]:
    """A service's environment for this run: its Kafka, database and topics; none of the caller's CIVICPULSE_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    topics = scope.topics
    env.update(
        CIVICPULSE_ENVIRONMENT=environment,
        CIVICPULSE_LOG_LEVEL="WARNING",
        CIVICPULSE_KAFKA_BOOTSTRAP=scope.bootstrap,
        CIVICPULSE_TOPIC_RAW=topics.topic_raw,
        CIVICPULSE_TOPIC_EVENTS=topics.topic_events,
        CIVICPULSE_TOPIC_DLQ=topics.topic_dlq,
        CIVICPULSE_TOPIC_SNAPSHOTS=topics.topic_snapshots,
        CIVICPULSE_TOPIC_ALERTS=topics.topic_alerts,
        CIVICPULSE_INGEST_GROUP_ID=f"bench-ingest-{scope.run_id}",
        CIVICPULSE_METRICS_GROUP_ID=f"bench-metrics-{scope.run_id}",
    )
    if scope.dsn:
        env["CIVICPULSE_PG_DSN"] = scope.dsn
    env.update(extra)
    return env


def prometheus_totals(text: str) -> dict[str, float]:
    """Prometheus text exposition summed over labels: {metric name: total}."""
    totals: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_and_labels, _, value = line.rpartition(" ")
        name = name_and_labels.split("{", 1)[0]
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


class ServiceProcess:
    """One service on its own port, its output in `log_dir/<name>.log`; a context manager that stops it."""

    def __init__(self, service: str, *, env: Mapping[str, str], log_dir: Path) -> None:
        self.service = service
        self.port = free_port()
        self.env = {**env, "CIVICPULSE_HTTP_PORT": str(self.port), "CIVICPULSE_HTTP_HOST": "127.0.0.1"}
        self.log_file = log_dir / f"{service}.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError(f"{self.service} is not running")
        return self._process.pid

    def __enter__(self) -> ServiceProcess:
        process = spawn(
            [sys.executable, "-m", "services.cli", self.service, "serve"],
            log_file=self.log_file, pid_file=self.log_file.with_suffix(".pid"), env=self.env, cwd=REPO_ROOT,
        )  # fmt: skip
        self._process = process
        try:
            wait_until(lambda: http_ok(self.url + "/readyz"), timeout=60, what=f"{self.service} ({self.log_file})",
                       alive=lambda: process.poll() is None)  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM (SIGKILL after a grace period) and reap."""
        if self._process is not None:
            stop_pid(self._process.pid)
            self._process.wait(30)
            self._process = None

    def peak_rss_mb(self) -> float:
        return round(peak_rss_mb(self.pid), 1)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    async def prometheus(self, client: httpx.AsyncClient) -> dict[str, float]:
        """The service's /metrics, summed over labels."""
        response = await client.get(self.url + "/metrics", timeout=30)
        response.raise_for_status()
        return prometheus_totals(response.text)
