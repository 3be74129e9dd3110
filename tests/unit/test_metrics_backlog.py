"""Backlog aggregates as deltas of footprints, processing-time bins and percentiles, without a database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.core.backlog import NOTHING, Backlog, deltas, due_day, footprint, roll_up_backlog
from services.metrics.core.lifecycle import DossierState, merge, new_state
from services.metrics.core.processing import EDGES, OPEN_BIN, bin_error, bin_of, bin_value, percentile
from shared.events import Event, event_adapter
from shared.kpi_catalogue import VIETNAM

pytestmark = pytest.mark.unit
T0 = datetime(2026, 5, 1, 1, tzinfo=UTC)
HOURS = timedelta(hours=1)


def event(kind: str, at: datetime, *, dossier: str = "D-1", **fields: Any) -> Event:
    base = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": "dvc",
            "unit_code": "H24.101", "dossier_id": dossier, "procedure_code": "1.0001"}  # fmt: skip
    return event_adapter.validate_python(base | fields)


def received(at: datetime, *, due: datetime | None = None, dossier: str = "D-1") -> Event:
    return event("dossier.received", at, dossier=dossier, channel="online", service_level="full_online",
                 essential=False, digitized=True, due_at=due.isoformat() if due else None)  # fmt: skip


def fold(*events: Event) -> DossierState:
    state = new_state(events[0])
    for item in events:
        state = merge(state, item)
    return state


def test_bins_are_an_hour_below_a_day_six_hours_below_a_month_then_wider() -> None:
    assert (bin_of(0.0), bin_of(1 / 24 - 1e-9), bin_of(1 / 24), bin_of(1.0)) == (0, 0, 1, 24)
    assert bin_error(bin_of(0.5)) == pytest.approx(1 / 48)
    assert bin_error(bin_of(10.0)) == 0.125
    assert bin_error(bin_of(100.0)) == 0.5
    assert bin_error(bin_of(200.0)) == 2.5
    assert bin_of(10_000.0) == OPEN_BIN
    assert bin_value(OPEN_BIN) == EDGES[-1] == 365.0


@given(st.floats(min_value=0, max_value=364.999, allow_nan=False))
def test_a_reported_value_is_within_its_bins_error_bound(days: float) -> None:
    index = bin_of(days)
    assert abs(bin_value(index) - days) <= bin_error(index) + 1e-12  # float rounding at a bin edge


def test_percentiles_are_nearest_rank_over_the_bins() -> None:
    histogram = {bin_of(2.0): 1, bin_of(3.0): 1, bin_of(6.5): 1}
    assert (percentile(histogram, 0.5), percentile(histogram, 0.9)) == (bin_of(3.0), bin_of(6.5))
    assert percentile({}, 0.5) is None


def test_a_pause_moves_a_dossier_from_the_due_bucket_to_paused() -> None:
    before = fold(received(T0, due=T0 + 48 * HOURS))
    after = merge(before, event("dossier.paused", T0 + HOURS, reason="supplement"))
    added = deltas([(footprint(before), footprint(after))])
    assert added.units == {"H24.101": [0, 1]}
    assert added.due == {("H24.101", due_day(T0 + 48 * HOURS)): -1}
    assert added.processing == {}


def test_a_completion_leaves_the_backlog_and_enters_a_processing_bin() -> None:
    before = fold(received(T0, due=T0 + 48 * HOURS))
    after = merge(before, event("dossier.completed", T0 + 36 * HOURS, outcome="approved", result_channel="online",
                                electronic_result=True))  # fmt: skip
    added = deltas([(NOTHING, footprint(before)), (footprint(before), footprint(after))])
    assert (added.units, added.due) == ({}, {})
    day = (T0 + 36 * HOURS).astimezone(VIETNAM).date()  # the completion's Vietnam day
    assert added.processing == {(day, "H24.101", "1.0001", bin_of(1.5)): 1}


def test_roll_up_adds_each_unit_to_its_ancestors() -> None:
    totals = roll_up_backlog({"H24.101": Backlog(3, 1, 1), "H24.102": Backlog(2, 0, 0), "XX": Backlog(1, 1, 0)},
                             {"H24.101": ["H24.101", "H24"], "H24.102": ["H24.102", "H24"]})  # fmt: skip
    assert totals == {"H24.101": Backlog(3, 1, 1), "H24.102": Backlog(2, 0, 0), "H24": Backlog(5, 1, 1),
                      "XX": Backlog(1, 1, 0)}  # fmt: skip


moments = st.integers(min_value=0, max_value=200).map(lambda h: T0 + h * HOURS)
lifecycle_event = st.one_of(
    moments.map(lambda at: received(at, due=at + 72 * HOURS)),
    moments.map(lambda at: event("dossier.paused", at, reason="supplement")),
    moments.map(lambda at: event("dossier.resumed", at)),
    moments.map(lambda at: event("dossier.completed", at, outcome="approved", result_channel="online",
                                 electronic_result=True)),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(lifecycle_event, min_size=1, max_size=8))
def test_deltas_one_event_at_a_time_add_up_to_the_final_footprint(events: list[Event]) -> None:
    state, running = new_state(events[0]), deltas([])
    for item in events:
        after = merge(state, item)
        step = deltas([(footprint(state), footprint(after))])
        for unit, values in step.units.items():
            running.units[unit] = [a + b for a, b in zip(running.units.get(unit, [0, 0]), values, strict=True)]
        for key, n in step.due.items():
            running.due[key] = running.due.get(key, 0) + n
        for pkey, n in step.processing.items():
            running.processing[pkey] = running.processing.get(pkey, 0) + n
        state = after
    direct = deltas([(NOTHING, footprint(state))])
    assert {k: v for k, v in running.units.items() if any(v)} == direct.units
    assert {k: v for k, v in running.due.items() if v} == direct.due
    assert {k: v for k, v in running.processing.items() if v} == direct.processing


def test_closed_dossiers_must_outlive_event_ids() -> None:
    from pydantic import ValidationError

    from services.metrics.settings import MetricsSettings

    with pytest.raises(ValidationError, match="must exceed"):
        MetricsSettings(pg_dsn="postgresql://x/y", environment="test", metrics_dossier_retention_days=30,
                        metrics_event_id_retention_days=45)  # fmt: skip


def test_a_due_time_is_bucketed_by_its_vietnam_day() -> None:
    assert due_day(datetime(2026, 5, 3, 16, 59, 59, tzinfo=UTC)) == datetime(2026, 5, 3).date()
    assert due_day(datetime(2026, 5, 3, 17, 0, tzinfo=UTC)) == datetime(2026, 5, 4).date()  # Vietnam midnight
