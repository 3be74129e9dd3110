"""The dev stack's Prometheus and Alertmanager configuration: the shipped config at the stack's ports, the alerts
service routed to the stack's Alertmanager, and the demo's Prometheus rules on the demo alert rules' thresholds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.alerts.core.receivers import AlertmanagerReceiver
from services.alerts.core.rules import KpiRule
from services.alerts.core.ruleset import parse_rules
from services.alerts.settings import DEFAULT_RULES_FILE
from services.cli.dev import DEMO_PROMETHEUS_RULES, DEMO_RULES
from shared.devstack.monitoring import (
    DEV_RECEIVER,
    PROMETHEUS_CONFIG,
    PROMETHEUS_RULES,
    dev_prometheus_config,
    rules_with_alertmanager,
)
from shared.devstack.stack import DevStack, ServiceProcess
from tests.support.prometheus import run_tool

pytestmark = pytest.mark.unit
SERVICES = {"ingest": 18001, "metrics": 18002, "alerts": 18003}
RULE_FILES = sorted(PROMETHEUS_RULES.glob("*.yml"))


def dev_config(**overrides: str) -> dict[str, Any]:
    options = {"prometheus_url": "http://127.0.0.1:19090", "alertmanager_url": "http://127.0.0.1:19094", **overrides}
    return dev_prometheus_config(yaml.safe_load(PROMETHEUS_CONFIG.read_text("utf-8")), services=SERVICES,
                                 rule_files=[*RULE_FILES, DEMO_PROMETHEUS_RULES], **options)  # fmt: skip


def test_each_shipped_job_scrapes_its_dev_port_with_the_shipped_intervals() -> None:
    shipped = yaml.safe_load(PROMETHEUS_CONFIG.read_text("utf-8"))
    config = dev_config()
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {
        "civicpulse-ingest": ["127.0.0.1:18001"], "civicpulse-metrics": ["127.0.0.1:18002"],
        "civicpulse-alerts": ["127.0.0.1:18003"], "prometheus": ["127.0.0.1:19090"],
        "alertmanager": ["127.0.0.1:19094"],
    }  # fmt: skip
    assert config["global"] == shipped["global"]
    assert config["alerting"] == {"alertmanagers": [
        {"scheme": "http", "path_prefix": "/", "static_configs": [{"targets": ["127.0.0.1:19094"]}]}
    ]}  # fmt: skip


def test_an_external_alertmanager_behind_a_path_is_where_prometheus_sends() -> None:
    config = dev_config(alertmanager_url="https://am.example.gov.vn/alertmanager")
    assert config["alerting"] == {"alertmanagers": [
        {"scheme": "https", "path_prefix": "/alertmanager",
         "static_configs": [{"targets": ["am.example.gov.vn:443"]}]}
    ]}  # fmt: skip


def alerting_rules(paths: list[Path]) -> list[str]:
    return [rule["alert"] for path in paths for group in yaml.safe_load(path.read_text("utf-8"))["groups"]
            for rule in group["rules"] if "alert" in rule]  # fmt: skip


def recorded_series(paths: list[Path]) -> set[str]:
    return {rule["record"] for path in paths for group in yaml.safe_load(path.read_text("utf-8"))["groups"]
            for rule in group["rules"] if "record" in rule}  # fmt: skip


@pytest.mark.parametrize("demo", [False, True], ids=["shipped", "demo"])
def test_promtool_accepts_the_dev_config_and_its_rule_files(tmp_path: Path, demo: bool) -> None:
    stack = DevStack(state=tmp_path, prometheus_port=19090, alertmanager_port=19094)
    rule_files = stack.prometheus_rule_files(DEMO_PROMETHEUS_RULES if demo else None)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(dev_config() | {"rule_files": [str(p) for p in rule_files]}), "utf-8")
    output = run_tool("promtool", "check", "config", path)
    assert f"SUCCESS: {len(RULE_FILES) + demo} rule files found" in output, output


def test_with_demo_traffic_the_demo_rules_replace_the_shipped_kpi_alerts_and_the_series_stay(tmp_path: Path) -> None:
    stack = DevStack(state=tmp_path)
    demo = stack.prometheus_rule_files(DEMO_PROMETHEUS_RULES)
    alerts = set(alerting_rules(demo))
    assert "CivicPulseDemoKpiBelowTarget" in alerts
    assert not alerts & {"CivicPulseKpiBelowTarget", "CivicPulseBacklogOverdue"}
    assert set(alerting_rules([PROMETHEUS_RULES / "pipeline_alerts.yml"])) <= alerts  # pipeline health stays
    assert recorded_series(demo) == recorded_series(RULE_FILES)  # dashboards' target and backlog series stay


def test_the_stack_writes_the_config_it_runs_and_one_for_an_external_prometheus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIVICPULSE_DEV_PROMETHEUS_URL", "http://prometheus.internal:9090")
    stack = DevStack(state=tmp_path, prometheus_port=19090, alertmanager_port=19094,
                     services=[ServiceProcess(name, (), port) for name, port in SERVICES.items()])  # fmt: skip
    stack.start_prometheus(progress=lambda _: None)  # external: written, not started
    written = yaml.safe_load(stack.prometheus.config_file.read_text("utf-8"))
    assert written["alerting"]["alertmanagers"][0]["static_configs"] == [{"targets": ["127.0.0.1:19094"]}]
    assert not stack.prometheus.pid_file.exists()
    assert [row[2] for row in stack.status() if row[0] == "prometheus"] == ["external http://prometheus.internal:9090"]


@pytest.mark.parametrize("rules_file", [DEMO_RULES, DEFAULT_RULES_FILE], ids=["demo", "defaults"])
def test_every_alerts_rule_also_notifies_the_stack_alertmanager(rules_file: Path) -> None:
    document = yaml.safe_load(rules_file.read_text("utf-8"))
    routed = rules_with_alertmanager(document, url="http://127.0.0.1:19094", generator_url="http://x/v1/alerts")
    ruleset = parse_rules(yaml.safe_dump(routed), source=str(rules_file))
    receiver = ruleset.receivers[DEV_RECEIVER]
    assert isinstance(receiver, AlertmanagerReceiver)
    assert str(receiver.url) == "http://127.0.0.1:19094/"
    assert all(DEV_RECEIVER in rule.receivers for rule in ruleset.rules)
    original = parse_rules(rules_file.read_text("utf-8"), source=str(rules_file))
    assert [r.name for r in ruleset.rules] == [r.name for r in original.rules]
    # Routing twice (a second `make up`) is the same as once.
    assert rules_with_alertmanager(routed, url="http://127.0.0.1:19094", generator_url="http://x/v1/alerts") == routed


def prometheus_demo_rules() -> dict[str, dict[str, object]]:
    """level -> what the demo Prometheus rule of that level checks."""
    rules = {}
    for group in yaml.safe_load(DEMO_PROMETHEUS_RULES.read_text("utf-8"))["groups"]:
        for rule in group["rules"]:
            [(kpi, window, target)] = re.findall(r'ratio\{kpi="(\w+)", level="\w+", window="(\w+)"\}\) < ([\d.]+)',
                                                  rule["expr"])  # fmt: skip
            [minimum] = re.findall(r">= (\d+)", rule["expr"])
            rules[rule["labels"]["level"]] = {"kpi": kpi, "window": window, "target": float(target),
                                              "min_denominator": int(minimum), "for": rule["for"],
                                              "severity": rule["labels"]["severity"]}  # fmt: skip
    return rules


def test_demo_prometheus_rules_fire_where_the_demo_alert_rules_do() -> None:
    expected = {}
    for rule in parse_rules(DEMO_RULES.read_text("utf-8")).rules:
        assert isinstance(rule, KpiRule)
        [level] = rule.scope.levels
        minutes, seconds = divmod(int(rule.for_.total_seconds()), 60)
        assert minutes >= 1  # Prometheus evaluates every minute
        assert seconds == 0
        expected[level.value] = {
            "kpi": rule.kpi, "window": rule.window.value, "target": rule.target,
            "min_denominator": rule.min_denominator, "for": f"{minutes}m", "severity": rule.severity,
        }  # fmt: skip
    assert prometheus_demo_rules() == expected
