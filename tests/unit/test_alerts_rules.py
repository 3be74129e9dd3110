"""Rules files: the shipped defaults, defaults inheritance, and errors that name the rule and the field."""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from services.alerts.cli import app
from services.alerts.core.defaults import default_rules
from services.alerts.core.durations import format_duration, parse_duration
from services.alerts.core.rules import Direction, KpiRule, SourceStaleRule, UnitStaleRule
from services.alerts.core.ruleset import RulesError, missing_secrets, parse_rules
from services.alerts.settings import DEFAULT_RULES_FILE
from shared.kpi_catalogue import KPI_NAMES
from shared.targets import load_targets

pytestmark = pytest.mark.unit

RECEIVERS = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook", secret_env: OPS_HOOK_SECRET}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
  - {name: chat, type: slack, url_env: SLACK_URL}
  - {name: tg, type: telegram, bot_token_env: TG_TOKEN, chat_id: "-100"}
  - {name: mail, type: email, smtp_host: localhost, from_address: alerts@example.org, to: [oncall@example.org]}
"""


def rules_text(rule: str, *, receivers: str = RECEIVERS, defaults: str = "") -> str:
    return f"{defaults}\n{receivers}\nrules:\n" + textwrap.indent(textwrap.dedent(rule).strip(), "  ")


GOOD_RULE = """
- name: online-low
  kpi: online_submission_rate
  window: 30d
  scope: {levels: [district], units: [HD.CG]}
  target: 0.87
  recovery_margin: 0.01
  min_denominator: 50
  for: 15m
  severity: warning
  annotations: {summary: "{unit_name} at {value_pct} (target {target_pct}, {window})"}
  receivers: [ops, am]
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulesError) as raised:
        parse_rules(text, source="rules.yaml")
    return raised.value.problems


def test_the_shipped_file_pages_on_slips_and_digests_chronic_gaps_for_every_kpi_and_level() -> None:
    ruleset = parse_rules(DEFAULT_RULES_FILE.read_text("utf-8"))
    targets = load_targets()
    levels = ("province", "department", "district", "commune")
    by_notify: dict[str, dict[tuple[str, str], KpiRule]] = {"page": {}, "digest": {}}
    for rule in ruleset.kpi_rules():
        by_notify[rule.notify][(rule.kpi, rule.scope.levels[0].value)] = rule
    for notify in ("page", "digest"):
        assert set(by_notify[notify]) == {(k, level) for k in KPI_NAMES for level in levels}
    for (kpi, level), page in by_notify["page"].items():
        target = targets.lookup(kpi=kpi, level=level)
        assert target is not None
        assert (page.target, page.direction, page.severity) == (
            target.target,
            Direction.BELOW,
            "critical" if level == "province" else "warning",
        )
        assert page.slip is not None
        assert page.min_denominator >= target.min_denominator
        assert page.for_ == timedelta(minutes=15)
        if kpi == "online_service_usage_rate":  # distinct procedures: no value over a period
            assert (page.period, page.window.value, page.slip.baseline.value) == (None, "7d", "30d")
        else:
            assert (page.period, page.window.value, page.slip.baseline.value) == (timedelta(hours=4), "ytd", "7d")
        digest = by_notify["digest"][(kpi, level)]
        assert (digest.target, digest.min_denominator, digest.window.value, digest.slip) == (
            target.target,
            target.min_denominator,
            "30d",
            None,
        )
        assert digest.annotations.runbook_url == "{runbook_base_url}kpi-below-target.md"
    assert all(r.notify == "page" for r in ruleset if not isinstance(r, KpiRule))
    stale = {r.name: r for r in ruleset if not isinstance(r, KpiRule)}
    assert isinstance(stale["source-stale"], SourceStaleRule)
    assert stale["source-stale"].quiet_for == timedelta(minutes=30)
    assert isinstance(stale["unit-stale.district"], UnitStaleRule)
    assert stale["unit-stale.district"].quiet_for == timedelta(hours=24)


def test_the_shipped_file_is_what_the_generator_makes_from_the_targets() -> None:
    shipped = yaml.safe_load(DEFAULT_RULES_FILE.read_text("utf-8"))
    assert shipped == default_rules(load_targets()), "run `civicpulse alerts default-rules` to regenerate"


