"""The KPI dashboards: IOC overview, unit ranking, unit drill-down."""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.models.common import (
    BarGaugeDisplayMode,
    BigValueColorMode,
    TableColorTextCellOptions,
    VizOrientation,
)
from grafana_model import (
    BELOW_RED,
    COLOR_BACKGROUND,
    TARGET_LINE,
    WINDOWS,
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
    sql,
    thresholds,
)

KPI_VARIABLE = query_variable("kpi", "KPI", "label_values(civicpulse_kpi_ratio, kpi)", current="online_submission_rate")
WINDOW_VARIABLE = custom_variable("window", "Window", WINDOWS, current="30d")
KPI_TABLE_COLUMNS = {
    "Value #A": "Value",
    "Value #B": "Target",
    "Value #C": "Distance to target",
    "Value #D": "Numerator",
    "Value #E": "Denominator",
}
PERCENT_COLUMN = properties(unit="percentunit", decimals=1)
GAP_COLUMN = properties(unit="percentunit", decimals=1, thresholds=BELOW_RED.build(), **COLOR_BACKGROUND)


def kpi_table(board: Board, title: str, *, unit: str, level: str, w: int = 24) -> None:
    """Every KPI of one unit beside its target, distance to target, numerator and denominator."""
    scope = f'unit="{unit}", window="$window"'
    board.add(
        table.Panel()
        .title(title)
        .description(
            "Numerators and denominators are sums over the unit and its descendants, never averaged "
            "ratios. A target comes from shared/targets/defaults.yaml (via the generated Prometheus rules)."
        )
        .targets(
            [
                prom(f"civicpulse:kpi_ratio:max{{{scope}}}", ref="A", instant=True),
                prom(f'civicpulse:kpi_target:ratio{{level="{level}"}}', ref="B", instant=True),
                prom(f"civicpulse:kpi_gap:ratio{{{scope}}}", ref="C", instant=True),
                prom(f"civicpulse:kpi_numerator:max{{{scope}}}", ref="D", instant=True),
                prom(f"civicpulse:kpi_denominator:max{{{scope}}}", ref="E", instant=True),
            ]
        )
        .transformations(join_on("kpi", KPI_TABLE_COLUMNS))
        .override_by_name("Value", PERCENT_COLUMN)
        .override_by_name("Target", PERCENT_COLUMN)
        .override_by_name("Distance to target", GAP_COLUMN),
        w=w,
        h=10,
    )


def count_stat(title: str, expr: str) -> stat.Panel:
    """A count coloured by its thresholds."""
    return (
        stat.Panel()
        .title(title)
        .with_target(prom(expr))
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(last_value())
    )


