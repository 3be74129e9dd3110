"""The summary table's shape: rows under section headings, rendered with rich for the terminal and in Markdown
for the README."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table

COLUMNS = ("measure", "CivicPulse", "raw Kafka client (same run)", "ratio / growth")


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table."""

    measure: str
    civicpulse: str
    raw: str = ""
    ratio: str = ""


Section = tuple[str, list[Row]]


def count(value: float) -> str:
    """A figure with thousands separators, no decimals."""
    return f"{value:,.0f}"


def p50_p99(figures: dict[str, Any]) -> str:
    """'p50 / p99 ms' of a latency summary."""
    return f"{count(figures['p50_ms'])} / {count(figures['p99_ms'])} ms"


def thousands(events: int) -> str:
    """100000 -> '100k', 1000000 -> '1M'."""
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000:,}M"
    return f"{events // 1000:,}k" if events % 1000 == 0 else f"{events:,}"


def rich_table(parts: list[Section], *, title: str, caption: str) -> Table:
    """The sections as one rich table, a heading row per section."""
    table = Table(*COLUMNS, title=title, caption=caption)
    for heading, rows in parts:
        table.add_row(f"[bold]{heading}[/]")
        for i, row in enumerate(rows):
            table.add_row(f"  {row.measure}", row.civicpulse, row.raw, row.ratio, end_section=i == len(rows) - 1)
    return table


def markdown(parts: list[Section]) -> str:
    """The same table in Markdown."""
    lines = [f"| {' | '.join(COLUMNS)} |", f"|{'---|' * len(COLUMNS)}"]
    for heading, rows in parts:
        lines.append(f"| **{heading}** | | | |")
        lines.extend(f"| {r.measure} | {r.civicpulse} | {r.raw} | {r.ratio} |" for r in rows)
    return "\n".join(lines) + "\n"
