"""The simulator: seed figures reproduced on the 2024 and today's trees, dossier lifecycles, incidents applied,
same seed same events, clear option errors."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from services.metrics.core.counters import COUNTERS, aggregate
from services.metrics.core.kpis import DEFAULT_KPIS, ratio
from services.simulator.generator import ProvinceWorld
from services.simulator.profile import PROFILES, parse_duration, parse_incident, parse_rate, rhythm
from services.simulator.tally import KpiTally
from shared.events import (
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierReceived,
    Event,
    FeedbackClosed,
    Outcome,
    PauseReason,
    PaymentChannel,
    event_adapter,
)
from shared.refdata import SAMPLE_UNITS_HAIDUONG_2024, UnitLevel, load_reference_data

pytestmark = pytest.mark.unit
START = datetime(2026, 5, 12, 2, tzinfo=UTC)
REFDATA = load_reference_data(sample_units=SAMPLE_UNITS_HAIDUONG_2024)
"""The haiduong profile's tree: Hải Dương alone, as in 2024."""
TODAY = load_reference_data()
"""The haiphong profile's tree: today's Hải Phòng, with Hải Dương 2024 as its predecessor."""
CURRENT = {u.code for u in TODAY.tree.current(START.date())}
SEED_FIGURES = {"online_submission_rate": 0.87, "full_online_rate": 0.16, "digitization_rate": 0.9889,
                "satisfaction_rate": 0.9555, "feedback_satisfaction_rate": 0.99, "essential_online_rate": 0.93,
                "online_result_rate": 1.0}  # fmt: skip
WARD = "H24.107"
"""Phường Hồng Bàng, a ward directly under the city."""


def run(
    count: int, *, seed: int = 1, incident: str | None = None, unit_filter: set[str] | None = None,
    profile: str = "haiduong", step: timedelta = timedelta(seconds=1),
) -> list[Event]:  # fmt: skip
    events = generate(count, seed=seed, incident=incident, profile=profile, step=step)
    return [e for e in events if unit_filter is None or e.unit_code in unit_filter]


@functools.cache
def generate(count: int, *, seed: int, incident: str | None, profile: str, step: timedelta) -> tuple[Event, ...]:
    chosen = PROFILES[profile]
    refdata = REFDATA if profile == "haiduong" else TODAY
    world = ProvinceWorld(refdata=refdata, profile=chosen, seed=seed, source="demo",
                          incidents=[parse_incident(incident)] if incident else [], started_at=START)  # fmt: skip
    return tuple(event_adapter.validate_python(world.next_event(START + i * step)) for i in range(count))


def kpis(events: list[Event]) -> dict[str, float | None]:
    totals = dict.fromkeys(COUNTERS, 0)
    for values in aggregate(events).values():
        for name, value in zip(COUNTERS, values, strict=True):
            totals[name] += value
    return {d.name: ratio(*d.evaluate(totals)) for d in DEFAULT_KPIS if d.numerator}


def test_haiduong_profile_reproduces_the_seed_figures() -> None:
    values = kpis(run(90_000))
    for kpi, seed_figure in SEED_FIGURES.items():
        assert values[kpi] == pytest.approx(seed_figure, abs=0.015), kpi


def test_haiduong_profile_is_the_2024_province_with_its_districts() -> None:
    events = run(20_000)
    levels = Counter(REFDATA.tree.units[e.unit_code].level for e in events)
    assert {e.unit_code for e in events} <= set(REFDATA.tree.units)
    assert all(e.unit_code.startswith("HD") for e in events)
    assert levels[UnitLevel.DISTRICT] > 0.2 * len(events)


def test_haiphong_profile_reproduces_the_seed_figures_on_todays_tree() -> None:
    events = run(90_000, profile="haiphong")
    values = kpis(events)
    for kpi, seed_figure in SEED_FIGURES.items():
        assert values[kpi] == pytest.approx(seed_figure, abs=0.015), kpi
    units = {e.unit_code for e in events}
    assert units <= CURRENT
    levels = Counter(TODAY.tree.units[e.unit_code].level for e in events if not isinstance(e, FeedbackClosed))
    assert set(levels) == {UnitLevel.COMMUNE, UnitLevel.DEPARTMENT}
    # The communes took over the districts' share: commune 45% + district 30%, departments 25%.
    assert levels[UnitLevel.DEPARTMENT] / sum(levels.values()) == pytest.approx(0.25, abs=0.02)
    communes = [TODAY.tree.units[u] for u in units if TODAY.tree.units[u].level == UnitLevel.COMMUNE]
    assert len(communes) == 114
    assert {u.kind for u in communes} == {"commune", "ward", "special_zone"}
    assert all(u.parent_code == "H24" for u in communes)


def test_every_generated_event_is_a_valid_canonical_event_for_a_known_unit() -> None:
    events = run(5000)
    assert {e.type for e in events} == {"dossier.received", "dossier.paused", "dossier.resumed", "dossier.paid",
                                        "dossier.completed", "dossier.rated", "feedback.closed"}  # fmt: skip
    assert all(e.unit_code in REFDATA.tree for e in events)
    assert all(e.schema_version == 2 for e in events)


