"""Backlog rules: validated by `civicpulse alerts check`, shipped per level, and evaluated on the timer from the
live backlog (in-memory read model) with `for`, hysteresis and a minimum sample."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from services.alerts.cli import app
from services.alerts.core.backlog_defaults import BACKLOG_THRESHOLDS
from services.alerts.core.describe import UnitInfo
from services.alerts.core.rules import BacklogMeasure, BacklogRule
from services.alerts.core.ruleset import RulesError, parse_rules
from services.alerts.engine import AlertEngine, EngineOptions
from services.alerts.inputs import UnitBacklog
from services.alerts.settings import DEFAULT_RULES_FILE
from services.alerts.telemetry import AlertsMetrics
from tests.support.alerting import FakeClock
from tests.support.alerts_memory import InMemoryAlertsStorage

pytestmark = pytest.mark.unit
T0 = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
WARD, WARD_NAME = "H24.107", "Phường Hồng Bàng"
RULES = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}
rules:
  - name: overdue-share
    kind: backlog
    scope: {levels: [commune]}
    measure: overdue_share
    threshold: 0.15
    recovery_margin: 0.05
    min_in_progress: 20
    for: 1h
    annotations:
      summary: "{unit_name}: {overdue}/{in_progress} overdue ({value_text} > {threshold_text}, clears at {clear_text})"
      runbook_url: "{runbook_base_url}backlog-overdue.md"
    receivers: [ops]
  - name: overdue-count
    kind: backlog
    scope: {units: [H24]}
    measure: overdue
    threshold: 100
    recovery_margin: 20
    min_in_progress: 200
    for: 30m
    annotations: {summary: "{unit_name}: {value_text} overdue (threshold {threshold_text})"}
    receivers: [ops]
"""
SHARE_ID, COUNT_ID = f"overdue-share/{WARD}", "overdue-count/H24"


class World:
    """An engine over an in-memory read model whose backlog the test sets, driven by a hand-moved clock."""

    def __init__(self) -> None:
        self.clock = FakeClock(T0)
        self.storage = InMemoryAlertsStorage()
        self.storage.tables.units.update(
            {"H24": UnitInfo("Thành phố Hải Phòng", "province"), WARD: UnitInfo(WARD_NAME, "commune")}
        )
        self.engine = AlertEngine(
            storage=self.storage,
            rules=parse_rules(RULES),
            options=EngineOptions(repeat_interval=timedelta(hours=4), runbook_base_url="https://runbooks/"),
            metrics=AlertsMetrics.create(CollectorRegistry()),
            clock=self.clock,
        )

    async def backlog(self, *, in_progress: int, overdue: int, unit: str = WARD, minutes: float = 0) -> None:
        """The backlog as read now, a timer round, then time passes."""
        level = "province" if unit == "H24" else "commune"
        self.storage.tables.backlog[unit] = UnitBacklog(level, in_progress, overdue, 0, self.clock.now)
        await self.engine.tick()
        self.clock.advance(minutes=minutes)

    def status(self, alert_id: str = SHARE_ID) -> str | None:
        alert = self.storage.tables.alerts.get(alert_id)
        return alert.state.status.value if alert else None

    def notices(self) -> list[tuple[str, str]]:
        return [(r.alert_id, r.kind) for r in self.storage.tables.outbox if r.receiver == "ops"]


@pytest.fixture
async def world() -> World:
    built = World()
    await built.engine.start()
    return built


