"""Grafana dashboards: well-formed JSON built by the committed builder on grafana-foundation-sdk, within the SDK's
typed schema, on the provisioned data sources, with every panel carrying a query. (tests/e2e/test_dashboards.py runs
every query against real data.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.models.dashboard import Dashboard

from tests.support.prometheus import REPO_ROOT

pytestmark = pytest.mark.unit

GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
EXPECTED = {"ioc-overview", "unit-ranking", "unit-drilldown", "pipeline-health", "alerts", "backlog", "index766"}
INDEX766_GROUPS = {"transparency", "progress", "online_service", "online_payment", "digitization", "satisfaction"}


def load_builder() -> ModuleType:
    sys.path.insert(0, str(GRAFANA_DIR))
    try:
        spec = importlib.util.spec_from_file_location("build_dashboards", GRAFANA_DIR / "build_dashboards.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(GRAFANA_DIR))


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def provisioned_uids() -> set[str]:
    sources = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "datasources.yml").read_text("utf-8"))
    return {s["uid"] for s in sources["datasources"]}


def test_every_dashboard_is_committed() -> None:
    assert {p.stem for p in DASHBOARD_FILES} == EXPECTED


def test_committed_json_matches_a_fresh_build(tmp_path: Path) -> None:
    builder = load_builder()
    for path in DASHBOARD_FILES:
        assert path.read_text("utf-8") == builder.render(builder.DASHBOARDS[path.stem]()), (
            f"{path.name} is stale: run .venv/bin/python deploy/grafana/build_dashboards.py"
        )
    assert builder.main(["--check", "--output", str(tmp_path)]) == 1


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_dashboard_is_well_formed(path: Path) -> None:
    dashboard = json.loads(path.read_text("utf-8"))
    assert dashboard["uid"].startswith("civicpulse-")
    assert dashboard["title"]
    assert dashboard["schemaVersion"] >= 39
    ids = [p["id"] for p in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(dashboard):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in provisioned_uids(), panel["title"]
            assert target.get("expr") or target.get("rawSql"), panel["title"]
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    for panel in panels(dashboard):
        if panel.get("repeat"):
            assert panel["repeat"] in variables


def test_dashboard_uids_are_unique() -> None:
    uids = [json.loads(p.read_text("utf-8"))["uid"] for p in DASHBOARD_FILES]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.stem)
def test_dashboard_stays_within_the_sdk_schema(path: Path) -> None:
    """Read into the SDK's typed model and written back, nothing is lost or added: no key outside the schema."""
    load_builder()
    grafana_model = sys.modules["grafana_model"]  # imported by the builder from deploy/grafana
    dashboard = json.loads(path.read_text("utf-8"))
    assert grafana_model.plain(Dashboard.from_json(dashboard)) == dashboard


def test_scorecard_shows_groups_ranking_and_monthly_trend() -> None:
    dashboard = json.loads((GRAFANA_DIR / "dashboards" / "index766.json").read_text("utf-8"))
    by_title = {p["title"]: p for p in panels(dashboard)}
    exprs = [t["expr"] for p in by_title.values() for t in p.get("targets", [])]
    for gauge in ("civicpulse_index766_total", "civicpulse_index766_group_points", "civicpulse_index766_coverage"):
        assert any(gauge in e for e in exprs), gauge
    groups = by_title["Groups of $unit"]
    maxima = {o["matcher"]["options"]: o["properties"][0]["value"] for o in groups["fieldConfig"]["overrides"]}
    assert set(maxima) == INDEX766_GROUPS
    assert sum(maxima.values()) == 100
    ranking = by_title["Units of level $level by total ($period)"]["targets"][0]
    assert ranking["expr"].startswith("sort_desc(")
    assert 'level="$level"' in ranking["expr"]
    assert ranking["instant"]
    trends = [p for p in panels(dashboard) if p["type"] == "timeseries"]
    assert trends
    assert all('period="month"' in t["expr"] for p in trends for t in p["targets"])
    assert {p.get("timeFrom") for p in trends} == {"1y"}
    period = next(v for v in dashboard["templating"]["list"] if v["name"] == "period")
    assert [o["value"] for o in period["options"]] == ["month", "quarter", "year"]
