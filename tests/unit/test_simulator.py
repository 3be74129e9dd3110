"""The simulator: seed figures reproduced, incidents applied, same seed same events, clear option errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.metrics.core.counters import COUNTERS, aggregate
from services.metrics.core.kpis import DEFAULT_KPIS, ratio
from services.simulator.generator import ProvinceWorld
from services.simulator.profile import PROFILES, parse_duration, parse_incident, parse_rate, rhythm
from shared.events import Event, event_adapter
from shared.refdata import load_reference_data

pytestmark = pytest.mark.unit
START = datetime(2026, 5, 12, 2, tzinfo=UTC)
REFDATA = load_reference_data()


def run(count: int, *, seed: int = 1, incident: str | None = None, unit_filter: set[str] | None = None) -> list[Event]:
    world = ProvinceWorld(refdata=REFDATA, profile=PROFILES["haiduong"], seed=seed, source="demo",
                          incident=parse_incident(incident) if incident else None, started_at=START)  # fmt: skip
    events = [event_adapter.validate_python(world.next_event(START + timedelta(seconds=i))) for i in range(count)]
    return [e for e in events if unit_filter is None or e.unit_code in unit_filter]


def kpis(events: list[Event]) -> dict[str, float | None]:
    totals = dict.fromkeys(COUNTERS, 0)
    for values in aggregate(events).values():
        for name, value in zip(COUNTERS, values, strict=True):
            totals[name] += value
    return {d.name: ratio(*d.evaluate(totals)) for d in DEFAULT_KPIS if d.numerator}


def test_haiduong_profile_reproduces_the_seed_figures() -> None:
    values = kpis(run(60_000))
    expected = {"online_submission_rate": 0.87, "full_online_rate": 0.16, "digitization_rate": 0.9889,
                "satisfaction_rate": 0.9555, "feedback_satisfaction_rate": 0.99, "essential_online_rate": 0.93,
                "online_result_rate": 1.0}  # fmt: skip
    for kpi, seed_figure in expected.items():
        assert values[kpi] == pytest.approx(seed_figure, abs=0.015), kpi


def test_every_generated_event_is_a_valid_canonical_event_for_a_known_unit() -> None:
    events = run(5000)
    assert {e.type for e in events} == {"dossier.received", "dossier.completed", "dossier.rated", "feedback.closed"}
    assert all(e.unit_code in REFDATA.tree for e in events)


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
