"""The demo's configuration is valid: what `make up` runs must not fail at start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from services.alerts.core.rules import KpiRule
from services.alerts.core.ruleset import parse_rules
from services.cli import app
from services.cli.dev import DEMO, DEMO_RULES
from services.simulator.generator import ProvinceWorld
from services.simulator.profile import PROFILES, parse_duration, parse_incident, parse_rate
from shared.kpi_catalogue import VIETNAM
from shared.refdata import CommuneKind, UnitLevel, load_reference_data

pytestmark = pytest.mark.unit


def test_demo_alert_rules_pass_the_rules_check() -> None:
    result = CliRunner().invoke(app, ["alerts", "check", str(DEMO_RULES)])
    assert result.exit_code == 0, result.output
    assert "OK, 2 rules" in result.output


def demo_arguments() -> dict[str, str]:
    [simulator] = DEMO
    assert simulator.args[0] == "simulate"
    args: dict[str, str] = {}
    tokens = list(simulator.args[1:])
    while tokens:
        name = tokens.pop(0)
        args[name] = tokens.pop(0) if tokens and not tokens[0].startswith("--") else "yes"  # a flag has no value
    return args


def test_demo_simulator_arguments_parse() -> None:
    args = demo_arguments()
    assert args["--profile"] == "haiphong"
    assert parse_rate(args["--rate"]) == 100
    assert args["--no-rhythm"] == "yes"  # a flat rate: the incident shows within minutes at any hour
    assert parse_duration(args["--backfill"]) == timedelta(days=7)
    incident = parse_incident(args["--incident"])
    assert (incident.unit, incident.kpi, incident.to) == ("H24.107", "online_submission_rate", 0.4)


def test_demo_incident_is_on_a_current_ward_of_the_default_tree() -> None:
    incident = parse_incident(demo_arguments()["--incident"])
    tree = load_reference_data().tree
    ward = tree.units[incident.unit]
    assert (ward.level, ward.kind, ward.parent_code) == (UnitLevel.COMMUNE, CommuneKind.WARD, "H24")
    assert ward in tree.current(datetime.now(VIETNAM).date())
    # The profile generates traffic for it (a unit it does not generate is refused at start).
    profile = PROFILES[demo_arguments()["--profile"]]
    ProvinceWorld(refdata=load_reference_data(sample_units=profile.units), profile=profile, seed=1, source="demo",
                  incidents=[incident], started_at=datetime.now(UTC))  # fmt: skip


def test_demo_rules_watch_the_incident_ward_and_the_province_only() -> None:
    incident = parse_incident(demo_arguments()["--incident"])
    rules = [r for r in parse_rules(DEMO_RULES.read_text("utf-8")).rules if isinstance(r, KpiRule)]
    level = load_reference_data().tree.units[incident.unit].level
    [rule] = [r for r in rules if r.kpi == incident.kpi and r.scope.covers(unit_code=incident.unit, unit_level=level)]
    assert rule.target > incident.to
    assert {level for r in rules for level in r.scope.levels} == {UnitLevel.COMMUNE, UnitLevel.PROVINCE}
