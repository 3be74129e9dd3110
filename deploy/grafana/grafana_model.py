"""Shared pieces of the dashboards on grafana-foundation-sdk's typed builders (Grafana 11 schema): the provisioned
data sources, PromQL and SQL queries, variables, thresholds, overrides, and a board laying panels out in rows."""

from __future__ import annotations

import json
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat, QueryEditorMode

PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid="civicpulse-prometheus")
POSTGRES = model.DataSourceRef(type_val="grafana-postgresql-datasource", uid="civicpulse-postgres")
"""The provisioned data sources (provisioning/datasources/datasources.yml), named by uid."""

WINDOWS = ["30d", "7d", "1d", "mtd", "qtd", "ytd"]
Json = dict[str, Any]
PanelBuilder = cogbuilder.Builder[model.Panel]


def thresholds(base: str, *steps: tuple[float, str]) -> dash.ThresholdsConfig:
    """Absolute thresholds: the base colour, then (from value, colour) steps."""
    return (
        dash.ThresholdsConfig()
        .mode(model.ThresholdsMode.ABSOLUTE)
        .steps([model.Threshold(value=None, color=base), *(model.Threshold(value=v, color=c) for v, c in steps)])
    )


BELOW_RED = thresholds("red", (0, "green"))
"""Thresholds of a distance to target: red below 0, green from 0."""


def prom(expr: str, legend: str = "__auto", *, ref: str = "A", instant: bool = False) -> prometheus.Dataquery:
    """A PromQL query; instant ones (tables, stats) come back as one row per series."""
    query = (
        prometheus.Dataquery()
        .datasource(PROMETHEUS)
        .ref_id(ref)
        .expr(expr)
        .legend_format(legend)
        .editor_mode(QueryEditorMode.CODE)
    )
    return query.instant().format(PromQueryFormat.TABLE) if instant else query.range()


class SqlQuery(cogvariants.Dataquery):
    """A raw SQL query of Grafana's PostgreSQL data source, as a table: the SDK has no builder for that plugin."""

    def __init__(self, raw_sql: str, *, ref_id: str) -> None:
        self.raw_sql = raw_sql
        self.ref_id = ref_id

    def to_json(self) -> dict[str, object]:
        """The target as Grafana stores it."""
        return {
            "datasource": POSTGRES,
            "refId": self.ref_id,
            "rawQuery": True,
            "editorMode": "code",
            "format": "table",
            "rawSql": self.raw_sql,
        }


class Sql(cogbuilder.Builder[SqlQuery]):
    """Builder of a SqlQuery, so panels take it like the SDK's own query builders."""

    def __init__(self, raw_sql: str, *, ref_id: str = "A") -> None:
        self._internal = SqlQuery(raw_sql.strip(), ref_id=ref_id)

    def build(self) -> SqlQuery:
        """The query."""
        return self._internal


def sql(raw: str, *, ref: str = "A") -> Sql:
    """A raw SQL query on the PostgreSQL data source, as a table."""
    return Sql(raw, ref_id=ref)


def custom_variable(name: str, label: str, values: list[str], *, current: str) -> dash.CustomVariable:
    """A fixed list of choices."""
    return (
        dash.CustomVariable(name)
        .label(label)
        .values(",".join(values))
        .hide(model.VariableHide.DONT_HIDE)
        .multi(False)
        .include_all(False)
        .current(model.VariableOption(text=current, value=current))
        .options([model.VariableOption(text=v, value=v, selected=v == current) for v in values])
    )


def query_variable(
    name: str, label: str, query: str, *, current: str | None = None, multi: bool = False, hidden: bool = False
) -> dash.QueryVariable:
    """Choices from Prometheus label values (`label_values(selector, label)`), refreshed with the time range."""
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(PROMETHEUS)
        .query(query)  # the classic string form: every Grafana version reads it
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
        .hide(model.VariableHide.HIDE_VARIABLE if hidden else model.VariableHide.DONT_HIDE)
        .multi(multi)
        .include_all(multi)
    )
    if current is not None:
        variable.current(model.VariableOption(text=current, value=current))
    elif multi:
        variable.current(model.VariableOption(text=["All"], value=["$__all"]))
    return variable


class FieldDefaults(Protocol):
    """What every panel builder offers for its field defaults."""

    def unit(self, unit: str) -> Self: ...
    def min(self, min_val: float) -> Self: ...
    def max(self, max_val: float) -> Self: ...
    def decimals(self, decimals: float) -> Self: ...


P = TypeVar("P", bound=FieldDefaults)


