"""The demo's configuration is valid: what `make up` runs must not fail at start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.cli.dev import DEMO, DEMO_RULES
from services.simulator.profile import parse_duration, parse_incident, parse_rate
from shared.refdata import load_reference_data

pytestmark = pytest.mark.unit


def test_demo_alert_rules_pass_the_rules_check() -> None:
    result = CliRunner().invoke(app, ["alerts", "check", str(DEMO_RULES)])
    assert result.exit_code == 0, result.output
    assert "OK, 2 rules" in result.output


def test_demo_simulator_arguments_parse() -> None:
    [simulator] = DEMO
    args = dict(zip(simulator.args[1::2], simulator.args[2::2], strict=False))
    assert simulator.args[0] == "simulate"
    assert parse_rate(args["--rate"]) == 50
    assert parse_duration(args["--backfill"]) == timedelta(days=7)
    incident = parse_incident(args["--incident"])
    assert (incident.district, incident.kpi, incident.to) == ("HD.CG", "online_submission_rate", 0.6)
    assert incident.district in load_reference_data().tree
