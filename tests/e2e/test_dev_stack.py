"""`civicpulse dev up` / `status` / `down`: the newcomer's path (the README's own sequence), on free ports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, pid_alive

pytestmark = pytest.mark.e2e

COMPONENTS = ("kafka", "postgres", "prometheus", "alertmanager", "ingest", "metrics", "alerts")
SCRAPED = {"civicpulse-ingest": "ingest", "civicpulse-metrics": "metrics", "civicpulse-alerts": "alerts",
           "prometheus": "prometheus", "alertmanager": "alertmanager"}  # fmt: skip
"""Prometheus job -> the component whose dev port it scrapes."""


def civicpulse(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=timeout, check=False)  # fmt: skip


def sourced(env_file: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment after `source env_file` (the file holds `export NAME=value` lines only)."""
    exported = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
    return env | exported


def stack_pids(state: Path) -> list[int]:
    pid_files = [*(state / "run").glob("*.pid"), state / "kafka" / "kafka.pid",
                 state / "postgres" / "data" / "postmaster.pid", state / "prometheus" / "prometheus.pid",
                 state / "alertmanager" / "alertmanager.pid"]  # fmt: skip
    return [int(p.read_text().split()[0]) for p in pid_files if p.exists()]


def prometheus_targets(prometheus: str, *, expected: int, deadline_s: float = 90) -> list[dict[str, Any]]:
    """Prometheus's active targets once each has been scraped (first scrapes come within one 15s interval)."""
    deadline = time.monotonic() + deadline_s
    while True:
        targets: list[dict[str, Any]] = httpx.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
        if (len(targets) == expected and all(t["health"] != "unknown" for t in targets)) or time.monotonic() > deadline:
            return targets
        time.sleep(1)


def assert_monitoring_watches_the_stack(up_output: str, ports: dict[str, int]) -> None:
    prometheus, alertmanager = (f"http://127.0.0.1:{ports[name]}" for name in ("prometheus", "alertmanager"))
    assert f"{prometheus}/alerts" in up_output, up_output
    assert alertmanager in up_output, up_output
    assert f"http://127.0.0.1:{ports['metrics']}/board/" in up_output, up_output
    targets = prometheus_targets(prometheus, expected=len(SCRAPED))
    scraped = {t["labels"]["job"]: (t["scrapeUrl"], t["health"]) for t in targets}
    assert scraped == {job: (f"http://127.0.0.1:{ports[name]}/metrics", "up") for job, name in SCRAPED.items()}
    active = httpx.get(f"{prometheus}/api/v1/alertmanagers").json()["data"]["activeAlertmanagers"]
    assert [a["url"] for a in active] == [f"{alertmanager}/api/v2/alerts"]
    # The shipped rules and alert routing are loaded: rule groups evaluated, the config's receivers in force.
    groups = httpx.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
    assert {"civicpulse-kpi-targets", "civicpulse-pipeline-alerts"} <= {g["name"] for g in groups}, [
        g["name"] for g in groups
    ]
    receivers = httpx.get(f"{alertmanager}/api/v2/receivers").json()
    assert {r["name"] for r in receivers} == {"ioc-oncall", "ioc-team"}


def assert_up_and_healthy(env: dict[str, str], state: Path, ports: dict[str, int]) -> list[int]:
    up = civicpulse("dev", "up", "--no-demo", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "CivicPulse is up" in up.stdout
    assert_monitoring_watches_the_stack(up.stdout, ports)
    status = civicpulse("dev", "status", env=env, timeout=60)
    assert status.returncode == 0, status.stdout
    for component in COMPONENTS:
        assert any(line.split("│")[1].strip() == component and "healthy" in line
                   for line in status.stdout.splitlines() if line.count("│") >= 3), status.stdout  # fmt: skip
    pids = stack_pids(state)
    assert len(pids) == len(COMPONENTS)
    return pids


def assert_down_and_gone(env: dict[str, str], pids: list[int]) -> None:
    down = civicpulse("dev", "down", env=env, timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout.strip().startswith("stopped: "), down.stdout
    assert set(down.stdout.strip().removeprefix("stopped: ").split(", ")) == set(COMPONENTS), down.stdout
    # `down` returns only once everything it started has exited: no polling here.
    assert [pid for pid in pids if pid_alive(pid)] == []


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state dir the postgres system user can reach (when run as root) for the whole test.

    Not under pytest's basetemp: a pytest session starting meanwhile (another checkout's, a second terminal) resets
    /tmp/pytest-of-<user> to mode 0700, and pg_ctl, run as postgres, could no longer stop the cluster.
    """
    home = Path(tempfile.mkdtemp(prefix="civicpulse-dev-stack-"))
    home.chmod(0o711)
    yield home / "state"
    shutil.rmtree(home, ignore_errors=True)


def test_readme_sequence_up_source_env_down_up_again_leaves_no_process(state_dir: Path) -> None:
    state = state_dir
    ports = {name: free_port() for name in ("kafka", "kafka_controller", "pg", "ingest", "metrics", "alerts",
                                            "prometheus", "alertmanager")}  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env |= {"CIVICPULSE_STATE_DIR": str(state), "COLUMNS": "200"}
    env |= {f"CIVICPULSE_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    pids: list[int] = []
    try:
        pids = assert_up_and_healthy(env, state, ports)
        # The README: `source .civicpulse/env`, use the CLI, then `make down`, then `make up` again.
        shell = sourced(state / "env", env)
        assert shell["CIVICPULSE_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{ports['kafka']}"
        assert_down_and_gone(shell, pids)
        pids = assert_up_and_healthy(shell, state, ports)
        assert_down_and_gone(shell, pids)
        pids = []
    finally:
        if pids:
            civicpulse("dev", "down", env=env, timeout=180)


def test_down_with_nothing_running_says_so(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env |= {"CIVICPULSE_STATE_DIR": str(tmp_path / "state")}
    down = civicpulse("dev", "down", env=env, timeout=60)
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout.strip() == "stopped: nothing was running"
