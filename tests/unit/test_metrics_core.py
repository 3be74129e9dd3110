"""KPI arithmetic: counters of each event, windows in Vietnam time, definitions, snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.core.counters import COUNTERS, CounterKey, aggregate, counter_key, increments, roll_up
from services.metrics.core.kpis import DEFAULT_KPIS, KpiDefinition, kpi_definitions, ratio
from services.metrics.core.snapshots import build_snapshots
from services.metrics.core.windows import day_start, vietnam_day, window_bounds, window_parts
from shared.kpi_catalogue import VIETNAM, WindowName
from tests.support.factories import completed, feedback, random_events, rated, received

pytestmark = pytest.mark.unit
VN = timedelta(hours=7)


def test_received_online_full_online_essential_digitized_sets_each_counter() -> None:
    event = received(
        unit="U",
        at=datetime(2026, 5, 1, tzinfo=UTC),
        channel="online",
        level="full_online",
        essential=True,
        digitized=True,
    )
    assert increments(event) == dict.fromkeys(
        [
            "received",
            "received_online",
            "received_full_online",
            "received_online_capable",
            "received_digitized",
            "essential_received",
            "essential_received_online",
        ],
        1,
    )


def test_postal_offline_dossier_counts_only_as_received_and_postal() -> None:
    event = received(unit="U", at=datetime(2026, 5, 1, tzinfo=UTC), channel="postal", level="offline", digitized=False)
    assert increments(event) == {"received": 1, "received_postal": 1}


def test_full_online_level_submitted_in_person_is_not_full_online() -> None:
    event = received(unit="U", at=datetime(2026, 5, 1, tzinfo=UTC), channel="in_person", level="full_online")
    assert "received_full_online" not in increments(event)


@pytest.mark.parametrize(
    ("completed_local", "due_local", "on_time"),
    [
        ("2026-05-10T23:59:00", "2026-05-10T08:00:00", True),  # same day, later hour: day granularity
        ("2026-05-11T00:01:00", "2026-05-10T23:00:00", False),
        ("2026-05-09T10:00:00", "2026-05-10T00:00:00", True),
    ],
)
def test_on_time_is_decided_by_vietnam_calendar_day(completed_local: str, due_local: str, on_time: bool) -> None:
    at = datetime.fromisoformat(completed_local + "+07:00")
    due = datetime.fromisoformat(due_local + "+07:00")
    adds = increments(completed(unit="U", at=at, due=due))
    assert adds.get("completed_on_time", 0) == int(on_time)
    assert adds["completed_with_due"] == 1


def test_completion_without_due_date_is_outside_the_on_time_denominator() -> None:
    adds = increments(completed(unit="U", at=datetime(2026, 5, 1, tzinfo=UTC), due=None))
    assert "completed_with_due" not in adds
    assert adds["completed"] == 1


def test_ratings_four_and_five_are_satisfied() -> None:
    at = datetime(2026, 5, 1, tzinfo=UTC)
    assert [increments(rated(unit="U", at=at, score=s)).get("rated_satisfied", 0) for s in range(1, 6)] == [
        0,
        0,
        0,
        1,
        1,
    ]


def test_feedback_without_score_is_outside_the_satisfaction_denominator() -> None:
    adds = increments(feedback(unit="U", at=datetime(2026, 5, 1, tzinfo=UTC), on_time=True, score=None))
    assert adds == {"feedback_closed": 1, "feedback_on_time": 1}


def test_month_to_date_starts_at_vietnam_midnight_of_the_first() -> None:
    now = datetime(2026, 4, 30, 17, 30, tzinfo=UTC)  # 2026-05-01 00:30 in Vietnam: already May there
    bounds = window_bounds(WindowName.MTD, now=now)
    assert bounds.first_bucket == datetime(2026, 4, 30, 17, tzinfo=UTC)
    assert bounds.last_bucket == datetime(2026, 4, 30, 17, tzinfo=UTC)


def test_quarter_and_year_to_date_in_vietnam_time() -> None:
    now = datetime(2026, 6, 30, 16, 59, tzinfo=UTC)  # 23:59 on 30 June in Vietnam: still Q2
    assert window_bounds(WindowName.QTD, now=now).first_bucket == datetime(2026, 4, 1, tzinfo=UTC) - VN
    assert window_bounds(WindowName.YTD, now=now).first_bucket == datetime(2026, 1, 1, tzinfo=UTC) - VN
    later = now + timedelta(minutes=2)  # 00:01 on 1 July in Vietnam: Q3 begins
    assert window_bounds(WindowName.QTD, now=later).first_bucket == datetime(2026, 7, 1, tzinfo=UTC) - VN


def test_rolling_day_is_twenty_four_hourly_buckets() -> None:
    now = datetime(2026, 5, 10, 12, 45, tzinfo=UTC)
    bounds = window_bounds(WindowName.D1, now=now)
    assert (bounds.last_bucket - bounds.first_bucket) == timedelta(hours=23)


def test_zero_denominator_is_no_data() -> None:
    assert ratio(0, 0) is None
    assert ratio(0, 5) == 0.0


def test_variant_excluding_postal_from_the_denominator_is_configuration() -> None:
    variant = KpiDefinition(
        name="online_submission_rate",
        description="excluding postal",
        numerator=("received_online",),
        denominator=("received", "-received_postal"),
    )
    definitions = {d.name: d for d in kpi_definitions({"online_submission_rate": variant})}
    counters = dict.fromkeys(COUNTERS, 0) | {"received": 10, "received_postal": 2, "received_online": 6}
    assert definitions["online_submission_rate"].evaluate(counters) == (6, 8)


def test_definition_naming_an_unknown_counter_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown counter 'received_by_pigeon'"):
        KpiDefinition(name="x", description="", numerator=("received_by_pigeon",), denominator=("received",))


def test_snapshots_cover_every_unit_and_kpi_with_no_data_as_none() -> None:
    now = datetime(2026, 5, 10, 12, tzinfo=UTC)
    window = window_bounds(WindowName.D1, now=now)
    row = [0] * len(COUNTERS)
    row[COUNTERS.index("received")], row[COUNTERS.index("received_online")] = 4, 3
    totals = {"A": row}
    snaps = build_snapshots(
        window=window,
        totals=totals,
        usage={},
        units={"A": "district", "B": "commune"},
        definitions=DEFAULT_KPIS,
        computed_at=now,
    )
    by_scope = {(s.unit_code, s.kpi): s for s in snaps}
    assert len(snaps) == 2 * len(DEFAULT_KPIS)
    assert by_scope[("A", "online_submission_rate")].ratio == 0.75
    assert by_scope[("B", "online_submission_rate")].ratio is None
    assert by_scope[("A", "satisfaction_rate")].denominator == 0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(0, 60), cut2=st.integers(0, 60))
def test_batches_counted_apart_add_up_to_the_whole_in_any_order(seed: int, cut: int, cut2: int) -> None:
    events = random_events(60, seed=seed, now=datetime(2026, 5, 10, tzinfo=UTC), days=3)
    a, b = sorted((cut, cut2))
    whole = aggregate(events)
    batches = [aggregate(events[:a]), aggregate(events[a:b]), aggregate(events[b:])]
    assert upserted(batches) == whole
    assert upserted(batches[::-1]) == whole
    assert upserted([batches[1], batches[2], batches[0]]) == whole
    assert aggregate(reversed(events)) == whole


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_counting_hot_path_adds_exactly_the_increments_of_each_event(seed: int) -> None:
    events = random_events(200, seed=seed, now=datetime(2026, 5, 10, tzinfo=UTC), days=40)
    expected: dict[CounterKey, list[int]] = {}
    for event in events:
        if adds := increments(event):
            row = expected.setdefault(counter_key(event), [0] * len(COUNTERS))
            for name, value in adds.items():
                row[COUNTERS.index(name)] += value
    assert aggregate(events) == expected
    assert aggregate(events[::-1]) == expected


def upserted(batches: list[dict[CounterKey, list[int]]]) -> dict[CounterKey, list[int]]:
    """What `kpi_counts_hourly` holds after each batch's rows are added in turn (the upsert: row + excluded)."""
    table: dict[CounterKey, list[int]] = {}
    for rows in batches:
        for key, values in rows.items():
            table[key] = [held + added for held, added in zip(table.get(key, [0] * len(COUNTERS)), values, strict=True)]
    return table


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_ratios_stay_between_zero_and_one(seed: int) -> None:
    events = random_events(80, seed=seed, now=datetime(2026, 5, 10, tzinfo=UTC), days=2)
    totals = dict.fromkeys(COUNTERS, 0)
    for values in aggregate(events).values():
        for name, value in zip(COUNTERS, values, strict=True):
            totals[name] += value
    for definition in DEFAULT_KPIS:
        if definition.numerator:
            got = ratio(*definition.evaluate(totals))
            assert got is None or 0.0 <= got <= 1.0