async def test_an_overdue_share_above_threshold_is_pending_until_for_then_fires_once(world: World) -> None:
    for _ in range(6):  # 10 of 40 overdue (25%) for 50 minutes: pending
        await world.backlog(in_progress=40, overdue=10, minutes=10)
    assert world.status() == "pending"
    assert world.notices() == []
    await world.backlog(in_progress=40, overdue=10, minutes=10)  # one hour in breach
    assert world.status() == "firing"
    await world.backlog(in_progress=40, overdue=11)
    assert world.notices() == [(SHARE_ID, "firing")]
    alert = world.storage.tables.alerts[SHARE_ID]
    assert alert.annotations == {
        "summary": f"{WARD_NAME}: 11/40 overdue (27.5% > 15.0%, clears at 10.0%)",
        "runbook_url": "https://runbooks/backlog-overdue.md",
    }
    assert alert.labels == {"alertname": "overdue-share", "severity": "warning", "unit": WARD,
                            "unit_level": "commune", "measure": "overdue_share", "notify": "page"}  # fmt: skip
    assert (alert.target, alert.state.reading and alert.state.reading.denominator) == (0.15, 40)
    history = [(h.from_status.value, h.to_status.value, h.numerator, h.denominator)
               for h in world.storage.tables.history]  # fmt: skip
    assert history == [("inactive", "pending", 10, 40), ("pending", "firing", 10, 40)]


async def test_a_firing_alert_holds_inside_the_recovery_margin_and_clears_below_it(world: World) -> None:
    for _ in range(7):
        await world.backlog(in_progress=40, overdue=10, minutes=10)
    assert world.status() == "firing"
    for overdue in (6, 5, 7):  # 15%, 12.5%, 17.5%: at or above the 10% clearing level, still the same alert
        await world.backlog(in_progress=40, overdue=overdue, minutes=10)
        assert world.status() == "firing"
    await world.backlog(in_progress=40, overdue=4, minutes=10)  # 10%: clears
    assert world.status() == "resolved"
    assert world.notices() == [(SHARE_ID, "firing"), (SHARE_ID, "resolved")]


async def test_a_share_back_under_threshold_while_pending_cancels_it(world: World) -> None:
    await world.backlog(in_progress=40, overdue=10, minutes=30)
    assert world.status() == "pending"
    await world.backlog(in_progress=40, overdue=5, minutes=60)  # 12.5%: inside the margin, but not in breach
    assert world.status() == "inactive"
    await world.backlog(in_progress=40, overdue=10, minutes=59)
    assert world.status() == "pending"  # `for` counts again from the new breach
    assert world.notices() == []


async def test_below_the_minimum_sample_nothing_fires_and_an_emptied_backlog_clears(world: World) -> None:
    for _ in range(10):  # 15 of 19 overdue: far above the threshold, but under 20 dossiers in progress
        await world.backlog(in_progress=19, overdue=15, minutes=10)
    assert world.status() is None
    for _ in range(7):
        await world.backlog(in_progress=40, overdue=20, minutes=10)
    assert world.status() == "firing"
    await world.backlog(in_progress=10, overdue=8, minutes=10)  # too few to judge: neither raises nor clears
    assert world.status() == "firing"
    await world.backlog(in_progress=0, overdue=0, minutes=10)  # nothing left open: nothing overdue, it clears
    assert world.status() == "resolved"


async def test_an_overdue_count_rule_fires_on_its_unit_only(world: World) -> None:
    for _ in range(4):
        await world.backlog(unit="H24", in_progress=2000, overdue=150, minutes=10)
        await world.backlog(in_progress=40, overdue=1)
    assert world.status(COUNT_ID) == "firing"
    assert world.status() is None
    assert world.storage.tables.alerts[COUNT_ID].annotations["summary"] == (
        "Thành phố Hải Phòng: 150 overdue (threshold 100)"
    )
    await world.backlog(unit="H24", in_progress=2000, overdue=81, minutes=10)
    assert world.status(COUNT_ID) == "firing"
    await world.backlog(unit="H24", in_progress=2000, overdue=80, minutes=10)
    assert world.status(COUNT_ID) == "resolved"


async def test_a_backlog_turning_overdue_with_no_event_fires_on_the_timer_alone(world: World) -> None:
    """The read model's overdue moves with the clock; the engine needs no snapshot or event to follow it."""
    await world.backlog(in_progress=40, overdue=0, minutes=60)
    assert world.status() is None
    world.storage.tables.backlog[WARD] = UnitBacklog("commune", 40, 12, 0, world.clock.now)
    for _ in range(7):
        await world.engine.tick()
        world.clock.advance(minutes=10)
    assert world.status() == "firing"


