"""Pages for slips, digests for chronic gaps, grouping: the engine over the in-memory store, by a hand-moved clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from services.alerts.core.conditions import Condition, Reading, assess
from services.alerts.core.describe import UnitInfo
from services.alerts.core.digest import digest_slot
from services.alerts.core.history import ReadingHistory
from services.alerts.core.receivers import WebhookReceiver
from services.alerts.core.rules import KpiRule
from services.alerts.core.ruleset import RulesError, RuleSet, parse_rules
from services.alerts.delivery.base import Receivers
from services.alerts.digest import DigestScheduler
from services.alerts.dispatcher import Dispatcher, DispatchOptions
from services.alerts.engine import AlertEngine, EngineOptions
from services.alerts.grouper import Grouper
from services.alerts.telemetry import AlertsMetrics
from shared.kpi_catalogue import VIETNAM
from shared.snapshots import KpiSnapshot
from tests.support.alerting import FakeClock
from tests.support.alerts_memory import InMemoryAlertsStorage

pytestmark = pytest.mark.unit
T0 = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam
KPI = "online_submission_rate"
RECEIVERS = """
receivers:
  - {name: ops, type: webhook, url: "http://127.0.0.1:9/hook", group_wait: 30s, group_interval: 2m,
     digest_at: "09:00", digest_every: 1d}
  - {name: am, type: alertmanager, url: "http://127.0.0.1:9093"}
"""
PAGE = """
  - name: slip
    kpi: online_submission_rate
    window: ytd
    period: 1h
    scope: {levels: [district]}
    target: 0.8
    recovery_margin: 0.01
    min_denominator: 100
    slip: {baseline: 7d, min_drop: 0.05, z: 3}
    for: 10m
    annotations: {summary: "{unit_name} {value_pct} over {period}, was {reference_pct} over {compared_with}"}
    receivers: [ops, am]
"""
GAP = """
  - name: gap
    notify: digest
    kpi: full_online_rate
    window: 30d
    scope: {levels: [district]}
    target: 0.3
    min_denominator: 50
    for: 1h
    annotations: {summary: "{unit_name} {value_pct} below {target_pct}"}
    receivers: [ops, am]
