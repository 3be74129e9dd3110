"""`civicpulse metrics status`: the current KPI table of a unit, target beside value, and its live backlog."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from services.metrics import dossiers
from services.metrics.core.backlog import Backlog
from services.metrics.refresher import utc_now
from services.metrics.settings import MetricsSettings
from shared.kpi_catalogue import KPI_NAMES, UNKNOWN_LEVEL
from shared.targets import load_targets

QUERY = """
SELECT kpi, numerator, denominator, ratio, unit_level, computed_at
FROM kpi_snapshot WHERE unit_code = $1 AND window_name = $2
"""
OLDEST_SHOWN = 5


async def print_status(
    settings: MetricsSettings, *, unit: str, window: str, clock: Callable[[], datetime] = utc_now
) -> None:
    """Print one row per KPI for a unit and window, then the unit's live backlog."""
    now = clock()
    connection = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        rows = {r["kpi"]: r for r in await connection.fetch(QUERY, unit, window)}
        figures = await dossiers.load_backlog(connection, now=now, unknown_level=UNKNOWN_LEVEL)
        overdue = await dossiers.oldest_overdue(connection, unit=unit, now=now, limit=OLDEST_SHOWN)
    finally:
        await connection.close()
    console = Console()
    if not rows:
        console.print(f"[yellow]no snapshot for unit {unit} and window {window} yet[/]")
    else:
        _print_kpis(console, unit=unit, window=window, rows=rows)
    backlog = next((b.figures for b in figures if b.unit_code == unit), Backlog())
    _print_backlog(console, unit=unit, backlog=backlog, overdue=overdue, now=now)


def _print_kpis(console: Console, *, unit: str, window: str, rows: dict[str, Any]) -> None:
    targets = load_targets()
    level = next(iter(rows.values()))["unit_level"]
    table = Table("KPI", "value", "target", "numerator", "denominator", title=f"{unit} ({level}), window {window}")
    for kpi in KPI_NAMES:
        row = rows.get(kpi)
        if row is None:
            continue
        rule = targets.lookup(kpi=kpi, level=level)
        value = "no data" if row["ratio"] is None else f"{row['ratio']:.2%}"
        style = "" if row["ratio"] is None or rule is None else ("green" if rule.met(row["ratio"]) else "red")
        table.add_row(
            kpi,
            f"[{style}]{value}[/]" if style else value,
            f"{rule.target:.0%}" if rule else "—",
            str(row["numerator"]),
            str(row["denominator"]),
        )
    console.print(table)
    computed = max(r["computed_at"] for r in rows.values())
    console.print(f"computed at {computed.isoformat()}")


def _print_backlog(
    console: Console, *, unit: str, backlog: Backlog, overdue: list[dossiers.OverdueDossier], now: datetime
) -> None:
    table = Table("in progress", "overdue", "paused", title=f"{unit} backlog at {now.isoformat(timespec='seconds')}")
    table.add_row(str(backlog.in_progress), f"[red]{backlog.overdue}[/]" if backlog.overdue else "0",
                  str(backlog.paused))  # fmt: skip
    console.print(table)
    if overdue:
        oldest = Table("dossier", "procedure", "unit", "due", "days overdue", "paused days", title="oldest overdue")
        for d in overdue:
            oldest.add_row(d.dossier_id, d.procedure_code, d.unit_code, d.due_at.isoformat(timespec="minutes"),
                           f"{d.days_overdue:.1f}", f"{d.paused_days:.1f}")  # fmt: skip
        console.print(oldest)