def test_a_valid_file_parses_with_receivers_and_scope() -> None:
    ruleset = parse_rules(rules_text(GOOD_RULE))
    rule = ruleset.get("online-low")
    assert isinstance(rule, KpiRule)
    assert rule.for_ == timedelta(minutes=15)
    assert rule.scope.covers(unit_code="HD.CG", unit_level="commune")
    assert rule.scope.covers(unit_code="HD.GL", unit_level="district")
    assert not rule.scope.covers(unit_code="HD", unit_level="province")
    assert set(ruleset.receivers) == {"ops", "am", "chat", "tg", "mail"}
    assert ruleset.watched() == {("online_submission_rate", "30d")}


def test_rules_inherit_defaults_and_merge_labels() -> None:
    defaults = "defaults: {for: 5m, repeat_interval: 1h, receivers: [ops], labels: {team: ioc, tier: a}}"
    rule = """
    - name: r
      kpi: satisfaction_rate
      scope: {levels: [province]}
      target: 0.95
      labels: {tier: b}
      annotations: {summary: s}
    """
    parsed = parse_rules(rules_text(rule, defaults=defaults)).get("r")
    assert parsed is not None
    assert (parsed.for_, parsed.repeat_interval, parsed.receivers) == (
        timedelta(minutes=5),
        timedelta(hours=1),
        ("ops",),
    )
    assert parsed.labels == {"team": "ioc", "tier": "b"}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"target": 1.5}, "rule 'online-low': field 'target': Input should be less than or equal to 1"),
        ({"kpi": "online_rate"}, "rule 'online-low': field 'kpi': Value error, unknown KPI 'online_rate'"),
        ({"window": "2d"}, "rule 'online-low': field 'window': Input should be"),
        ({"for": "15 minutes"}, "rule 'online-low': field 'for': Value error, invalid duration '15 minutes'"),
        ({"receivers": ["nobody"]}, "rule 'online-low': field 'receivers': unknown receiver 'nobody'"),
        ({"min_denominator": 0}, "rule 'online-low': field 'min_denominator': Input should be greater than"),
        ({"scope": {}}, "rule 'online-low': field 'scope': Value error, a scope names at least one level"),
        ({"direction": "sideways"}, "rule 'online-low': field 'direction': Input should be 'below' or 'above'"),
        ({"annotations": {"summary": "{unit_nam} low"}},
         "rule 'online-low': field 'annotations': Value error, summary: unknown field {unit_nam}"),
        ({"annotations": {"summary": "ok", "description": "{value.__class__}"}},
         "rule 'online-low': field 'annotations': Value error, description: unknown field {value.__class__}"),
        ({"annotations": {"summary": "{value:%Y}"}},
         "rule 'online-low': field 'annotations': Value error, summary: does not render"),
        ({"severity": "page"}, "rule 'online-low': field 'severity': Input should be 'info', 'warning' or 'critical'"),
        ({"kind": "weird"}, "rule 'online-low': field 'kind': unknown kind 'weird'"),
        ({"surprise": 1}, "rule 'online-low': field 'surprise': Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_each_error_names_the_rule_and_the_field(change: dict[str, object], expected: str) -> None:
    rule = {**yaml.safe_load(GOOD_RULE)[0], **change}
    problems = problems_of(rules_text(yaml.safe_dump([rule])))
    assert any(p.startswith(expected) for p in problems), problems


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    rules = """
    - {name: a, kpi: online_submission_rate, scope: {levels: [district]}, target: 2, annotations: {summary: s}}
    - {name: a, kpi: online_submission_rate, scope: {levels: [district]}, target: 0.5, annotations: {summary: s}}
    - {name: a, kpi: online_submission_rate, scope: {levels: [district]}, target: 0.5, annotations: {summary: s}}
    - {kind: source_stale, annotations: {summary: "{source}"}}
    """
    problems = problems_of(rules_text(rules))
    assert "rule 'a': field 'target': Input should be less than or equal to 1" in problems
    assert "rule 'a': field 'name': duplicate rule name" in problems
    assert "rules[3]: field 'name': Field required" in problems
    assert "rules[3]: field 'quiet_for': Field required" in problems


def test_receiver_errors_name_the_receiver_and_the_field() -> None:
    receivers = """
receivers:
  - {name: ops, type: webhook, url: "not a url"}
  - {name: mail, type: email, smtp_host: h, from_address: nobody, to: [a@b.c]}
  - {name: alerts-topic, type: alertmanager, url: "http://x:9093"}
  - {name: pager, type: pagerduty}
"""
    problems = problems_of(rules_text("[]", receivers=receivers))
    assert any(p.startswith("receiver 'ops': field 'url': Input should be a valid URL") for p in problems), problems
    assert "receiver 'mail': field 'from_address': Value error, 'nobody' is not an email address" in problems
    assert "receiver 'alerts-topic': field 'name': 'alerts-topic' is reserved or already used" in problems
    assert any(p.startswith("receiver 'pager': Input tag 'pagerduty'") for p in problems), problems


def test_secrets_are_named_by_environment_variable_and_must_be_set() -> None:
    ruleset = parse_rules(rules_text(GOOD_RULE))
    assert missing_secrets(ruleset, {"OPS_HOOK_SECRET": "k", "SLACK_URL": "https://hooks", "TG_TOKEN": "t"}) == []
    assert missing_secrets(ruleset, {"SLACK_URL": "https://hooks"}) == [
        "receiver 'ops': field 'secret_env': environment variable OPS_HOOK_SECRET is not set",
        "receiver 'tg': field 'bot_token_env': environment variable TG_TOKEN is not set",
    ]


def test_top_level_and_yaml_errors_are_reported() -> None:
    assert problems_of("rules: {a: 1}") == ["rules.yaml: rules must be a list"]
    assert problems_of("ruls: []")[0].startswith("rules.yaml: unknown top-level key 'ruls'")
    assert problems_of("rules: [")[0].startswith("rules.yaml: invalid YAML")


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("24h", 86400), ("1h30m", 5400), ("7d", 604800), (45, 45)]
)
def test_durations_read_like_people_write_them(text: str | int, seconds: int) -> None:
    duration = parse_duration(text)
    assert duration == timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration)) == duration


