"""The KPI dashboards: IOC overview, unit ranking, unit drill-down."""

from __future__ import annotations

from grafana_model import (
    BELOW_RED,
    TARGET_LINE,
    WINDOWS,
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

KPI_VARIABLE = query_variable("kpi", "KPI", "label_values(civicpulse_kpi_ratio, kpi)", current="online_submission_rate")
WINDOW_VARIABLE = custom_variable("window", "Window", WINDOWS, current="30d")
KPI_TABLE_COLUMNS = {"Value #A": "Value", "Value #B": "Target", "Value #C": "Distance to target",
                     "Value #D": "Numerator", "Value #E": "Denominator"}  # fmt: skip
PERCENT_COLUMNS = [series_override(name, unit="percentunit", decimals=1) for name in ("Value", "Target")]
GAP_COLUMN = series_override("Distance to target", unit="percentunit", decimals=1, thresholds=BELOW_RED,
                             **{"custom.cellOptions": {"type": "color-background"}})  # fmt: skip


def kpi_table(board: Board, title: str, *, unit: str, level: str, w: int = 24) -> None:
    """Every KPI of one unit beside its target, distance to target, numerator and denominator."""
    scope = f'unit="{unit}", window="$window"'
    board.add("table", title, [
        prom(f"civicpulse:kpi_ratio:max{{{scope}}}", ref="A", instant=True),
        prom(f'civicpulse:kpi_target:ratio{{level="{level}"}}', ref="B", instant=True),
        prom(f"civicpulse:kpi_gap:ratio{{{scope}}}", ref="C", instant=True),
        prom(f"civicpulse:kpi_numerator:max{{{scope}}}", ref="D", instant=True),
        prom(f"civicpulse:kpi_denominator:max{{{scope}}}", ref="E", instant=True),
    ], w=w, h=10, transformations=join_on("kpi", KPI_TABLE_COLUMNS), overrides=[*PERCENT_COLUMNS, GAP_COLUMN],
        description="Numerators and denominators are sums over the unit and its descendants, never averaged "
        "ratios. A target comes from shared/targets/defaults.yaml (via the generated Prometheus rules).",
    )  # fmt: skip


def ioc_overview() -> Json:
    """Every KPI of the province against its target, and its trend."""
    board = Board("civicpulse-ioc-overview", "CivicPulse · IOC overview",
                  "Online public-service KPIs of the province against their targets.")  # fmt: skip
    board.variables = [
        query_variable("unit", "Province", 'label_values(civicpulse_kpi_ratio{level="province"}, unit)', current="H24"),
        WINDOW_VARIABLE,
        query_variable("kpi_each", "KPIs", "label_values(civicpulse_kpi_ratio, kpi)", multi=True, hidden=True),
    ]
    board.row("Now")
    scope = 'unit="$unit", window="$window"'
    board.add("stat", "KPIs meeting target", [prom(f"sum(civicpulse:kpi_gap:ratio{{{scope}}} >= bool 0)")], w=4, h=5,
              options={"colorMode": "background"},
              thresholds=thresholds("green"))  # fmt: skip
    board.add("stat", "KPIs below target", [prom(f"sum(civicpulse:kpi_gap:ratio{{{scope}}} < bool 0)")], w=4, h=5,
              options={"colorMode": "background"},
              thresholds=thresholds("green", (1, "red")))  # fmt: skip
    for level, plural in (("commune", "Communes and wards"), ("department", "Departments")):
        board.add("stat", f"{plural} below a target",
                  [prom(f'sum(civicpulse:kpi_units_below_target:count{{level="{level}", window="$window"}})')],
                  w=4, h=5, description="Units missing at least one target over at least its minimum denominator "
                  "(a count of unit-KPI pairs).",
                  thresholds=thresholds("green", (1, "orange")))  # fmt: skip
    board.add("stat", "Dossiers received",
              [prom(f'civicpulse:kpi_denominator:max{{kpi="online_submission_rate", {scope}}}')], w=4, h=5)  # fmt: skip
    board.add("stat", "Ratings", [prom(f'civicpulse:kpi_denominator:max{{kpi="satisfaction_rate", {scope}}}')],
              w=4, h=5)  # fmt: skip
    board.row("Every KPI against its target")
    kpi_table(board, "KPIs of $unit over $window", unit="$unit", level="province")
    board.add("table", "Units below target, by KPI",
              [prom('civicpulse:kpi_units_below_target:count{window="$window"}', instant=True)], w=24, h=8,
              transformations=[{"id": "groupingToMatrix", "options": {"columnField": "level", "rowField": "kpi",
                                                                      "valueField": "Value"}}],
              description="How many communes and departments miss each target over enough dossiers.")  # fmt: skip
    board.row("Trend")
    board.add("timeseries", "$kpi_each", [
        prom('civicpulse:kpi_ratio:max{kpi="$kpi_each", unit="$unit", window="$window"}', "value", ref="A"),
        prom('civicpulse:kpi_target:ratio{kpi="$kpi_each", level="province"}', "target", ref="B"),
    ], w=6, h=7, percent=True, repeat="kpi_each", overrides=[series_override("target", **TARGET_LINE)])  # fmt: skip
    return board.json()


def unit_ranking() -> Json:
    """Communes (wards, special zones) or departments ranked by one KPI, like the national ranking of provinces."""
    board = Board("civicpulse-unit-ranking", "CivicPulse · Unit ranking",
                  "Today's communes, wards and departments ranked by a KPI over a window.")  # fmt: skip
    board.variables = [KPI_VARIABLE, WINDOW_VARIABLE,
                       custom_variable("level", "Level", ["commune", "department"], current="commune")]  # fmt: skip
    scope = 'kpi="$kpi", window="$window", level="$level"'
    board.add("bargauge", "$kpi by $level ($window)", [prom(f"sort_desc(civicpulse:kpi_ratio:max{{{scope}}})",
                                                            "{{unit}}", instant=True)],
              w=12, h=14, percent=True, options={"orientation": "horizontal", "displayMode": "gradient"})  # fmt: skip
    board.add("bargauge", "Distance to target", [prom(f"sort_desc(civicpulse:kpi_gap:ratio{{{scope}}})", "{{unit}}",
                                                      instant=True)],
              w=12, h=14, unit="percentunit", thresholds=BELOW_RED,
              options={"orientation": "horizontal", "displayMode": "basic"})  # fmt: skip
    board.add("table", "Ranking", [sql("""
SELECT rank() OVER (ORDER BY s.ratio DESC NULLS LAST) AS "Rank", u.name AS "Unit", s.unit_code AS "Code",
       s.ratio AS "Value", s.numerator AS "Numerator", s.denominator AS "Denominator", s.computed_at AS "Computed at"
FROM kpi_snapshot s JOIN units u ON u.code = s.unit_code
WHERE s.kpi = '$kpi' AND s.window_name = '$window' AND s.unit_level = '$level'
  AND (s.computed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN coalesce(u.valid_from, '-infinity')
                                                                AND coalesce(u.valid_to, 'infinity')
ORDER BY s.ratio DESC NULLS LAST, s.unit_code
""")], w=12, h=14, overrides=[series_override("Value", unit="percentunit", decimals=2)],
              description="From the kpi_snapshot table, with unit names: units that exist today.")  # fmt: skip
    board.add("table", "Below target over enough dossiers", [prom(
        f"civicpulse:kpi_gap:ratio{{{scope}}} < 0\n"
        f"and on (job, kpi, window, unit, level) civicpulse:kpi_below_target:bool{{{scope}}} == 1", instant=True)],
        w=12, h=14, overrides=[series_override("Value", unit="percentunit", decimals=1, displayName="Distance")],
        description="Units an alert rule watches: below target with at least the minimum denominator.")  # fmt: skip
    board.add("table", "Every KPI by $level ($window)",
              [prom('civicpulse:kpi_ratio:max{window="$window", level="$level"}', instant=True)], w=24, h=14,
              transformations=[{"id": "groupingToMatrix", "options": {"columnField": "kpi", "rowField": "unit",
                                                                      "valueField": "Value"}}],
              custom={"cellOptions": {"type": "color-text"}}, percent=True)  # fmt: skip
    return board.json()


def unit_drilldown() -> Json:
    """One unit: its KPIs against target, trends across windows, the units under it."""
    board = Board("civicpulse-unit-drilldown", "CivicPulse · Unit drill-down",
                  "One province, department or commune in detail, with the units under it.")  # fmt: skip
    board.variables = [
        custom_variable("level", "Level", ["province", "department", "commune"], current="commune"),
        query_variable("unit", "Unit", 'label_values(civicpulse_kpi_ratio{level="$level"}, unit)', current="H24.107"),
        WINDOW_VARIABLE, KPI_VARIABLE,
    ]  # fmt: skip
    kpi_table(board, "KPIs of $unit over $window", unit="$unit", level="$level")
    board.add("timeseries", "$kpi of $unit, every window", [
        prom('civicpulse:kpi_ratio:max{kpi="$kpi", unit="$unit"}', "{{window}}", ref="A"),
        prom('civicpulse:kpi_target:ratio{kpi="$kpi", level="$level"}', "target", ref="B"),
    ], percent=True, overrides=[series_override("target", **TARGET_LINE)])  # fmt: skip
    board.add("timeseries", "Denominators of $unit ($window)",
              [prom('civicpulse:kpi_denominator:max{unit="$unit", window="$window"}', "{{kpi}}")],
              description="Dossiers, ratings or feedback each KPI is computed over.")  # fmt: skip
    board.add("table", "Units under $unit: $kpi ($window)", [sql("""
SELECT u.name AS "Unit", s.unit_code AS "Code", s.unit_level AS "Level", s.ratio AS "Value",
       s.numerator AS "Numerator", s.denominator AS "Denominator"
FROM kpi_snapshot s JOIN units u ON u.code = s.unit_code
WHERE u.parent_code = '$unit' AND s.kpi = '$kpi' AND s.window_name = '$window'
ORDER BY s.ratio ASC NULLS FIRST, s.unit_code
""")], w=12, h=12, overrides=[series_override("Value", unit="percentunit", decimals=1)],
              description="Read from kpi_snapshot: units of any level, with their names.")  # fmt: skip
    board.add("table", "Snapshot of $unit ($window)", [sql("""
SELECT kpi AS "KPI", ratio AS "Value", numerator AS "Numerator", denominator AS "Denominator",
       window_start AS "From", window_end AS "To", computed_at AS "Computed at"
FROM kpi_snapshot
WHERE unit_code = '$unit' AND window_name = '$window'
ORDER BY kpi
""")], w=12, h=12, overrides=[series_override("Value", unit="percentunit", decimals=2)])  # fmt: skip
    return board.json()