def test_same_seed_gives_the_same_events_ids_included() -> None:
    assert run(500, seed=9) == run(500, seed=9)
    assert {e.event_id for e in run(500, seed=9)}.isdisjoint({e.event_id for e in run(500, seed=10)})


def test_incident_pulls_the_district_to_its_target_and_leaves_others_alone() -> None:
    district = REFDATA.tree.descendants("HD.CG")
    inside = kpis(run(80_000, incident="district=HD.CG,kpi=online_submission_rate,to=0.6,for=1d", unit_filter=district))
    outside = kpis(run(80_000, incident="district=HD.CG,kpi=online_submission_rate,to=0.6,for=1d",
                       unit_filter=set(REFDATA.tree.units) - district))  # fmt: skip
    assert inside["online_submission_rate"] == pytest.approx(0.6, abs=0.05)
    assert outside["online_submission_rate"] == pytest.approx(0.87, abs=0.02)


def test_incident_on_a_current_ward_pulls_only_that_ward() -> None:
    incident = f"unit={WARD},kpi=online_submission_rate,to=0.5,for=2d"
    inside = kpis(run(150_000, profile="haiphong", incident=incident, unit_filter={WARD}))
    outside = kpis(run(150_000, profile="haiphong", incident=incident, unit_filter=CURRENT - {WARD}))
    # A few hundred dossiers at one ward, whose own procedure mix sits a little above the province's 87%.
    assert inside["online_submission_rate"] == pytest.approx(0.5, abs=0.08)
    assert outside["online_submission_rate"] == pytest.approx(0.87, abs=0.02)


def test_incident_unit_may_be_an_alias() -> None:
    alias = TODAY.tree.units[WARD].aliases[0]
    by_alias = run(5000, profile="haiphong", incident=f"unit={alias},kpi=online_submission_rate,to=0,for=2d")
    by_code = run(5000, profile="haiphong", incident=f"unit={WARD},kpi=online_submission_rate,to=0,for=2d")
    assert by_alias == by_code != run(5000, profile="haiphong")


@pytest.mark.parametrize(("profile", "unit", "problem"), [("haiphong", "HD.CG", "no traffic"),
                                                          ("haiduong", "H24.107", "not in the unit tree")])  # fmt: skip