def test_check_command_exits_nonzero_and_prints_each_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(rules_text(GOOD_RULE.replace("0.87", "1.87")))
    result = CliRunner().invoke(app, ["check", str(bad), "--no-env"])
    assert result.exit_code == 1
    assert "rule 'online-low': field 'target'" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(rules_text(GOOD_RULE))
    missing_env = CliRunner().invoke(app, ["check", str(good)], env={"OPS_HOOK_SECRET": "", "TG_TOKEN": ""})
    assert missing_env.exit_code == 1
    assert "environment variable OPS_HOOK_SECRET is not set" in missing_env.output
    ok = CliRunner().invoke(
        app, ["check", str(good)], env={"OPS_HOOK_SECRET": "k", "SLACK_URL": "https://h", "TG_TOKEN": "t"}
    )
    assert ok.exit_code == 0, ok.output
    assert "OK, 1 rules, 5 receivers" in ok.output


def test_serve_refuses_to_start_on_an_invalid_rules_file_or_a_missing_secret(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(rules_text(GOOD_RULE.replace("window: 30d", "window: 2d")))
    env = {"CIVICPULSE_ALERTS_RULES_FILE": str(bad), "CIVICPULSE_ENVIRONMENT": "development"}
    result = CliRunner().invoke(app, ["serve"], env=env)
    assert result.exit_code == 2
    assert "refusing to start" in result.output
    assert "rule 'online-low': field 'window'" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(rules_text(GOOD_RULE))
    unset = {"OPS_HOOK_SECRET": "", "SLACK_URL": "", "TG_TOKEN": ""}
    result = CliRunner().invoke(app, ["serve"], env={**env, **unset, "CIVICPULSE_ALERTS_RULES_FILE": str(good)})
    assert result.exit_code == 2
    assert "environment variable OPS_HOOK_SECRET is not set" in result.output
