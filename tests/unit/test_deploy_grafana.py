"""Grafana dashboards: well-formed JSON built by the committed builder, on the provisioned data sources, with
every panel carrying a query. (tests/e2e/test_dashboards.py runs every query against real data.)"""

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

from tests.support.prometheus import REPO_ROOT

pytestmark = pytest.mark.unit

GRAFANA_DIR = REPO_ROOT / "deploy" / "grafana"
DASHBOARD_FILES = sorted((GRAFANA_DIR / "dashboards").glob("*.json"))
EXPECTED = {"ioc-overview", "unit-ranking", "unit-drilldown", "pipeline-health", "alerts", "backlog"}


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


def test_the_six_dashboards_are_committed() -> None:
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