def test_incident_on_a_unit_the_profile_does_not_generate_is_refused(profile: str, unit: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        run(1, profile=profile, incident=f"unit={unit},kpi=online_submission_rate,to=0.5,for=1h")


def test_backlog_incident_piles_dossiers_up_in_progress_and_they_drain_after() -> None:
    events = run(75_000, profile="haiphong", incident=f"unit={WARD},kpi=backlog,to=0,for=10h,after=10h",
                 unit_filter={WARD}, step=timedelta(seconds=2))  # fmt: skip
    in_progress = Counter[str]()
    by_hour: dict[int, int] = {}
    for event in events:
        if isinstance(event, DossierReceived):
            in_progress[event.dossier_id] += 1
        elif isinstance(event, DossierCompleted):
            in_progress[event.dossier_id] -= 1
        by_hour[int((event.occurred_at - START).total_seconds() // 3600)] = sum(in_progress.values())
    before, during, after = by_hour[9], by_hour[19], by_hour[41]
    assert during > 2 * before
    assert after < during / 2
    during_incident = [e for e in events if isinstance(e, DossierCompleted)
                       and timedelta(hours=10) <= e.occurred_at - START < timedelta(hours=20)]  # fmt: skip
    assert not during_incident


def test_incident_ends_after_its_duration() -> None:
    district = REFDATA.tree.descendants("HD.CG")
    events = run(60_000, incident="district=HD.CG,kpi=online_submission_rate,to=0.0,for=10s", unit_filter=district)
    later = [e for e in events if e.occurred_at >= START + timedelta(seconds=10)]
    assert kpis(later)["online_submission_rate"] == pytest.approx(0.87, abs=0.03)


@pytest.mark.parametrize(
    ("text", "problem"),
    [("district=HD.CG,kpi=online_submission_rate,to=0.6", "needs for"), ("district=X,kpi=nope,to=0.5,for=1h", "kpi"),
     ("district=X,kpi=satisfaction_rate,to=1.5,for=1h", "between 0 and 1")],
)  # fmt: skip
def test_bad_incident_is_explained(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_incident(text)


def test_rates_and_durations_parse() -> None:
    assert parse_rate("200/s") == 200
    assert parse_rate("120/m") == 2
    assert parse_duration("10m") == timedelta(minutes=10)
    assert parse_duration("1.5h") == timedelta(minutes=90)


def test_rhythm_peaks_in_office_hours_and_at_month_end() -> None:
    morning = datetime(2026, 5, 12, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam
    night = datetime(2026, 5, 12, 19, tzinfo=UTC)  # 02:00 in Vietnam
    assert rhythm(morning) > 4 * rhythm(night)
    assert rhythm(morning.replace(day=28)) == pytest.approx(1.5 * rhythm(morning))


def test_dossiers_go_through_their_lifecycle_in_order() -> None:
    events = run(60_000)
    history: dict[str, list[Event]] = {}
    for event in events:
        if not isinstance(event, FeedbackClosed):
            history.setdefault(event.dossier_id, []).append(event)  # type: ignore[union-attr]
    finished = 0
    for dossier in history.values():
        kinds = [e.type for e in dossier]
        assert kinds[0] == "dossier.received"
        paused = False
        for event in dossier[1:]:
            assert event.type != "dossier.received"
            if isinstance(event, DossierPaused):
                assert not paused
                paused = True
            elif event.type == "dossier.resumed":
                assert paused
                paused = False
            elif isinstance(event, DossierCompleted):
                finished += 1
                # Only a withdrawn or stopped dossier ends during a pause (the applicant never answered).
                assert not paused or event.outcome in (Outcome.WITHDRAWN, Outcome.STOPPED)
        if "dossier.rated" in kinds:
            assert kinds.index("dossier.completed") < kinds.index("dossier.rated")
        assert kinds.count("dossier.completed") <= 1
        assert kinds.count("dossier.paid") <= 1
        if "dossier.paid" in kinds and "dossier.completed" in kinds:
            assert kinds.index("dossier.paid") < kinds.index("dossier.completed")
    assert finished > 0.8 * sum(1 for e in events if isinstance(e, DossierReceived))


def test_lifecycle_shares() -> None:
    events = run(60_000)
    received = {e.dossier_id: e for e in events if isinstance(e, DossierReceived)}
    completed = [e for e in events if isinstance(e, DossierCompleted)]
    paid = [e for e in events if isinstance(e, DossierPaid)]
    pauses = [e for e in events if isinstance(e, DossierPaused)]
    # Every received dossier states the 766 facts; most have a due date.
    assert all(None not in (e.fee_bearing, e.reused_data, e.from_personal_store, e.population_data)
               for e in received.values())  # fmt: skip
    assert sum(e.due_at is not None for e in received.values()) / len(received) == pytest.approx(0.95, abs=0.01)
    fee_bearing = sum(bool(e.fee_bearing) for e in received.values()) / len(received)
    assert 0.2 < fee_bearing < 0.5
    assert sum(bool(e.reused_data) for e in received.values()) / len(received) == pytest.approx(0.3, abs=0.02)
    # Fee-bearing dossiers pay, mostly on the national portal; online payment near the 766 example (1516/1707).
    assert all(received[e.dossier_id].fee_bearing for e in paid)
    channels = Counter(e.channel for e in paid)
    assert channels.most_common(1)[0][0] is PaymentChannel.NATIONAL_PORTAL
    assert channels[PaymentChannel.NATIONAL_PORTAL] / len(paid) > 0.7
    assert {PaymentChannel.LOCAL_GATEWAY, PaymentChannel.DIRECT} <= set(channels)
    tally = KpiTally()
    tally.add(events)
    online, payments = tally.figure("online_payment_rate")
    assert online / payments == pytest.approx(0.89, abs=0.02)
    # Pauses: for papers (about one dossier in ten, some twice), and to pay first (fee-bearing dossiers only).
    reasons = Counter(e.reason for e in pauses)
    assert reasons[PauseReason.SUPPLEMENT] / len(received) == pytest.approx(0.1 * 1.15 + 0.03 * 0.5, abs=0.02)
    assert all(received[e.dossier_id].fee_bearing for e in pauses if e.reason is PauseReason.FINANCIAL_OBLIGATION)
    assert reasons[PauseReason.FINANCIAL_OBLIGATION] > 0
    outcomes = Counter(e.outcome for e in completed)
    assert set(outcomes) == set(Outcome)
    assert outcomes[Outcome.APPROVED] / len(completed) == pytest.approx(0.92, abs=0.02)
    # A completion repeats its reception's due date when the dossier was on time against it.
    assert sum(e.due_at == received[e.dossier_id].due_at for e in completed) > 0.8 * len(completed)


def test_dossiers_in_progress_settle_around_the_profile_figure() -> None:
    events = run(60_000)
    open_now = sum(isinstance(e, DossierReceived) for e in events) - sum(
        isinstance(e, DossierCompleted) for e in events
    )
    stalled = PROFILES["haiduong"].stalled * sum(isinstance(e, DossierReceived) for e in events)
    assert open_now - stalled == pytest.approx(PROFILES["haiduong"].open_dossiers, rel=0.25)


def test_a_slow_run_has_overdue_dossiers_completed_late_against_their_due_date() -> None:
    events = run(30_000, step=timedelta(minutes=2))  # ~42 days
    received = {e.dossier_id: e for e in events if isinstance(e, DossierReceived)}
    late = [e for e in events if isinstance(e, DossierCompleted) and e.dossier_id in received
            and e.due_at == received[e.dossier_id].due_at and e.due_at is not None
            and e.due_at.date() < e.occurred_at.date()]  # fmt: skip
    assert late
