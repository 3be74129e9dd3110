"""AlertEngine against the in-memory store: what it writes (alerts, history, outbox) as snapshots and time pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from services.alerts.core.conditions import Reading
from services.alerts.core.describe import UnitInfo
from services.alerts.core.ruleset import RuleSet, parse_rules
from services.alerts.core.silences import Matcher, Silence
from services.alerts.engine import AlertEngine, EngineOptions
from services.alerts.inputs import KpiReading
from services.alerts.telemetry import AlertsMetrics
from shared.snapshots import KpiSnapshot
from tests.support.alerting import FakeClock
from tests.support.alerts_memory import InMemoryAlertsStorage

pytestmark = pytest.mark.unit
T0 = datetime(2026, 5, 10, 8, 0, tzinfo=UTC)
CG, CG_ID = "HD.CG", "online-low/HD.CG"
RULES = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook"}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
rules:
  - name: online-low
    kpi: online_submission_rate
    window: 30d
    scope: {levels: [district]}
    target: 0.87
    recovery_margin: 0.01
    min_denominator: 50
    for: 15m
    severity: warning
    annotations: {summary: "{unit_name}: {value_pct} < {target_pct}"}
    receivers: [ops, am]
  - name: source-quiet
    kind: source_stale
    quiet_for: 30m
    annotations: {summary: "{source} quiet for {age}"}
    receivers: [ops]
"""
WITHOUT_ONLINE_LOW = (
    RULES.split("  - name: online-low", maxsplit=1)[0]
    + "  - name: source-quiet"
    + RULES.split("  - name: source-quiet")[1]
)


def snapshot(unit: str, ratio: float, at: datetime, *, denominator: int = 1000) -> KpiSnapshot:
    return KpiSnapshot(
        kpi="online_submission_rate",
        window="30d",
        unit_code=unit,
        unit_level="district",
        numerator=round(ratio * denominator),
        denominator=denominator,
        ratio=ratio,
        window_start=at - timedelta(days=30),
        window_end=at,
        computed_at=at,
    )


class World:
    """An engine over an in-memory store, driven by a hand-moved clock."""

    def __init__(self, storage: InMemoryAlertsStorage | None = None, rules: RuleSet | None = None) -> None:
        self.clock = FakeClock(T0)
        self.storage = storage or InMemoryAlertsStorage()
        self.storage.tables.units.update(
            {CG: UnitInfo("Huyện Cẩm Giàng", "district"), "HD.GL": UnitInfo("Huyện Gia Lộc", "district")}
        )
        self.engine = self.new_engine(rules)

    def new_engine(self, rules: RuleSet | None = None) -> AlertEngine:
        return AlertEngine(
            storage=self.storage,
            rules=rules or parse_rules(RULES),
            options=EngineOptions(repeat_interval=timedelta(hours=4)),
            metrics=AlertsMetrics.create(CollectorRegistry()),
            clock=self.clock,
        )

    async def feed(self, value: float, *, minutes: float = 0, unit: str = CG, denominator: int = 1000) -> None:
        """A snapshot now, a timer tick, then time passes."""
        await self.engine.on_snapshots([snapshot(unit, value, self.clock.now, denominator=denominator)])
        await self.engine.tick()
        self.clock.advance(minutes=minutes)

    def status(self, alert_id: str = CG_ID) -> str | None:
        alert = self.storage.tables.alerts.get(alert_id)
        return alert.state.status.value if alert else None

    def outbox(self, receiver: str | None = "ops") -> list[tuple[str, str, str]]:
        rows = self.storage.tables.outbox
        return [(r.receiver, r.alert_id, r.kind) for r in rows if receiver is None or r.receiver == receiver]

    def history(self) -> list[tuple[str, str, str]]:
        return [(h.alert_id, h.from_status.value, h.to_status.value) for h in self.storage.tables.history]

    def changes(self) -> list[tuple[str, str]]:
        rows = [r.payload for r in self.storage.tables.outbox if r.receiver == "alerts-topic"]
        return [(p["from_status"], p["to_status"]) for p in rows]