def rules_text(rule: str) -> str:
    return "rules:\n" + textwrap.indent(textwrap.dedent(rule).strip(), "  ")


GOOD = """
- name: b
  kind: backlog
  scope: {levels: [commune]}
  threshold: 0.15
  recovery_margin: 0.05
  min_in_progress: 20
  annotations: {summary: "{unit_name} {value_text}"}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"threshold": 1.5}, "rule 'b': Value error, an overdue_share threshold and recovery_margin are ratios"),
        ({"recovery_margin": 0.2}, "rule 'b': Value error, recovery_margin is larger than threshold"),
        ({"measure": "late"}, "rule 'b': field 'measure': Input should be 'overdue' or 'overdue_share'"),
        ({"min_in_progress": 0}, "rule 'b': field 'min_in_progress': Input should be greater than or equal to 1"),
        ({"threshold": -1}, "rule 'b': field 'threshold': Input should be greater than or equal to 0"),
        ({"scope": {}}, "rule 'b': field 'scope': Value error, a scope names at least one level"),
        ({"annotations": {"summary": "{value_pct}"}}, "rule 'b': field 'annotations': Value error, summary: unknown"),
        ({"kpi": "on_time_rate"}, "rule 'b': field 'kpi': Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_backlog_rule_errors_name_the_rule_and_the_field(change: dict[str, object], expected: str) -> None:
    rule = {**yaml.safe_load(GOOD)[0], **change}
    with pytest.raises(RulesError) as raised:
        parse_rules(rules_text(yaml.safe_dump([rule])))
    assert any(p.startswith(expected) for p in raised.value.problems), raised.value.problems


def test_an_overdue_count_threshold_is_not_bounded_by_one() -> None:
    rule = {**yaml.safe_load(GOOD)[0], "measure": "overdue", "threshold": 50, "recovery_margin": 10}
    parsed = parse_rules(rules_text(yaml.safe_dump([rule]))).get("b")
    assert isinstance(parsed, BacklogRule)
    assert (parsed.measure, parsed.threshold) == (BacklogMeasure.OVERDUE, 50)


def test_check_validates_backlog_rules(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(rules_text(GOOD.replace("threshold: 0.15", "threshold: 3")), "utf-8")
    result = CliRunner().invoke(app, ["check", str(bad)])
    assert result.exit_code == 1
    assert "rule 'b': Value error, an overdue_share threshold and recovery_margin are ratios" in result.output
    good = tmp_path / "good.yaml"
    good.write_text(rules_text(GOOD), "utf-8")
    result = CliRunner().invoke(app, ["check", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK, 1 rules" in result.output


def test_the_shipped_file_has_a_backlog_rule_per_level() -> None:
    ruleset = parse_rules(DEFAULT_RULES_FILE.read_text("utf-8"))
    backlog = {r.scope.levels[0].value: r for r in ruleset if isinstance(r, BacklogRule)}
    assert set(backlog) == {"province", "department", "commune"}
    for threshold in BACKLOG_THRESHOLDS:
        rule = backlog[threshold.level]
        assert rule.name == f"backlog-overdue.{threshold.level}"
        assert (rule.measure, rule.threshold, rule.recovery_margin, rule.min_in_progress, rule.severity) == (
            BacklogMeasure.OVERDUE_SHARE,
            threshold.threshold,
            threshold.recovery_margin,
            threshold.min_in_progress,
            threshold.severity,
        )
        assert rule.for_ == timedelta(hours=1)
        assert rule.annotations.runbook_url == "{runbook_base_url}backlog-overdue.md"
        assert rule.labels == {"family": "backlog-overdue"}
    assert backlog["province"].severity == "critical"
