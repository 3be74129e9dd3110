"""The backlog dashboard: dossiers in progress, overdue and paused per unit, the overdue share against its threshold,
the units with the most overdue dossiers and the oldest of them."""

from __future__ import annotations

from grafana_model import (
    TARGET_LINE,
    Board,
    Json,
    custom_variable,
    join_on,
    prom,
    query_variable,
    series_override,
    sql,
    thresholds,
)

LEVELS = ["province", "department", "commune"]
SHARE_COLORS = thresholds("green", (0.05, "orange"), (0.15, "red"))
"""From the province threshold (5%) to the commune one (15%): the backlog-overdue alerts' range."""
TABLE_COLUMNS = {"Value #A": "In progress", "Value #B": "Overdue", "Value #C": "Paused", "Value #D": "Overdue share"}


def backlog() -> Json:
    """The live backlog of a unit and of every unit of a level (gauges civicpulse_backlog_*, rules backlog.yml)."""
    board = Board("civicpulse-backlog", "CivicPulse · Backlog",
                  "Dossiers still open: in progress, overdue (past due, clock running), paused, per unit.")  # fmt: skip
    board.variables = [
        custom_variable("level", "Level", LEVELS, current="commune"),
        query_variable("unit", "Unit", "label_values(civicpulse_backlog_in_progress, unit)", current="H24"),
    ]
    board.row("$unit now")
    one = 'unit="$unit"'
    for title, expr, colors in (
        ("In progress", f"civicpulse:backlog_in_progress:max{{{one}}}", None),
        ("Overdue", f"civicpulse:backlog_overdue:max{{{one}}}", thresholds("green", (1, "orange"))),
        ("Paused", f"civicpulse:backlog_paused:max{{{one}}}", None),
    ):
        board.add("stat", title, [prom(expr)], w=5, h=5, thresholds=colors)
    board.add("stat", "Overdue share", [prom(f"civicpulse:backlog_overdue_share:ratio{{{one}}}")], w=5, h=5,
              percent=True, thresholds=SHARE_COLORS,
              description="Overdue / in progress, the unit and everything under it.")  # fmt: skip
    board.add("stat", "Units above threshold ($level)",
              [prom('civicpulse:backlog_units_above_threshold:count{level="$level"}')], w=4, h=5,
              thresholds=thresholds("green", (1, "red")),
              description="Units of the level whose overdue share is above the level's alert threshold, over "
              "enough dossiers in progress (alert CivicPulseBacklogOverdue).")  # fmt: skip
    board.row("Units of level $level")
    level = 'level="$level"'
    board.add("bargauge", "Top units by overdue dossiers",
              [prom(f"topk(10, civicpulse:backlog_overdue:max{{{level}}})", "{{unit}}", instant=True)], w=12, h=10,
              options={"orientation": "horizontal", "displayMode": "gradient"},
              thresholds=thresholds("green", (1, "orange")))  # fmt: skip
    board.add("bargauge", "Highest overdue shares",
              [prom(f"topk(10, civicpulse:backlog_overdue_share:ratio{{{level}}})", "{{unit}}", instant=True)],
              w=12, h=10, percent=True, thresholds=SHARE_COLORS,
              options={"orientation": "horizontal", "displayMode": "gradient"})  # fmt: skip
    board.add("table", "Backlog by unit", [
        prom(f"civicpulse:backlog_in_progress:max{{{level}}}", ref="A", instant=True),
        prom(f"civicpulse:backlog_overdue:max{{{level}}}", ref="B", instant=True),
        prom(f"civicpulse:backlog_paused:max{{{level}}}", ref="C", instant=True),
        prom(f"civicpulse:backlog_overdue_share:ratio{{{level}}}", ref="D", instant=True),
    ], w=24, h=10, transformations=join_on("unit", TABLE_COLUMNS),
        overrides=[series_override("Overdue share", unit="percentunit", decimals=1, thresholds=SHARE_COLORS,
                                   **{"custom.cellOptions": {"type": "color-background"}})],
        description="Every unit of the level, its descendants included; the share is empty while nothing is open.",
    )  # fmt: skip
    board.row("Trend of $unit")
    board.add("timeseries", "In progress, overdue and paused", [
        prom(f"civicpulse:backlog_in_progress:max{{{one}}}", "in progress", ref="A"),
        prom(f"civicpulse:backlog_overdue:max{{{one}}}", "overdue", ref="B"),
        prom(f"civicpulse:backlog_paused:max{{{one}}}", "paused", ref="C"),
    ], w=12)  # fmt: skip
    board.add("timeseries", "Overdue share against its threshold", [
        prom(f"civicpulse:backlog_overdue_share:ratio{{{one}}}", "overdue share", ref="A"),
        prom("civicpulse:backlog_overdue_share_threshold:ratio\n"
             f"and on (level) civicpulse:backlog_in_progress:max{{{one}}}", "threshold", ref="B"),
    ], w=12, percent=True, overrides=[series_override("threshold", **TARGET_LINE)])  # fmt: skip
    board.add("timeseries", "Units above their overdue threshold, by level",
              [prom("civicpulse:backlog_units_above_threshold:count", "{{level}}")], w=12)  # fmt: skip
    board.add("table", "Oldest overdue dossiers under $unit", [sql("""
SELECT d.dossier_id AS "Dossier", d.procedure_code AS "Procedure", d.unit_code AS "Unit code", u.name AS "Unit",
       d.running_due AS "Due", round((extract(epoch FROM now() - d.running_due) / 86400)::numeric, 1) AS "Days overdue"
FROM dossier_state d LEFT JOIN units u ON u.code = d.unit_code
WHERE d.running_due < now()
  AND d.unit_code IN (SELECT descendant_code FROM unit_closure WHERE ancestor_code = '$unit' UNION SELECT '$unit')
ORDER BY d.running_due, d.dossier_id
LIMIT 50
""")], w=12, h=8, description="From the metrics service's dossier_state (as GET /v1/backlog/{unit}/overdue): "
              "in progress, clock running, past due; paused dossiers are not overdue.")  # fmt: skip
    return board.json()
