"""The Alertmanager configuration: amtool accepts it, and every severity the rules use reaches its receiver."""

from __future__ import annotations

import pytest
import yaml

from tests.support.prometheus import REPO_ROOT, RULE_FILES, run_tool

pytestmark = pytest.mark.unit

CONFIG = REPO_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
RECEIVER_BY_SEVERITY = {"critical": "ioc-oncall", "warning": "ioc-team"}


def test_amtool_accepts_the_configuration() -> None:
    output = run_tool("amtool", "check-config", CONFIG)
    assert "SUCCESS" in output, output


@pytest.mark.parametrize(("severity", "receiver"), sorted(RECEIVER_BY_SEVERITY.items()))
def test_alerts_are_routed_by_severity(severity: str, receiver: str) -> None:
    run_tool("amtool", "config", "routes", "test", f"--config.file={CONFIG}", f"--verify.receivers={receiver}",
             "alertname=CivicPulseKpiBelowTarget", f"severity={severity}", "kpi=online_submission_rate")  # fmt: skip


def test_every_severity_the_rules_use_has_a_route() -> None:
    severities = set()
    for path in RULE_FILES:
        for group in yaml.safe_load(path.read_text("utf-8"))["groups"]:
            severities |= {r["labels"]["severity"] for r in group["rules"] if "alert" in r}
    assert severities <= set(RECEIVER_BY_SEVERITY)
    routes = yaml.safe_load(CONFIG.read_text("utf-8"))["route"]["routes"]
    assert {m for r in routes for m in r["matchers"]} >= {f'severity="{s}"' for s in severities}


def test_digest_alerts_of_the_alerts_service_never_reach_the_pager() -> None:
    run_tool("amtool", "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=ioc-team",
             "alertname=full_online_rate.gap.province", "severity=critical", "notify=digest")  # fmt: skip
    run_tool("amtool", "config", "routes", "test", f"--config.file={CONFIG}", "--verify.receivers=ioc-oncall",
             "alertname=online_submission_rate.slip.province", "severity=critical", "notify=page")  # fmt: skip