def ioc_overview() -> Json:
    """Every KPI of the province against its target, and its trend."""
    board = Board(
        "civicpulse-ioc-overview",
        "CivicPulse · IOC overview",
        "Online public-service KPIs of the province against their targets.",
    )
    board.variables(
        query_variable("unit", "Province", 'label_values(civicpulse_kpi_ratio{level="province"}, unit)', current="H24"),
        WINDOW_VARIABLE,
        query_variable("kpi_each", "KPIs", "label_values(civicpulse_kpi_ratio, kpi)", multi=True, hidden=True),
    )
    board.row("Now")
    scope = 'unit="$unit", window="$window"'
    board.add(
        count_stat("KPIs meeting target", f"sum(civicpulse:kpi_gap:ratio{{{scope}}} >= bool 0)").thresholds(
            thresholds("green")
        ),
        w=4,
        h=5,
    )
    board.add(
        count_stat("KPIs below target", f"sum(civicpulse:kpi_gap:ratio{{{scope}}} < bool 0)").thresholds(
            thresholds("green", (1, "red"))
        ),
        w=4,
        h=5,
    )
    for level, plural in (("commune", "Communes and wards"), ("department", "Departments")):
        board.add(
            stat.Panel()
            .title(f"{plural} below a target")
            .description(
                "Units missing at least one target over at least its minimum denominator (a count of unit-KPI pairs)."
            )
            .with_target(prom(f'sum(civicpulse:kpi_units_below_target:count{{level="{level}", window="$window"}})'))
            .thresholds(thresholds("green", (1, "orange"))),
            w=4,
            h=5,
        )
    board.add(
        stat.Panel()
        .title("Dossiers received")
        .with_target(prom(f'civicpulse:kpi_denominator:max{{kpi="online_submission_rate", {scope}}}')),
        w=4,
        h=5,
    )
    board.add(
        stat.Panel()
        .title("Ratings")
        .with_target(prom(f'civicpulse:kpi_denominator:max{{kpi="satisfaction_rate", {scope}}}')),
        w=4,
        h=5,
    )
    board.row("Every KPI against its target")
    kpi_table(board, "KPIs of $unit over $window", unit="$unit", level="province")
    board.add(
        table.Panel()
        .title("Units below target, by KPI")
        .description("How many communes and departments miss each target over enough dossiers.")
        .with_target(prom('civicpulse:kpi_units_below_target:count{window="$window"}', instant=True))
        .with_transformation(matrix(rows="kpi", columns="level")),
        w=24,
        h=8,
    )
    board.row("Trend")
    board.add(
        percent(timeseries.Panel().title("$kpi_each"))
        .targets(
            [
                prom('civicpulse:kpi_ratio:max{kpi="$kpi_each", unit="$unit", window="$window"}', "value", ref="A"),
                prom('civicpulse:kpi_target:ratio{kpi="$kpi_each", level="province"}', "target", ref="B"),
            ]
        )
        .override_by_name("target", TARGET_LINE)
        .repeat("kpi_each")
        .repeat_direction("h")
        .max_per_row(4),
        w=6,
        h=7,
    )
    return board.json()


def unit_ranking() -> Json:
    """Communes (wards, special zones) or departments ranked by one KPI, like the national ranking of provinces."""
    board = Board(
        "civicpulse-unit-ranking",
        "CivicPulse · Unit ranking",
        "Today's communes, wards and departments ranked by a KPI over a window.",
    )
    board.variables(
        KPI_VARIABLE, WINDOW_VARIABLE, custom_variable("level", "Level", ["commune", "department"], current="commune")
    )
    scope = 'kpi="$kpi", window="$window", level="$level"'
    board.add(
        percent(bargauge.Panel().title("$kpi by $level ($window)"))
        .with_target(prom(f"sort_desc(civicpulse:kpi_ratio:max{{{scope}}})", "{{unit}}", instant=True))
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.GRADIENT)
        .reduce_options(last_value()),
        w=12,
        h=14,
    )
    board.add(
        bargauge.Panel()
        .title("Distance to target")
        .with_target(prom(f"sort_desc(civicpulse:kpi_gap:ratio{{{scope}}})", "{{unit}}", instant=True))
        .unit("percentunit")
        .thresholds(BELOW_RED)
        .orientation(VizOrientation.HORIZONTAL)
        .display_mode(BarGaugeDisplayMode.BASIC)
        .reduce_options(last_value()),
        w=12,
        h=14,
    )
    board.add(
        table.Panel()
        .title("Ranking")
        .description("From the kpi_snapshot table, with unit names: units that exist today.")
        .with_target(
            sql("""
SELECT rank() OVER (ORDER BY s.ratio DESC NULLS LAST) AS "Rank", u.name AS "Unit", s.unit_code AS "Code",
       s.ratio AS "Value", s.numerator AS "Numerator", s.denominator AS "Denominator", s.computed_at AS "Computed at"
FROM kpi_snapshot s JOIN units u ON u.code = s.unit_code
WHERE s.kpi = '$kpi' AND s.window_name = '$window' AND s.unit_level = '$level'
  AND (s.computed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date BETWEEN coalesce(u.valid_from, '-infinity')
                                                                AND coalesce(u.valid_to, 'infinity')
ORDER BY s.ratio DESC NULLS LAST, s.unit_code
""")
        )
        .override_by_name("Value", properties(unit="percentunit", decimals=2)),
        w=12,
        h=14,
    )
    board.add(
        table.Panel()
        .title("Below target over enough dossiers")
        .description("Units an alert rule watches: below target with at least the minimum denominator.")
        .with_target(
            prom(
                f"civicpulse:kpi_gap:ratio{{{scope}}} < 0\n"
                f"and on (job, kpi, window, unit, level) civicpulse:kpi_below_target:bool{{{scope}}} == 1",
                instant=True,
            )
        )
        .override_by_name("Value", properties(unit="percentunit", decimals=1, displayName="Distance")),
        w=12,
        h=14,
    )
    board.add(
        percent(table.Panel().title("Every KPI by $level ($window)"))
        .with_target(prom('civicpulse:kpi_ratio:max{window="$window", level="$level"}', instant=True))
        .with_transformation(matrix(rows="unit", columns="kpi"))
        .cell_options(TableColorTextCellOptions()),
        w=24,
        h=14,
    )
    return board.json()


