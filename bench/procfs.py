"""What /proc says about a process: peak resident memory and CPU time (of it alone or of its whole tree)."""

from __future__ import annotations

import os
from pathlib import Path

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    """VmHWM (the high-water mark of resident memory) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone meanwhile
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    return text[text.rindex(")") + 2 :].split()


def _children_of() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def cpu_seconds(pid: int, *, tree: bool = False) -> float:
    """User + system CPU seconds of a process; with tree=True also of its live descendants and reaped children.

    The tree form is what a PostgreSQL postmaster needs: the work happens in its backend processes.
    """
    pids = [pid]
    if tree:
        children, stack = _children_of(), [pid]
        while stack:
            found = children.get(stack.pop(), [])
            pids.extend(found)
            stack.extend(found)
    ticks = 0
    for index, member in enumerate(pids):
        fields = _stat_fields(member)
        if fields is None:
            continue
        # Fields after the name, 0-based: utime 11, stime 12, cutime 13, cstime 14 (proc(5)).
        ticks += int(fields[11]) + int(fields[12])
        if tree and index == 0:
            ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS_PER_S


def load_average() -> float:
    """The 1-minute load average: on a shared 2-core machine, whether the figures were measured undisturbed."""
    return round(os.getloadavg()[0], 2)
