"""The Decision 766 scorecard: a unit's total and six groups for the current month, quarter or year, the units of a
level ranked by total, and the month's score over a long range (gauges civicpulse_index766_*)."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders.common import StackingConfig, TableSortByFieldState
from grafana_foundation_sdk.models.common import BarGaugeDisplayMode, StackingMode, VizOrientation
from grafana_model import (
    Board,
    Json,
    custom_variable,
    join_on,
    last_value,
    matrix,
    percent,
    prom,
    properties,
    query_variable,
    thresholds,
)

GROUP_MAX_POINTS = {
    "transparency": 18,
    "progress": 20,
    "online_service": 12,
    "online_payment": 10,
    "digitization": 22,
    "satisfaction": 18,
}
"""Points of each group out of 100 (Decision 766/QĐ-TTg, as DOMAIN.md gives them): the bars' full scale."""
TOTAL_COLORS = thresholds("red", (50, "orange"), (80, "green"))
# GUESS: 50 and 80 points as the colour bands of a total; the decision sets no such bands, the portal shows a
# plain ranking. Edit here if the province uses its own (e.g. the targets of its annual plan).
RANKING_COLUMNS = {"Value #A": "Total", "Value #B": "Coverage"}
TREND_RANGE = "1y"
"""How far back the month trend looks; Prometheus must keep that much history (--storage.tsdb.retention.time)."""


def scope(**labels: str) -> str:
    """A label selector of the current period's gauges."""
    return ", ".join(f'{key}="{value}"' for key, value in {"period": "$period", **labels}.items())


def group_bars(panel: bargauge.Panel) -> bargauge.Panel:
    """One bar per group, each scaled to the group's own maximum."""
    for group, points in GROUP_MAX_POINTS.items():
        panel.override_by_name(group, properties(max=points))
    return panel


def index766() -> Json:
    """The 766 scorecard of a unit and the ranking of a level, for the current month, quarter or year."""
    board = Board(
        "civicpulse-index766",
        "CivicPulse · 766 scorecard",
        "Decision 766 service index (100 points in six groups) of the current month, quarter or year to "
        "date, as the national portal scores it; no-data indicators are left out, see the coverage.",
    )
    board.variables(
        custom_variable("period", "Period", ["month", "quarter", "year"], current="month"),
        custom_variable("level", "Level", ["province", "department", "commune"], current="commune"),
        query_variable(
            "unit", "Unit", 'label_values(civicpulse_index766_total{period="$period"}, unit)', current="H24"
        ),
    )
    board.row("$unit, this $period to date")
    board.add(
        stat.Panel()
        .title("Index 766")
        .description("Out of 100 points, the six groups added up.")
        .with_target(prom(f"civicpulse_index766_total{{{scope(unit='$unit')}}}"))
        .decimals(2)
        .min(0)
        .max(100)
        .thresholds(TOTAL_COLORS),
        w=4,
        h=8,
    )
    board.add(
        percent(stat.Panel().title("Coverage"))
        .description(
            'Share of the index\'s points whose indicators have data; the rest is "no data", '
            "neither 0 nor full marks, so a low coverage makes the total a lower bound."
        )
        .with_target(prom(f"civicpulse_index766_coverage{{{scope(unit='$unit')}}}"))
        # GUESS: below half the points with data the total says little; from 90% it is close to the portal's.
        .thresholds(thresholds("red", (0.5, "orange"), (0.9, "green"))),
        w=4,
        h=8,
    )
    board.add(
        group_bars(
            bargauge.Panel()
            .title("Groups of $unit")
            .description(
                "Points of each group against its maximum (transparency 18, progress 20, online "
                "service 12, online payment 10, digitization 22, satisfaction 18)."
            )
            .with_target(prom(f"civicpulse_index766_group_points{{{scope(unit='$unit')}}}", "{{group}}", instant=True))
            .decimals(2)
            .min(0)
            .orientation(VizOrientation.HORIZONTAL)
            .display_mode(BarGaugeDisplayMode.GRADIENT)
            .reduce_options(last_value())
        ),
        w=16,
        h=8,
    )
    board.row("Ranking of the units of level $level")
    board.add(
        bargauge.Panel()
        .title("Units of level $level by total ($period)")
        .with_target(prom(f"sort_desc(civicpulse_index766_total{{{scope(level='$level')}}})", "{{unit}}", instant=True))
        .decimals(2)
        .min(0)
        .max(100)
        .thresholds(TOTAL_COLORS)
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .reduce_options(last_value()),
        w=8,
        h=14,
    )
    board.add(
        table.Panel()
        .title("Ranking ($period)")
        .description("Total and coverage of every unit of the level, highest total first.")
        .targets(
            [
                prom(f"civicpulse_index766_total{{{scope(level='$level')}}}", ref="A", instant=True),
                prom(f"civicpulse_index766_coverage{{{scope(level='$level')}}}", ref="B", instant=True),
            ]
        )
        .transformations(join_on("unit", RANKING_COLUMNS))
        .sort_by([TableSortByFieldState().display_name("Total").desc(True)])
        .override_by_name("Total", properties(decimals=2))
        .override_by_name("Coverage", properties(unit="percentunit", decimals=0)),
        w=6,
        h=14,
    )
    board.add(
        table.Panel()
        .title("Groups per unit ($period)")
        .description("Points of each of the six groups, a row per unit of the level.")
        .with_target(prom(f"civicpulse_index766_group_points{{{scope(level='$level')}}}", instant=True))
        .with_transformation(matrix(rows="unit", columns="group"))
        .decimals(2),
        w=10,
        h=14,
    )
    board.row("Trend by month of $unit")
    month = 'period="month", unit="$unit"'
    board.add(
        timeseries.Panel()
        .title("Index 766 by month")
        .description(
            "The month-to-date score: each month climbs or falls from its first day and restarts at the "
            "next. The last point of a month is the month's score. A year shows only as far back as Prometheus "
            "keeps samples (--storage.tsdb.retention.time, 90 days in docker-compose.yml)."
        )
        .with_target(prom(f"civicpulse_index766_total{{{month}}}", "total"))
        .time_from(TREND_RANGE)
        .interval("1h")
        .decimals(2)
        .min(0)
        .max(100),
        w=12,
        h=9,
    )
    board.add(
        timeseries.Panel()
        .title("Groups by month (stacked)")
        .with_target(prom(f"civicpulse_index766_group_points{{{month}}}", "{{group}}"))
        .time_from(TREND_RANGE)
        .interval("1h")
        .decimals(2)
        .min(0)
        .stacking(StackingConfig().mode(StackingMode.NORMAL))
        .fill_opacity(40),
        w=12,
        h=9,
    )
    board.add(
        percent(timeseries.Panel().title("Coverage by month"))
        .with_target(prom(f"civicpulse_index766_coverage{{{month}}}", "coverage"))
        .time_from(TREND_RANGE)
        .interval("1h"),
        w=24,
        h=6,
    )
    return board.json()
