"""Prometheus deployment files: promtool accepts the config and rules, the rule unit tests pass, the generated KPI
rules match the targets file, and every alert links a runbook that exists."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from services.alerts.core.backlog_defaults import BACKLOG_THRESHOLDS
from services.metrics.settings import MetricsSettings
from shared.targets import load_targets
from tests.support.prometheus import PROMETHEUS_DIR, REPO_ROOT, RULE_FILES, run_tool

pytestmark = pytest.mark.unit

RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
RUNBOOKS = REPO_ROOT / "docs" / "runbooks"
EXPORTED_LEVELS = set(MetricsSettings.model_fields["metrics_levels"].default)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_rules", PROMETHEUS_DIR / "generate_rules.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def alert_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text("utf-8"))["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


def test_promtool_accepts_every_rules_file() -> None:
    output = run_tool("promtool", "check", "rules", *RULE_FILES)
    assert output.count("SUCCESS") == len(RULE_FILES), output


def test_promtool_accepts_the_compose_config_and_the_rule_files_it_names() -> None:
    output = run_tool("promtool", "check", "config", PROMETHEUS_DIR / "prometheus.yml")
    assert f"SUCCESS: {len(RULE_FILES)} rule files found" in output, output


def test_rule_unit_tests_pass() -> None:
    assert RULE_TESTS, "no promtool test files in deploy/prometheus/tests"
    output = run_tool("promtool", "test", "rules", *RULE_TESTS)
    assert output.count("SUCCESS") == len(RULE_TESTS), output


def test_every_rules_file_has_promtool_tests() -> None:
    tested = set()
    for path in RULE_TESTS:
        for name in yaml.safe_load(path.read_text("utf-8"))["rule_files"]:
            tested.add((path.parent / name).resolve())
    assert {p.resolve() for p in RULE_FILES} <= tested


def test_committed_kpi_rules_match_a_fresh_generation_from_the_targets_file() -> None:
    generator = load_generator()
    committed = (PROMETHEUS_DIR / "rules" / "kpi_targets.yml").read_text("utf-8")
    assert committed == generator.render(load_targets()), (
        "deploy/prometheus/rules/kpi_targets.yml is stale: run .venv/bin/python deploy/prometheus/generate_rules.py"
    )


def test_generator_check_mode_fails_on_a_stale_file(tmp_path: Path) -> None:
    generator = load_generator()
    output = tmp_path / "kpi_targets.yml"
    output.write_text("groups: []\n", "utf-8")
    assert generator.main(["--check", "--output", str(output)]) == 1
    assert generator.main(["--output", str(output)]) == 0
    assert generator.main(["--check", "--output", str(output)]) == 0


def test_committed_backlog_rules_match_a_fresh_generation_from_the_alerts_defaults() -> None:
    generator = load_generator()
    committed = (PROMETHEUS_DIR / "rules" / "backlog.yml").read_text("utf-8")
    assert committed == generator.render_backlog(), (
        "deploy/prometheus/rules/backlog.yml is stale: run .venv/bin/python deploy/prometheus/generate_rules.py"
    )


def test_one_backlog_alert_per_level_with_the_alerts_service_thresholds() -> None:
    backlog = {r["labels"]["level"]: r for r in alert_rules() if r["labels"].get("family") == "backlog-overdue"}
    assert set(backlog) == {t.level for t in BACKLOG_THRESHOLDS} <= EXPORTED_LEVELS
    for threshold in BACKLOG_THRESHOLDS:
        rule = backlog[threshold.level]
        expr = " ".join(rule["expr"].split())
        assert f"> {threshold.threshold:g} or" in expr
        assert f"> {threshold.threshold - threshold.recovery_margin:g} and on (unit, level) ALERTS" in expr
        assert expr.endswith(f">= {threshold.min_in_progress}")
        assert (rule["for"], rule["labels"]["severity"]) == ("1h", threshold.severity)


def test_one_kpi_alert_per_target_at_every_exported_level() -> None:
    kpi_alerts = {(r["labels"]["kpi"], r["labels"]["level"]): r for r in alert_rules()
                  if r["labels"].get("family") == "kpi-below-target"}  # fmt: skip
    targets = [t for t in load_targets().targets if t.level in EXPORTED_LEVELS]
    assert set(kpi_alerts) == {(t.kpi, t.level) for t in targets}
    for target in targets:
        rule = kpi_alerts[(target.kpi, target.level)]
        expr = " ".join(rule["expr"].split())
        assert (
            f'civicpulse_kpi_ratio{{kpi="{target.kpi}", level="{target.level}", window="30d"}}) < {target.target:g}'
            in expr
        )
        assert f") >= {target.min_denominator}" in expr
        assert rule["for"] == "15m"
        assert rule["labels"]["severity"] == ("critical" if target.level == "province" else "warning")


def test_every_alert_has_a_summary_a_description_and_an_existing_runbook() -> None:
    for rule in alert_rules():
        annotations = rule["annotations"]
        assert annotations["summary"], rule["alert"]
        assert annotations["description"], rule["alert"]
        match = re.fullmatch(r"docs/runbooks/([a-z-]+\.md)", annotations["runbook_url"])
        assert match, f"{rule['alert']}: runbook_url {annotations['runbook_url']!r}"
        assert (RUNBOOKS / match.group(1)).is_file(), f"{rule['alert']}: {match.group(1)} missing"
        assert annotations["runbook_url"] == f"docs/runbooks/{rule['labels']['family']}.md"


@pytest.mark.parametrize(
    "page", ["kpi-below-target", "source-stale", "unit-stale", "notification-failing", "consumer-lag",
             "dead-letters", "service-down", "unknown-unit", "backlog-overdue"],
)  # fmt: skip
def test_every_alert_family_has_a_runbook_saying_what_it_means_how_to_check_and_what_to_do(page: str) -> None:
    text = (RUNBOOKS / f"{page}.md").read_text("utf-8")
    for heading in ("## What it means", "## How to check", "## What to do"):
        assert heading in text, f"{page}.md lacks {heading!r}"