def percent(panel: P) -> P:
    """A 0-1 axis shown as percentages."""
    return panel.unit("percentunit").min(0).max(1).decimals(1)


def last_value() -> common_builders.ReduceDataOptions:
    """Reduce each series to its last non-null value (Grafana's default for stats and bar gauges)."""
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def properties(**values: Any) -> list[model.DynamicConfigValue]:
    """Field properties of an override (e.g. a dashed target line); dotted ids as keyword dicts."""
    return [model.DynamicConfigValue(id_val=key, value=value) for key, value in values.items()]


TARGET_LINE = properties(
    **{
        "custom.lineStyle": common.LineStyle(fill="dash", dash=[10, 10]),
        "color": model.FieldColor(mode=model.FieldColorModeId.FIXED, fixed_color="red"),
    }
)
"""How a target is drawn beside its KPI."""

COLOR_BACKGROUND = {"custom.cellOptions": common.TableColoredBackgroundCellOptions()}
"""A table column coloured by its thresholds or mappings."""


def transformation(kind: str, **options: Any) -> model.DataTransformerConfig:
    """One of Grafana's data transformations by id."""
    return model.DataTransformerConfig(id_val=kind, options=options)


def join_on(field_name: str, rename: dict[str, str]) -> list[model.DataTransformerConfig]:
    """Transformations joining instant table queries on one label and keeping only the renamed columns."""
    return [
        transformation("joinByField", byField=field_name, mode="outer"),
        transformation("filterFieldsByName", include={"names": [field_name, *rename]}),
        transformation("organize", renameByName=rename),
    ]


def matrix(*, rows: str, columns: str) -> model.DataTransformerConfig:
    """Series of one instant query pivoted into a table: a row per `rows` label, a column per `columns` label."""
    return transformation("groupingToMatrix", columnField=columns, rowField=rows, valueField="Value")


class Board:
    """A dashboard being laid out: panels flow left to right in rows of 24 columns, each with a unique id."""

    def __init__(self, uid: str, title: str, description: str) -> None:
        self.dashboard = (
            dash.Dashboard(title)
            .uid(uid)
            .description(description)
            .tags(["civicpulse"])
            .timezone("Asia/Ho_Chi_Minh")
            .readonly()
            .tooltip(model.DashboardCursorSync.CROSSHAIR)
            .version(1)
            .refresh("1m")
            .time("now-24h", "now")
            .annotations([])
            .variables([])
            .link(
                dash.DashboardLink("CivicPulse")
                .type(model.DashboardLinkType.DASHBOARDS)
                .tags(["civicpulse"])
                .as_dropdown(True)
                .include_vars(False)
                .keep_time(True)
            )
        )
        self._ids = 0
        self._x, self._y, self._row_height = 0, 0, 0

    def variables(self, *variables: cogbuilder.Builder[model.VariableModel]) -> None:
        """The template variables, in the order the dashboard shows them."""
        self.dashboard.variables(list(variables))

    def row(self, title: str) -> None:
        """Start a new row of panels under a heading."""
        self._newline()
        self.dashboard.with_row(
            dash.Row(title).collapsed(False).id(self._next_id()).grid_pos(model.GridPos(x=0, y=self._y, w=24, h=1))
        )
        self._y += 1

    def add(self, panel: PanelBuilder, *, w: int = 12, h: int = 8) -> None:
        """Place a panel w columns wide and h high; it queries the data source of its first query."""
        if self._x + w > 24:
            self._newline()
        built = panel.build()
        built.id_val = self._next_id()
        built.grid_pos = model.GridPos(x=self._x, y=self._y, w=w, h=h)
        if built.datasource is None and built.targets:
            built.datasource = _datasource_of(built.targets[0])
        self.dashboard.with_panel(panel)
        self._x += w
        self._row_height = max(self._row_height, h)

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _newline(self) -> None:
        self._y += self._row_height
        self._x, self._row_height = 0, 0

    def json(self) -> Json:
        """The dashboard model Grafana provisions, as plain JSON data."""
        return plain(self.dashboard.build())


def _datasource_of(query: cogvariants.Dataquery) -> model.DataSourceRef:
    if isinstance(query, SqlQuery):
        return POSTGRES
    datasource = getattr(query, "datasource", None)
    assert isinstance(datasource, model.DataSourceRef), f"a query without a data source: {query!r}"
    return datasource


def plain(dashboard: model.Dashboard) -> Json:
    """A dashboard model as plain JSON data, serialised by the SDK's own encoder."""
    data: Json = json.loads(json.dumps(dashboard, cls=JSONEncoder))
    return data