@settings(max_examples=200, deadline=None)
@given(
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    name=st.sampled_from(list(WindowName)),
)
def test_a_window_reads_every_hour_exactly_once_from_days_and_hours(now: datetime, name: WindowName) -> None:
    bounds = window_bounds(name, now=now)
    parts = window_parts(bounds)
    covered: list[datetime] = []
    if parts.first_day is not None and parts.last_day is not None:
        day = parts.first_day
        while day <= parts.last_day:
            covered += [day_start(day) + h * timedelta(hours=1) for h in range(24)]
            day += timedelta(days=1)
    for start, end in parts.hour_ranges:
        hour = start
        while hour < end:
            covered.append(hour)
            hour += timedelta(hours=1)
    expected_hours = int((bounds.last_bucket - bounds.first_bucket) / timedelta(hours=1)) + 1
    assert sorted(covered) == [bounds.first_bucket + i * timedelta(hours=1) for i in range(expected_hours)]


def test_roll_up_adds_descendants_and_keeps_unknown_units_on_their_own() -> None:
    ancestors = {"C": ["C", "D", "P"], "D": ["D", "P"], "P": ["P"]}
    per_unit = {"C": [1] * len(COUNTERS), "D": [2] * len(COUNTERS), "X": [5] * len(COUNTERS)}
    totals = roll_up(per_unit, ancestors)
    assert totals["P"][0] == 3
    assert totals["D"][0] == 3
    assert totals["C"][0] == 1
    assert totals["X"][0] == 5


@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_the_vietnam_day_by_offset_is_the_zone_s_day(moment: datetime) -> None:
    assert vietnam_day(moment) == moment.astimezone(VIETNAM).date()