"""
UNITS = {f"HD.D{i}": UnitInfo(f"District {i}", "district") for i in range(12)}


def snap(kpi: str, window: str, unit: str, numerator: int, denominator: int, *, at: datetime) -> KpiSnapshot:
    return KpiSnapshot(
        kpi=kpi, window=window, unit_code=unit, unit_level="district", numerator=numerator, denominator=denominator,
        ratio=numerator / denominator if denominator else None, window_start=at - timedelta(days=30), window_end=at,
        computed_at=at,
    )  # fmt: skip


class World:
    """An engine, its dispatcher (grouping on) and digest scheduler over an in-memory store."""

    def __init__(self, rules: str) -> None:
        self.clock = FakeClock(T0)
        self.storage = InMemoryAlertsStorage()
        self.storage.tables.units.update(UNITS)
        self.rules: RuleSet = parse_rules(RECEIVERS + "rules:\n" + rules)
        self.engine = AlertEngine(
            storage=self.storage,
            rules=self.rules,
            options=EngineOptions(repeat_interval=timedelta(hours=4)),
            metrics=AlertsMetrics.create(CollectorRegistry()),
            clock=self.clock,
        )
        self.sent: list[tuple[str, dict[str, Any]]] = []
        world = self

        class Recording:
            async def deliver(self, notification_id: Any, payload: Any) -> None:
                world.sent.append((str(notification_id), dict(payload)))

        class Elsewhere:
            async def deliver(self, notification_id: Any, payload: Any) -> None:
                pass

        self.dispatcher = Dispatcher(
            outbox=self.storage.outbox,
            receivers=Receivers({"ops": Recording(), "am": Elsewhere(), "alerts-topic": Elsewhere()}),
            options=DispatchOptions(),
            metrics=AlertsMetrics.create(CollectorRegistry()),
            clock=self.clock,
            grouper=Grouper(outbox=self.storage.outbox, known=self.engine, clock=self.clock),
        )
        self.digests = DigestScheduler(digests=self.storage.digests, known=self.engine, clock=self.clock)
        # Per unit: counts of the year so far and of the week (the week holds `week` dossiers before today's).
        self.ytd: dict[str, tuple[float, int]] = {}

    async def traffic(self, unit: str, *, rate: float, dossiers: int, week_rate: float = 0.87) -> None:
        """`dossiers` more dossiers at `rate` online for a unit whose week before them was at `week_rate`."""
        mass, denominator = self.ytd.get(unit, (0.0, 0))
        mass, denominator = mass + rate * dossiers, denominator + dossiers
        self.ytd[unit] = (mass, denominator)
        numerator = round(mass)
        week = (round(week_rate * 2000) + numerator, 2000 + denominator)
        await self.engine.on_snapshots(
            [snap(KPI, "ytd", unit, numerator, denominator, at=self.clock.now),
             snap(KPI, "7d", unit, *week, at=self.clock.now)]
        )  # fmt: skip

    async def minutes(self, count: int, **traffic: Any) -> None:
        """Minute by minute: traffic for each unit given, a timer tick, a dispatch round."""
        for _ in range(count):
            for unit, (rate, dossiers, week_rate) in traffic.items():
                await self.traffic(unit.replace("_", "."), rate=rate, dossiers=dossiers, week_rate=week_rate)
            await self.engine.tick()
            await self.dispatcher.dispatch_once()
            self.clock.advance(minutes=1)

    def firing(self) -> set[str]:
        return {a.state.alert_id for a in self.storage.tables.alerts.values() if a.state.status.value == "firing"}

    def outbox(self, receiver: str) -> list[str]:
        return [r.kind for r in self.storage.tables.outbox if r.receiver == receiver]


NORMAL, SLIPPED = (0.87, 20, 0.87), (0.40, 20, 0.87)


async def test_a_unit_that_met_its_target_and_fell_below_it_pages_once_and_resolves_when_it_recovers() -> None:
    world = World(PAGE)
    await world.engine.start()
    await world.minutes(70, HD_D1=NORMAL, HD_D2=NORMAL)  # an hour of normal traffic: the period is full
    assert world.firing() == set()
    await world.minutes(30, HD_D1=SLIPPED, HD_D2=NORMAL)
    assert world.firing() == {"slip/HD.D1"}
    alert = world.storage.tables.alerts["slip/HD.D1"]
    assert alert.labels["notify"] == "page"
    assert alert.labels["period"] == "1h"
    assert re.fullmatch(r"District 1 6\d\.\d% over 1h, was 8\d\.\d% over 7d", alert.annotations["summary"])
    await world.minutes(70, HD_D1=NORMAL, HD_D2=NORMAL)  # the slipped stretch leaves the hour
    assert world.firing() == set()
    assert [p["kind"] for _, p in world.sent] == ["firing", "resolved"]
    assert {p["alert_id"] for _, p in world.sent} == {"slip/HD.D1"}
    assert world.outbox("am") == ["firing", "resolved"]


async def test_a_unit_below_target_all_week_does_not_page() -> None:
    world = World(PAGE)
    await world.engine.start()
    chronic = (0.60, 20, 0.60)
    await world.minutes(150, HD_D1=chronic, HD_D3=(0.40, 20, 0.60))  # below all along; even further down
    assert world.firing() == set()
    assert world.storage.tables.alerts == {}  # never even pending
    assert world.sent == []


async def test_a_dip_within_noise_does_not_page() -> None:
    world = World(PAGE)
    await world.engine.start()
    # 120 dossiers an hour at 78%: below the 80% target and 9 points under the week, but within 3 standard errors
    # of the difference (about 10 points for 120 dossiers against 2,000): noise, not a slip.
    await world.minutes(120, HD_D1=(0.78, 2, 0.87))
    assert world.firing() == set()
    assert world.sent == []


def test_slip_conditions_one_by_one() -> None:
    rule = parse_rules(RECEIVERS + "rules:\n" + PAGE).get("slip")
    assert isinstance(rule, KpiRule)
    at = T0

    def verdict(value: float, baseline: float | None, n: int = 400, before: int = 2000) -> Condition:
        reading = Reading(value, at, round(value * n), n, reference=baseline, reference_denominator=before)
        return assess(rule, reading)

    assert verdict(0.60, 0.87) is Condition.BREACH
    assert verdict(0.60, 0.79) is Condition.HOLD  # below target over the baseline: chronic
    assert verdict(0.60, None) is Condition.HOLD  # the baseline is unknown (too few dossiers before)
    assert verdict(0.76, 0.80) is Condition.HOLD  # under the 5-point drop
    assert verdict(0.77, 0.87) is Condition.BREACH  # 10 points: over 3 standard errors of the difference (5.8)
    assert verdict(0.77, 0.87, before=100) is Condition.HOLD  # ... which are 14 points with 100 dossiers before
    assert verdict(0.805, 0.87) is Condition.HOLD  # inside the recovery margin
    assert verdict(0.82, 0.87) is Condition.CLEAR
    assert verdict(0.10, 0.87, n=50) is Condition.NO_DATA  # fewer dossiers than min_denominator


FALLING = """
  - name: falling
    kpi: online_submission_rate
    window: 1d
    scope: {levels: [district]}
    target: 0.8
    recovery_margin: 0.01
    falling: {over: 30m, by: 0.05}
    for: 0s
    annotations: {summary: "{unit_name} fell from {reference_pct} to {value_pct}"}
    receivers: [am]
