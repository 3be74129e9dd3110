"""The peers' own virtualenv (`.civicpulse/bench-venv`), made by the bench on first use.

Quix Streams 3.28 pins pydantic < 2.14 and pydantic-settings < 2.16, below what CivicPulse's venv holds, so it
cannot be installed beside FastStream without downgrading the services' packages: it gets a venv of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from shared.devstack.kafka import REPO_ROOT

VENV = REPO_ROOT / ".civicpulse" / "bench-venv"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
_STAMP = VENV / "requirements.installed"


def peer_python(console: Console) -> Path:
    """The venv's interpreter, with bench/peers/requirements.txt installed (once, or again when it changed)."""
    python = VENV / "bin" / "python"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and _STAMP.exists() and _STAMP.read_text() == wanted:
        return python
    with console.status(f"installing the peers' packages into {VENV} ({' '.join(wanted.split())})"):
        if not python.exists():
            # The interpreter CivicPulse runs on, outside its venv: the peers' venv starts empty.
            base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
            subprocess.run([str(base), "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
        subprocess.run([str(python), "-m", "pip", "check"], check=True)
    _STAMP.write_text(wanted)
    return python
