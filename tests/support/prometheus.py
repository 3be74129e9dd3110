"""Prometheus in tests: find its binaries (failing, never skipping, when missing), run promtool, and start a real
server in a temp dir that scrapes services under test every second and evaluates the committed rules."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml

from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
RULE_FILES = tuple(sorted((PROMETHEUS_DIR / "rules").glob("*.yml")))
DEBIAN_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}
"""Debian packages of tools whose name differs from their package's."""


def require_binary(name: str) -> str:
    """The path of a tool CI installs; a clear failure (not a skip) when it is missing."""
    path = shutil.which(name)
    if path is None:
        package = DEBIAN_PACKAGES.get(name, name)
        raise AssertionError(f"{name} is not on PATH: install the Debian package {package} (`make bootstrap` does)")
    return path


def run_tool(*args: str | Path, cwd: Path = REPO_ROOT, timeout: float = 120) -> str:
    """Run a tool; fail with its whole output unless it exits 0. Returns stdout and stderr together."""
    command = [require_binary(str(args[0])), *(str(a) for a in args[1:])]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"`{' '.join(command)}` exited {result.returncode}:\n{output}")
    return output


class PrometheusServer:
    """A real Prometheus (the Debian package) on a free port, its TSDB in a temp dir."""

    def __init__(self, *, home: Path, jobs: Mapping[str, Sequence[str]], rule_files: Sequence[Path] = RULE_FILES,
                 interval: str = "1s") -> None:  # fmt: skip
        self.home = home
        self.jobs = {job: list(targets) for job, targets in jobs.items()}
        self.rule_files = [Path(p).resolve() for p in rule_files]
        self.interval = interval
        self.port = free_port()
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        """Scrape and evaluate every interval (1s): rates over a minute have data within seconds."""
        return {
            "global": {"scrape_interval": self.interval, "evaluation_interval": self.interval,
                       "scrape_timeout": self.interval},
            "rule_files": [str(p) for p in self.rule_files],
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": targets}]}
                               for job, targets in self.jobs.items()],
        }  # fmt: skip

    def start(self, *, timeout: float = 30) -> None:
        """Write the config, start the server and wait until it is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        config_file = self.home / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(self.config(), sort_keys=False), "utf-8")
        log_file = self.home / "prometheus.log"
        process = spawn(
            [require_binary("prometheus"), f"--config.file={config_file}", f"--storage.tsdb.path={self.home / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            log_file=log_file, pid_file=self.home / "prometheus.pid",
        )  # fmt: skip
        self.pid = process.pid
        wait_until(lambda: http_ok(f"{self.url}/-/ready"), timeout=timeout, what=f"prometheus ({log_file})",
                   alive=lambda: process.poll() is None)  # fmt: skip

    def stop(self) -> None:
        """Stop the server (the temp dir is the caller's)."""
        if self.pid is not None:
            stop_pid(self.pid, timeout=10)
            self.pid = None

    def api(self, path: str, **params: str | list[str]) -> Any:
        """GET an HTTP API path; fail unless Prometheus answers status success. Returns `data`."""
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        body = response.json()
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The result of an instant query (a vector's series, or one scalar as a one-element list)."""
        data = self.api("/api/v1/query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def metric_names(self) -> set[str]:
        """Every metric name Prometheus holds samples of (scraped or recorded)."""
        return set(self.api("/api/v1/label/__name__/values"))

    def label_values(self, label: str, match: str) -> list[str]:
        """Values of a label on series matching a selector (what Grafana's label_values() asks)."""
        values: list[str] = self.api(f"/api/v1/label/{label}/values", **{"match[]": [match]})
        return values

    def wait_until_scraped(self, *, timeout: float = 30) -> None:
        """Wait until every target has been scraped successfully at least once."""
        deadline = time.monotonic() + timeout
        last: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            last = self.api("/api/v1/targets")["activeTargets"]
            if len(last) == sum(len(t) for t in self.jobs.values()) and all(t["health"] == "up" for t in last):
                return
            time.sleep(0.5)
        states = {t["scrapeUrl"]: (t["health"], t.get("lastError")) for t in last}
        raise AssertionError(f"targets not all up after {timeout:.0f}s: {states}")
