"""`civicpulse dev up --no-demo` / `status` / `down`: the newcomer's path, on free ports and a temp state dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import free_port, pid_alive
from tests.support.services import poll

pytestmark = pytest.mark.e2e


def civicpulse(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=timeout, check=False)  # fmt: skip


def test_up_status_down_leaves_healthy_components_then_no_process(tmp_path: Path) -> None:
    state = tmp_path / "state"
    ports = {name: free_port() for name in ("kafka", "kafka_controller", "pg", "ingest", "metrics", "alerts")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIVICPULSE_")}
    env |= {"CIVICPULSE_STATE_DIR": str(state), "COLUMNS": "200"}
    env |= {f"CIVICPULSE_DEV_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    tmp_path.chmod(0o711)
    try:
        up = civicpulse("dev", "up", "--no-demo", env=env)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "CivicPulse is up" in up.stdout
        status = civicpulse("dev", "status", env=env, timeout=60)
        assert status.returncode == 0, status.stdout
        for component in ("kafka", "postgres", "ingest", "metrics", "alerts"):
            assert any(line.split("│")[1].strip() == component and "healthy" in line
                       for line in status.stdout.splitlines() if line.count("│") >= 3), status.stdout  # fmt: skip
        pid_files = [*(state / "run").glob("*.pid"), state / "kafka" / "kafka.pid",
                     state / "postgres" / "data" / "postmaster.pid"]  # fmt: skip
        pids = [int(p.read_text().split()[0]) for p in pid_files]
        assert len(pids) == 5
    finally:
        down = civicpulse("dev", "down", env=env, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    # `pg_ctl stop` returns once the cluster is shut down; the postmaster process exits a moment later.
    poll(lambda: not any(pid_alive(pid) for pid in pids), timeout=30, what="every process of the stack exited")
