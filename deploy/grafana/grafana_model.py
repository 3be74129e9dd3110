"""Small builders of Grafana dashboard JSON (schema 39, Grafana 11): data sources, queries, panels, variables."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROMETHEUS = {"type": "prometheus", "uid": "civicpulse-prometheus"}
POSTGRES = {"type": "grafana-postgresql-datasource", "uid": "civicpulse-postgres"}
"""The provisioned data sources (provisioning/datasources/datasources.yml), named by uid."""

WINDOWS = ["30d", "7d", "1d", "mtd", "qtd", "ytd"]
Json = dict[str, Any]


def thresholds(base: str, *steps: tuple[float, str]) -> Json:
    """Absolute thresholds: the base colour, then (from value, colour) steps."""
    return {"mode": "absolute", "steps": [{"color": base, "value": None},
                                          *({"color": color, "value": value} for value, color in steps)]}  # fmt: skip


BELOW_RED = thresholds("red", (0, "green"))
"""Thresholds of a distance to target: red below 0, green from 0."""


def prom(expr: str, legend: str = "__auto", *, ref: str = "A", instant: bool = False) -> Json:
    """A PromQL query; instant ones (tables, stats) come back as one row per series."""
    target: Json = {"datasource": PROMETHEUS, "refId": ref, "expr": expr, "legendFormat": legend, "editorMode": "code"}
    if instant:
        target.update(instant=True, range=False, format="table")
    else:
        target.update(instant=False, range=True)
    return target


def sql(raw: str, *, ref: str = "A") -> Json:
    """A raw SQL query on the PostgreSQL data source, as a table."""
    return {"datasource": POSTGRES, "refId": ref, "rawQuery": True, "editorMode": "code", "format": "table",
            "rawSql": raw.strip()}  # fmt: skip


def custom_variable(name: str, label: str, values: list[str], *, current: str) -> Json:
    """A fixed list of choices."""
    return {
        "type": "custom", "name": name, "label": label, "query": ",".join(values), "hide": 0, "multi": False,
        "includeAll": False, "current": {"text": current, "value": current},
        "options": [{"text": v, "value": v, "selected": v == current} for v in values],
    }  # fmt: skip


def query_variable(name: str, label: str, query: str, *, current: str | None = None, multi: bool = False,
                   hidden: bool = False) -> Json:  # fmt: skip
    """Choices from Prometheus label values (`label_values(selector, label)`), refreshed with the time range."""
    variable: Json = {
        "type": "query", "name": name, "label": label, "datasource": PROMETHEUS, "definition": query,
        "query": query, "refresh": 2, "sort": 1,  # the classic string form: every Grafana version reads it
        "hide": 2 if hidden else 0, "multi": multi, "includeAll": multi,
    }  # fmt: skip
    if current is not None:
        variable["current"] = {"text": current, "value": current}
    elif multi:
        variable["current"] = {"text": ["All"], "value": ["$__all"]}
    return variable


@dataclass
class Board:
    """A dashboard being laid out: panels flow left to right in rows of 24 columns."""

    uid: str
    title: str
    description: str
    variables: list[Json] = field(default_factory=list)
    panels: list[Json] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_height: int = 0

    def row(self, title: str) -> None:
        """Start a new row of panels under a heading."""
        self._newline()
        self.panels.append({"type": "row", "title": title, "collapsed": False, "id": len(self.panels) + 1,
                            "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1}, "panels": []})  # fmt: skip
        self._y += 1

    def add(self, kind: str, title: str, targets: list[Json], *, w: int = 12, h: int = 8, description: str = "",
            unit: str | None = None, percent: bool = False, thresholds: Json | None = None,
            options: Json | None = None, custom: Json | None = None, overrides: list[Json] | None = None,
            transformations: list[Json] | None = None, repeat: str | None = None) -> None:  # fmt: skip
        """Place a panel; percent sets a 0-1 axis shown as percentages."""
        if self._x + w > 24:
            self._newline()
        defaults: Json = {}
        if percent:
            defaults.update(unit="percentunit", min=0, max=1, decimals=1)
        if unit:
            defaults["unit"] = unit
        if thresholds:
            defaults["thresholds"] = thresholds
        if custom:
            defaults["custom"] = custom
        panel: Json = {
            "type": kind, "title": title, "description": description, "id": len(self.panels) + 1,
            "gridPos": {"x": self._x, "y": self._y, "w": w, "h": h},
            "datasource": targets[0]["datasource"], "targets": targets,
            "fieldConfig": {"defaults": defaults, "overrides": overrides or []}, "options": options or {},
        }  # fmt: skip
        if transformations:
            panel["transformations"] = transformations
        if repeat:
            panel.update(repeat=repeat, repeatDirection="h", maxPerRow=4)
        self.panels.append(panel)
        self._x += w
        self._row_height = max(self._row_height, h)

    def _newline(self) -> None:
        self._y += self._row_height
        self._x, self._row_height = 0, 0

    def json(self) -> Json:
        """The dashboard model Grafana provisions."""
        return {
            "uid": self.uid, "title": self.title, "description": self.description, "tags": ["civicpulse"],
            "timezone": "Asia/Ho_Chi_Minh", "editable": False, "graphTooltip": 1, "schemaVersion": 39,
            "version": 1, "refresh": "1m", "time": {"from": "now-24h", "to": "now"},
            "links": [{"type": "dashboards", "tags": ["civicpulse"], "asDropdown": True, "title": "CivicPulse",
                       "includeVars": False, "keepTime": True}],
            "annotations": {"list": []}, "templating": {"list": self.variables}, "panels": self.panels,
        }  # fmt: skip


def join_on(field_name: str, rename: dict[str, str]) -> list[Json]:
    """Transformations joining instant table queries on one label and keeping only the renamed columns."""
    return [
        {"id": "joinByField", "options": {"byField": field_name, "mode": "outer"}},
        {"id": "filterFieldsByName", "options": {"include": {"names": [field_name, *rename]}}},
        {"id": "organize", "options": {"renameByName": rename}},
    ]


def series_override(name: str, **properties: Any) -> Json:
    """Field properties for the series of one legend name (e.g. a dashed target line)."""
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": key, "value": value} for key, value in properties.items()]}  # fmt: skip


TARGET_LINE = {"custom.lineStyle": {"fill": "dash", "dash": [10, 10]}, "color": {"mode": "fixed", "fixedColor": "red"}}
"""How a target is drawn beside its KPI."""
