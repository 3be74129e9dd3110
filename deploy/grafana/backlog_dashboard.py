"""The backlog dashboard: dossiers in progress, overdue and paused per unit, the overdue share against its threshold,
the units with the most overdue dossiers and the oldest of them."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.models.common import BarGaugeDisplayMode, VizOrientation
from grafana_model import (
    COLOR_BACKGROUND,
    TARGET_LINE,
    Board,
    Json,
    custom_variable,
    join_on,
    last_value,
    percent,
    prom,
    properties,
    query_variable,
    sql,
    thresholds,
)

LEVELS = ["province", "department", "commune"]
SHARE_COLORS = thresholds("green", (0.05, "orange"), (0.15, "red"))
"""From the province threshold (5%) to the commune one (15%): the backlog-overdue alerts' range."""
TABLE_COLUMNS = {"Value #A": "In progress", "Value #B": "Overdue", "Value #C": "Paused", "Value #D": "Overdue share"}


def top_units(title: str, expr: str) -> bargauge.Panel:
    """Horizontal bars, one per unit."""
    return (
        bargauge.Panel()
        .title(title)
        .with_target(prom(expr, "{{unit}}", instant=True))
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .reduce_options(last_value())
    )


def backlog() -> Json:
    """The live backlog of a unit and of every unit of a level (gauges civicpulse_backlog_*, rules backlog.yml)."""
    board = Board(
        "civicpulse-backlog",
        "CivicPulse · Backlog",
        "Dossiers still open: in progress, overdue (past due, clock running), paused, per unit.",
    )
    board.variables(
        custom_variable("level", "Level", LEVELS, current="commune"),
        query_variable("unit", "Unit", "label_values(civicpulse_backlog_in_progress, unit)", current="H24"),
    )
    board.row("$unit now")
    one = 'unit="$unit"'
    board.add(
        stat.Panel().title("In progress").with_target(prom(f"civicpulse:backlog_in_progress:max{{{one}}}")), w=5, h=5
    )
    board.add(
        stat.Panel()
        .title("Overdue")
        .with_target(prom(f"civicpulse:backlog_overdue:max{{{one}}}"))
        .thresholds(thresholds("green", (1, "orange"))),
        w=5,
        h=5,
    )
    board.add(stat.Panel().title("Paused").with_target(prom(f"civicpulse:backlog_paused:max{{{one}}}")), w=5, h=5)
    board.add(
        percent(stat.Panel().title("Overdue share"))
        .description("Overdue / in progress, the unit and everything under it.")
        .with_target(prom(f"civicpulse:backlog_overdue_share:ratio{{{one}}}"))
        .thresholds(SHARE_COLORS),
        w=5,
        h=5,
    )
    board.add(
        stat.Panel()
        .title("Units above threshold ($level)")
        .description(
            "Units of the level whose overdue share is above the level's alert threshold, over "
            "enough dossiers in progress (alert CivicPulseBacklogOverdue)."
        )
        .with_target(prom('civicpulse:backlog_units_above_threshold:count{level="$level"}'))
        .thresholds(thresholds("green", (1, "red"))),
        w=4,
        h=5,
    )
    board.row("Units of level $level")
    level = 'level="$level"'
    board.add(
        top_units("Top units by overdue dossiers", f"topk(10, civicpulse:backlog_overdue:max{{{level}}})").thresholds(
            thresholds("green", (1, "orange"))
        ),
        w=12,
        h=10,
    )
    board.add(
        percent(
            top_units("Highest overdue shares", f"topk(10, civicpulse:backlog_overdue_share:ratio{{{level}}})")
        ).thresholds(SHARE_COLORS),
        w=12,
        h=10,
    )
    board.add(
        table.Panel()
        .title("Backlog by unit")
        .description("Every unit of the level, its descendants included; the share is empty while nothing is open.")
        .targets(
            [
                prom(f"civicpulse:backlog_in_progress:max{{{level}}}", ref="A", instant=True),
                prom(f"civicpulse:backlog_overdue:max{{{level}}}", ref="B", instant=True),
                prom(f"civicpulse:backlog_paused:max{{{level}}}", ref="C", instant=True),
                prom(f"civicpulse:backlog_overdue_share:ratio{{{level}}}", ref="D", instant=True),
            ]
        )
        .transformations(join_on("unit", TABLE_COLUMNS))
        .override_by_name(
            "Overdue share",
            properties(unit="percentunit", decimals=1, thresholds=SHARE_COLORS.build(), **COLOR_BACKGROUND),
        ),
        w=24,
        h=10,
    )
    board.row("Trend of $unit")
    board.add(
        timeseries.Panel()
        .title("In progress, overdue and paused")
        .targets(
            [
                prom(f"civicpulse:backlog_in_progress:max{{{one}}}", "in progress", ref="A"),
                prom(f"civicpulse:backlog_overdue:max{{{one}}}", "overdue", ref="B"),
                prom(f"civicpulse:backlog_paused:max{{{one}}}", "paused", ref="C"),
            ]
        ),
        w=12,
    )
    board.add(
        percent(timeseries.Panel().title("Overdue share against its threshold"))
        .targets(
            [
                prom(f"civicpulse:backlog_overdue_share:ratio{{{one}}}", "overdue share", ref="A"),
                prom(
                    "civicpulse:backlog_overdue_share_threshold:ratio\n"
                    f"and on (level) civicpulse:backlog_in_progress:max{{{one}}}",
                    "threshold",
                    ref="B",
                ),
            ]
        )
        .override_by_name("threshold", TARGET_LINE),
        w=12,
    )
    board.add(
        timeseries.Panel()
        .title("Units above their overdue threshold, by level")
        .with_target(prom("civicpulse:backlog_units_above_threshold:count", "{{level}}")),
        w=12,
    )
    board.add(
        table.Panel()
        .title("Oldest overdue dossiers under $unit")
        .description(
            "From the metrics service's dossier_state (as GET /v1/backlog/{unit}/overdue): in "
            "progress, clock running, past due; paused dossiers are not overdue."
        )
        .with_target(
            sql("""
SELECT d.dossier_id AS "Dossier", d.procedure_code AS "Procedure", d.unit_code AS "Unit code", u.name AS "Unit",
       d.running_due AS "Due", round((extract(epoch FROM now() - d.running_due) / 86400)::numeric, 1) AS "Days overdue"
FROM dossier_state d LEFT JOIN units u ON u.code = d.unit_code
WHERE d.running_due < now()
  AND d.unit_code IN (SELECT descendant_code FROM unit_closure WHERE ancestor_code = '$unit' UNION SELECT '$unit')
ORDER BY d.running_due, d.dossier_id
LIMIT 50
""")
        ),
        w=12,
        h=8,
    )
    return board.json()
