"""`civicpulse index`: a unit's Decision 766 scorecard for a period, read from the metrics API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from shared.kpi_catalogue import VIETNAM


def _points(value: float | None, maximum: float | None) -> str:
    shown = "no data" if value is None else f"{value:.2f}"
    return shown if maximum is None else f"{shown} / {maximum:g}"


def _ratio(indicator: dict[str, Any]) -> str:
    if indicator["ratio"] is None:
        return "—"
    return f"{indicator['ratio']:.2%} ({indicator['numerator']:g}/{indicator['denominator']:g})"


async def print_scorecard(client: httpx.AsyncClient, *, unit: str, period: str) -> None:
    """Print the scorecard the metrics API serves at `client`'s base URL (errors as the API words them)."""
    console = Console()
    response = await client.get("/v1/index766", params={"unit": unit, "period": period})
    if response.status_code != 200:
        detail = response.json().get("detail", response.text) if response.content else response.reason_phrase
        console.print(f"[red]{response.status_code}: {detail}[/]")
        raise SystemExit(1)
    card = response.json()
    table = Table("group / indicator", "ratio (numerator/denominator)", "points",
                  title=f"Decision 766 index of {card['unit_code']}, {card['period']}")  # fmt: skip
    for group in card["groups"]:
        table.add_row(f"[bold]{group['group']}[/]", "", f"[bold]{_points(group['points'], group['max_points'])}[/]")
        for indicator in group["indicators"]:
            table.add_row(f"  {indicator['indicator']}", _ratio(indicator),
                          _points(indicator["points"], indicator["max_points"]))  # fmt: skip
    table.add_row("[bold]total[/]", "", f"[bold]{card['total']:.2f} / {card['max_total']:g}[/]")
    console.print(table)
    console.print(f"coverage: {card['coverage']:.0%} of the points have data behind them (the rest: no data)")


def this_month() -> str:
    """The current month in Vietnam, as `YYYY-MM`."""
    return datetime.now(VIETNAM).strftime("%Y-%m")
