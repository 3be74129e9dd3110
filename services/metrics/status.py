"""`civicpulse metrics status`: the current KPI table of a unit, target beside value."""

from __future__ import annotations

import asyncpg
from rich.console import Console
from rich.table import Table

from services.metrics.settings import MetricsSettings
from shared.kpi_catalogue import KPI_NAMES
from shared.targets import load_targets

QUERY = """
SELECT kpi, numerator, denominator, ratio, unit_level, computed_at
FROM kpi_snapshot WHERE unit_code = $1 AND window_name = $2
"""


async def print_status(settings: MetricsSettings, *, unit: str, window: str) -> None:
    """Print one row per KPI for a unit and window."""
    connection = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        rows = {r["kpi"]: r for r in await connection.fetch(QUERY, unit, window)}
    finally:
        await connection.close()
    console = Console()
    if not rows:
        console.print(f"[yellow]no snapshot for unit {unit} and window {window} yet[/]")
        return
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
