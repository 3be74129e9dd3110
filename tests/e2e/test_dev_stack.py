"""`civicpulse dev up` / `status` / `down`: the newcomer's path (the README's own sequence), on free ports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, pid_alive

pytestmark = pytest.mark.e2e

COMPONENTS = ("kafka", "postgres", "ingest", "metrics", "alerts")


def civicpulse(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=timeout, check=False)  # fmt: skip


def sourced(env_file: Path, env: dict[str, str]) -> dict[str, str]:
    """The environment after `source env_file` (the file holds `export NAME=value` lines only)."""
    exported = dict(line.removeprefix("export ").split("=", 1) for line in env_file.read_text().splitlines())
    return env | exported


def stack_pids(state: Path) -> list[int]:
    pid_files = [*(state / "run").glob("*.pid"), state / "kafka" / "kafka.pid",
                 state / "postgres" / "data" / "postmaster.pid"]  # fmt: skip
    return [int(p.read_text().split()[0]) for p in pid_files if p.exists()]


def assert_up_and_healthy(env: dict[str, str], state: Path) -> list[int]:
    up = civicpulse("dev", "up", "--no-demo", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "CivicPulse is up" in up.stdout
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


def test_readme_sequence_up_source_env_down_up_again_leaves_no_process(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ports = {name: free_port() for name in ("kafka", "kafka_controller", "pg", "ingest", "metrics", "alerts")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env |= {"CIVICPULSE_STATE_DIR": str(state), "COLUMNS": "200"}
    env |= {f"CIVICPULSE_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    tmp_path.chmod(0o711)
    pids: list[int] = []
    try:
        pids = assert_up_and_healthy(env, state)
        # The README: `source .civicpulse/env`, use the CLI, then `make down`, then `make up` again.
        shell = sourced(state / "env", env)
        assert shell["CIVICPULSE_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{ports['kafka']}"
        assert_down_and_gone(shell, pids)
        pids = assert_up_and_healthy(shell, state)
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