"""


async def test_a_fall_faster_than_the_rate_pages_while_still_above_the_floor() -> None:
    world = World(FALLING)
    await world.engine.start()

    async def value(ratio: float) -> None:
        await world.engine.on_snapshots([snap(KPI, "1d", "HD.D1", round(ratio * 10_000), 10_000, at=world.clock.now)])
        await world.engine.tick()
        world.clock.advance(minutes=5)

    for _ in range(8):
        await value(0.95)
    assert world.firing() == set()
    for ratio in (0.94, 0.92, 0.90, 0.88):  # 7 points in 20 minutes, still above 80%
        await value(ratio)
    assert world.firing() == {"falling/HD.D1"}
    assert world.storage.tables.alerts["falling/HD.D1"].annotations["summary"] == "District 1 fell from 95.0% to 88.0%"
    for _ in range(8):  # it settles: the drop over 30 minutes goes back to 0
        await value(0.88)
    assert world.firing() == set()


async def test_digest_alerts_are_not_notified_on_their_own_and_the_digest_lists_them_worst_first() -> None:
    world = World(GAP)
    await world.engine.start()
    values = {"HD.D1": 0.16, "HD.D2": 0.25, "HD.D3": 0.35, "HD.D4": 0.05}
    await world.engine.on_snapshots(
        [snap("full_online_rate", "30d", u, round(v * 1000), 1000, at=world.clock.now) for u, v in values.items()]
    )
    world.clock.advance(minutes=61)
    await world.engine.tick()
    assert world.firing() == {"gap/HD.D1", "gap/HD.D2", "gap/HD.D4"}
    assert world.outbox("ops") == []  # no page: they wait for the digest
    assert world.outbox("am") == ["firing", "firing", "firing"]  # Alertmanager gets every alert, labelled
    assert {a.labels["notify"] for a in world.storage.tables.alerts.values()} == {"digest"}

    assert world.clock.now.astimezone(VIETNAM).time() >= time(9, 0)  # past the receiver's 09:00 slot
    [digest] = await world.digests.send_due()
    assert await world.digests.send_due() == []  # one per slot
    await world.dispatcher.dispatch_once()
    [(sent_id, body)] = world.sent
    assert (sent_id, body["kind"]) == (str(digest.id), "digest")
    assert [e["subject"] for e in body["entries"]] == ["HD.D4", "HD.D1", "HD.D2"]  # worst first
    assert all(e["new"] for e in body["entries"])

    # A day later: one got better, one worse, one cleared.
    await world.engine.on_snapshots(
        [snap("full_online_rate", "30d", u, round(v * 1000), 1000, at=world.clock.now)
         for u, v in {"HD.D1": 0.18, "HD.D2": 0.40, "HD.D4": 0.04}.items()]
    )  # fmt: skip
    await world.engine.tick()
    world.clock.advance(days=1)
    [second] = await world.digests.send_due()
    assert [(e.subject, e.new, round(e.change or 0, 3)) for e in second.entries] == [
        ("HD.D4", False, -0.01),
        ("HD.D1", False, 0.02),
    ]
    assert [c.alert_id for c in second.cleared] == ["gap/HD.D2"]
    assert second.previous_slot == digest.slot


async def test_ten_alerts_due_to_one_receiver_within_the_group_wait_arrive_as_one_notification() -> None:
    world = World(PAGE)
    await world.engine.start()
    units = {f"HD_D{i}": NORMAL for i in range(10)}
    await world.minutes(70, **units)
    while len(world.firing()) < 10:  # all ten slip together (a hang guard: the clock is ours)
        await world.minutes(1, **dict.fromkeys(units, SLIPPED))
        assert world.clock.now < T0 + timedelta(hours=3)
    assert world.sent == []  # held: the group wait started with the first
    await world.minutes(10, **dict.fromkeys(units, SLIPPED))
    [(_, group)] = world.sent
    assert (group["kind"], group["count"], group["firing"]) == ("group", 10, 10)
    assert sorted(n["subject"] for n in group["notifications"]) == sorted(f"HD.D{i}" for i in range(10))
    assert world.outbox("am").count("firing") == 10  # Alertmanager gets them one by one (and groups them itself)


async def test_a_lone_notification_goes_out_as_itself_after_the_group_wait() -> None:
    world = World(PAGE)
    await world.engine.start()
    await world.minutes(70, HD_D1=NORMAL)
    await world.minutes(30, HD_D1=SLIPPED)
    [(_, alone)] = world.sent
    assert (alone["kind"], alone["alert_id"]) == ("firing", "slip/HD.D1")


def test_history_reads_the_counts_added_over_a_period() -> None:
    history = ReadingHistory(keep=timedelta(hours=1), resolution=timedelta(minutes=2))
    scope = (KPI, "ytd", "HD.D1")
    for minute in range(0, 121):
        at = T0 + timedelta(minutes=minute)
        history.add(scope, Reading(None, at, numerator=minute * 8, denominator=minute * 10))
    now = T0 + timedelta(minutes=120)
    reading = history.over(scope, timedelta(hours=1), now=now)
    assert reading is not None
    assert (reading.numerator, reading.denominator, reading.value) == (480, 600, 0.8)
    history.add(scope, Reading(None, now + timedelta(minutes=1), numerator=3, denominator=4))  # a new year
    assert history.over(scope, timedelta(hours=1), now=now + timedelta(minutes=1)) is None


def test_the_digest_slot_is_the_receivers_vietnam_hour() -> None:
    receiver = WebhookReceiver.model_validate({"type": "webhook", "name": "ops", "url": "http://x/"})
    before = datetime(2026, 5, 10, 0, 59, tzinfo=UTC)  # 07:59 Vietnam
    assert digest_slot(receiver, before) == datetime(2026, 5, 9, 8, 0, tzinfo=VIETNAM)
    assert digest_slot(receiver, before + timedelta(minutes=1)) == datetime(2026, 5, 10, 8, 0, tzinfo=VIETNAM)
    often = receiver.model_copy(update={"digest_every": timedelta(seconds=30)})
    assert digest_slot(often, datetime(2026, 5, 10, 1, 0, 45, tzinfo=UTC)) == datetime(
        2026, 5, 10, 1, 0, 30, tzinfo=UTC
    )


WALL_CLOCK = """
  - {name: quiet, kind: source_stale, quiet_for: 30m, for: 5m, annotations: {summary: s}}
  - {name: late, kind: backlog, scope: {levels: [commune]}, threshold: 0.15, for: 1h, annotations: {summary: s}}