def unit_drilldown() -> Json:
    """One unit: its KPIs against target, trends across windows, the units under it."""
    board = Board(
        "civicpulse-unit-drilldown",
        "CivicPulse · Unit drill-down",
        "One province, department or commune in detail, with the units under it.",
    )
    board.variables(
        custom_variable("level", "Level", ["province", "department", "commune"], current="commune"),
        query_variable("unit", "Unit", 'label_values(civicpulse_kpi_ratio{level="$level"}, unit)', current="H24.107"),
        WINDOW_VARIABLE,
        KPI_VARIABLE,
    )
    kpi_table(board, "KPIs of $unit over $window", unit="$unit", level="$level")
    board.add(
        percent(timeseries.Panel().title("$kpi of $unit, every window"))
        .targets(
            [
                prom('civicpulse:kpi_ratio:max{kpi="$kpi", unit="$unit"}', "{{window}}", ref="A"),
                prom('civicpulse:kpi_target:ratio{kpi="$kpi", level="$level"}', "target", ref="B"),
            ]
        )
        .override_by_name("target", TARGET_LINE),
    )
    board.add(
        timeseries.Panel()
        .title("Denominators of $unit ($window)")
        .description("Dossiers, ratings or feedback each KPI is computed over.")
        .with_target(prom('civicpulse:kpi_denominator:max{unit="$unit", window="$window"}', "{{kpi}}"))
    )
    board.add(
        table.Panel()
        .title("Units under $unit: $kpi ($window)")
        .description("Read from kpi_snapshot: units of any level, with their names.")
        .with_target(
            sql("""
SELECT u.name AS "Unit", s.unit_code AS "Code", s.unit_level AS "Level", s.ratio AS "Value",
       s.numerator AS "Numerator", s.denominator AS "Denominator"
FROM kpi_snapshot s JOIN units u ON u.code = s.unit_code
WHERE u.parent_code = '$unit' AND s.kpi = '$kpi' AND s.window_name = '$window'
ORDER BY s.ratio ASC NULLS FIRST, s.unit_code
""")
        )
        .override_by_name("Value", properties(unit="percentunit", decimals=1)),
        w=12,
        h=12,
    )
    board.add(
        table.Panel()
        .title("Snapshot of $unit ($window)")
        .with_target(
            sql("""
SELECT kpi AS "KPI", ratio AS "Value", numerator AS "Numerator", denominator AS "Denominator",
       window_start AS "From", window_end AS "To", computed_at AS "Computed at"
FROM kpi_snapshot
WHERE unit_code = '$unit' AND window_name = '$window'
ORDER BY kpi
""")
        )
        .override_by_name("Value", properties(unit="percentunit", decimals=2)),
        w=12,
        h=12,
    )
    return board.json()