@pytest.fixture
async def world() -> World:
    built = World()
    await built.engine.start()
    return built


async def test_a_breach_is_pending_until_it_has_lasted_for_then_fires_and_notifies_every_receiver_once(
    world: World,
) -> None:
    for _ in range(3):  # 0, 5, 10 minutes: not yet 15
        await world.feed(0.80, minutes=5)
    assert world.status() == "pending"
    assert world.outbox(None) == [("alerts-topic", CG_ID, "change")]
    await world.feed(0.80)  # 15 minutes
    assert world.status() == "firing"
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]
    assert world.outbox("am") == [("am", CG_ID, "firing")]
    stored = world.storage.tables.alerts[CG_ID]
    assert (stored.state.fired_at, stored.target, stored.annotations["summary"]) == (
        T0 + timedelta(minutes=15),
        0.87,
        "Huyện Cẩm Giàng: 80.0% < 87.0%",
    )
    assert world.history() == [(CG_ID, "inactive", "pending"), (CG_ID, "pending", "firing")]
    assert world.changes() == [("inactive", "pending"), ("pending", "firing")]


async def test_hysteresis_keeps_it_firing_inside_the_margin_and_resolves_past_it(world: World) -> None:
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    for value in (0.875, 0.879, 0.86):  # back above target but inside the margin, or breaching again
        await world.feed(value, minutes=1)
    assert world.status() == "firing"
    await world.feed(0.90, minutes=1)
    assert world.status() == "resolved"
    assert world.outbox("ops") == [("ops", CG_ID, "firing"), ("ops", CG_ID, "resolved")]
    assert world.history()[-1] == (CG_ID, "firing", "resolved")


async def test_a_recovery_before_for_cancels_the_pending_alert_without_notifying(world: World) -> None:
    await world.feed(0.80, minutes=10)
    await world.feed(0.875, minutes=10)
    assert world.status() == "inactive"
    assert world.outbox("ops") == []
    assert world.history() == [(CG_ID, "inactive", "pending"), (CG_ID, "pending", "inactive")]


async def test_fewer_dossiers_than_min_denominator_raise_nothing(world: World) -> None:
    for _ in range(10):
        await world.feed(0.1, minutes=5, denominator=49)
    assert world.storage.tables.alerts == {}
    assert world.outbox(None) == []


async def test_a_source_quiet_for_longer_than_quiet_for_fires_and_resolves_when_it_speaks_again(world: World) -> None:
    world.storage.tables.source_activity.update({"portal-a": T0, "portal-b": T0})
    world.clock.advance(minutes=20)
    world.storage.tables.source_activity["portal-b"] = world.clock.now
    world.clock.advance(minutes=11)
    await world.engine.tick()
    assert world.outbox("ops") == [("ops", "source-quiet/portal-a", "firing")]
    quiet = world.storage.tables.alerts["source-quiet/portal-a"]
    assert quiet.annotations["summary"] == "portal-a quiet for 31m"
    assert quiet.state.reading is not None
    assert (quiet.state.reading.value, quiet.target) == (31 * 60, 30 * 60)
    world.storage.tables.source_activity["portal-a"] = world.clock.now
    await world.engine.tick()
    assert [k for _, _, k in world.outbox("ops")] == ["firing", "resolved"]


async def test_a_firing_alert_is_notified_once_per_episode_and_repeated_after_the_repeat_interval(
    world: World,
) -> None:
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    for _ in range(20):  # three hours and twenty minutes more of the same breach
        await world.feed(0.80, minutes=10)
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]
    world.clock.advance(hours=1)
    await world.engine.tick()
    assert world.outbox("ops") == [("ops", CG_ID, "firing"), ("ops", CG_ID, "repeat")]
    await world.feed(0.95, minutes=5)  # resolved; a new breach is a new episode with its own firing
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    assert [k for _, _, k in world.outbox("ops")] == ["firing", "repeat", "resolved", "firing"]
    ids = [r.notification_id for r in world.storage.tables.outbox if r.receiver == "ops"]
    assert len(set(ids)) == len(ids)  # each its own stable id, the one a receiver de-duplicates on