"""


def test_time_scale_shortens_the_kpi_rules_for_and_periods_only() -> None:
    rules = parse_rules(RECEIVERS + "rules:\n" + PAGE + FALLING + WALL_CLOCK).scaled(240)
    quiet, late = rules.get("quiet"), rules.get("late")
    assert quiet is not None
    assert late is not None
    assert (quiet.for_, late.for_) == (timedelta(minutes=5), timedelta(hours=1))  # due and event times: real
    slip, falling = rules.get("slip"), rules.get("falling")
    assert isinstance(slip, KpiRule)
    assert isinstance(falling, KpiRule)
    assert falling.falling is not None
    assert (slip.for_, slip.period, falling.falling.over) == (
        timedelta(seconds=2.5),
        timedelta(seconds=15),
        timedelta(seconds=7.5),
    )


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("{kpi: online_submission_rate, window: 7d, period: 1h}", "window mtd, qtd or ytd"),
        ("{kpi: online_service_usage_rate, window: ytd, period: 1h}", "counts distinct procedures"),
        ("{kpi: online_submission_rate, slip: {baseline: 7d}, falling: {over: 1h, by: 0.1}}", "either a slip"),
        ("{kpi: online_submission_rate, notify: ticket}", "'page' or 'digest'"),
    ],
)
def test_inconsistent_notify_rules_are_refused(rule: str, problem: str) -> None:
    text = "rules:\n  - {name: r, scope: {levels: [district]}, target: 0.8, annotations: {summary: s}, " + rule[1:]
    with pytest.raises(RulesError) as raised:
        parse_rules(text)
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_alertmanager_cannot_be_told_to_group() -> None:
    with pytest.raises(RulesError) as raised:
        parse_rules('receivers: [{name: am, type: alertmanager, url: "http://x:9093", group_wait: 30s}]')
    assert any("group_wait" in p for p in raised.value.problems), raised.value.problems