async def test_a_silenced_alert_fires_unnotified_and_is_notified_when_the_silence_ends(world: World) -> None:
    silence = Silence(
        id=uuid.uuid4(),
        matchers=(Matcher(name="unit", value=CG),),
        starts_at=T0,
        ends_at=T0 + timedelta(hours=1),
        author="ops",
        comment="planned outage",
    )
    await world.storage.silences.add(silence, now=T0)
    await world.engine.refresh_silences()
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    assert world.status() == "firing"
    assert world.outbox("ops") == []
    firing = next(h for h in world.storage.tables.history if h.to_status.value == "firing")
    assert firing.note == f"notifications muted by silence {silence.id}"
    world.clock.advance(hours=1)
    await world.engine.tick()
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]


async def test_a_restarted_engine_keeps_the_firing_alert_and_does_not_notify_it_again(world: World) -> None:
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    world.engine = world.new_engine()
    await world.engine.start()
    for _ in range(5):
        await world.feed(0.80, minutes=10)
    assert world.engine.alerts[CG_ID].state.status.value == "firing"
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]


async def test_start_evaluates_the_current_kpi_values_of_the_read_model() -> None:
    world = World()
    low, high = Reading(0.5, T0, 500, 1000), Reading(0.95, T0, 950, 1000)
    world.storage.tables.kpi.update(
        {
            ("online_submission_rate", "30d", "HD.GL"): KpiReading("district", low),
            ("online_submission_rate", "30d", CG): KpiReading("district", high),
        }
    )
    await world.engine.start()
    assert {a: v.state.status.value for a, v in world.engine.alerts.items()} == {"online-low/HD.GL": "pending"}


async def test_reloading_rules_keeps_alerts_and_resolves_those_of_removed_rules(world: World) -> None:
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    await world.feed(0.80, unit="HD.GL")  # pending
    await world.engine.reload(parse_rules(RULES.replace("{unit_name}:", "Alert for {unit_name}:")))
    assert world.status() == "firing"
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]
    await world.engine.reload(parse_rules(WITHOUT_ONLINE_LOW))
    assert (world.status(), world.status("online-low/HD.GL")) == ("resolved", "inactive")
    assert world.outbox("ops") == [("ops", CG_ID, "firing"), ("ops", CG_ID, "resolved")]
    assert world.storage.tables.history[-1].note == "rule removed"
    assert ("firing", "resolved") in world.changes()


async def test_alerts_of_a_rule_removed_while_down_are_retired_at_start(world: World) -> None:
    for _ in range(4):
        await world.feed(0.80, minutes=5)
    await world.feed(0.80, unit="HD.GL")
    world.engine = world.new_engine(parse_rules(WITHOUT_ONLINE_LOW))
    await world.engine.start()
    assert (world.status(), world.status("online-low/HD.GL")) == ("resolved", "inactive")
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]  # its receivers went with the rule
    assert world.changes()[-2:] == [("firing", "resolved"), ("pending", "inactive")]
    assert world.storage.tables.history[-1].note == "rule removed while the service was down"


async def test_two_engines_on_one_store_fire_an_alert_once(world: World) -> None:
    second = world.new_engine()
    await second.start()
    for _ in range(5):
        batch = [snapshot(CG, 0.80, world.clock.now)]
        await world.engine.on_snapshots(batch)
        await second.on_snapshots(batch)
        await second.tick()
        await world.engine.tick()
        world.clock.advance(minutes=5)
    assert world.outbox("ops") == [("ops", CG_ID, "firing")]
    assert world.history() == [(CG_ID, "inactive", "pending"), (CG_ID, "pending", "firing")]
