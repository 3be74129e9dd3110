"""The Decision 766 index: the interpreter at its edges, the shipped formula on DOMAIN.md's published examples, the
progress footprint of a dossier, and the periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

import pytest

from services.metrics.board import UnitEntry
from services.metrics.core.counters import COUNTERS
from services.metrics.core.index766 import (
    IndicatorSpec,
    ZeroDenominator,
    indicator_points,
    parse_formula,
    score,
    score_indicator,
)
from services.metrics.core.lifecycle import DossierState
from services.metrics.core.periods import PeriodError, PeriodKind, closed_range, parse_period
from services.metrics.core.progress766 import ProgressFootprint, day_deltas, progress_footprint
from services.metrics.index766 import FED_INPUTS, Inputs, PeriodRows, load_formula, score_all
from shared.kpi_catalogue import VIETNAM

FORMULA = load_formula(None)
DAY = timedelta(days=1)


def inputs(**values: float) -> Inputs:
    base: Inputs = dict.fromkeys(FED_INPUTS, 0.0)
    base.update(values)
    return base


def points(card: Any, group: str, indicator: str | None = None) -> float | None:
    found = next(g for g in card.groups if g.group == group)
    if indicator is None:
        return float(found.points) if found.points is not None else None
    value = next(i for i in found.indicators if i.indicator == indicator).points
    return None if value is None else float(value)


def spec(**fields: Any) -> IndicatorSpec:
    return IndicatorSpec.model_validate({"indicator": "x", "name_vi": "x", "numerator": ["a"],
                                         "denominator": ["b"], **fields})  # fmt: skip


# The published examples (DOMAIN.md), within 0.015 points.


def test_published_progress_and_dossier_satisfaction_example() -> None:
    card = score(FORMULA, inputs(progress_dossiers=2971, progress_on_time=2348))
    assert points(card, "progress") == pytest.approx(15.81, abs=0.015)
    assert points(card, "satisfaction", "dossier_satisfaction") == pytest.approx(5.27, abs=0.015)


def test_published_online_payment_example() -> None:
    card = score(FORMULA, inputs(paid=1707, paid_online=1516, fee_procedures=35, fee_procedures_paid_online=12,
                                 catalogue_fee_procedures=35, catalogue_fee_procedures_on_portal=7))  # fmt: skip
    assert points(card, "online_payment") == pytest.approx(6.69, abs=0.015)


def test_three_feedback_items_on_time_and_satisfied_score_six_and_six() -> None:
    card = score(FORMULA, inputs(feedback_closed=3, feedback_on_time=3, feedback_scored=3, feedback_satisfied=3))
    assert (points(card, "satisfaction", "feedback_on_time"), points(card, "satisfaction", "feedback_satisfied")) == (
        6.0, 6.0,
    )  # fmt: skip


def test_no_feedback_at_all_scores_six_and_six() -> None:
    card = score(FORMULA, inputs())
    assert (points(card, "satisfaction", "feedback_on_time"), points(card, "satisfaction", "feedback_satisfied")) == (
        6.0, 6.0,
    )  # fmt: skip


# Edges of each formula.


def test_linear_indicator_scores_max_times_ratio_and_zero_over_a_zero_denominator() -> None:
    assert indicator_points(spec(max_points=6), numerator=3, denominator=4) == (0.75, 4.5)
    assert indicator_points(spec(max_points=6), numerator=0, denominator=0) == (None, 0.0)


def test_zero_denominator_full_marks_when_the_file_says_so() -> None:
    assert indicator_points(spec(max_points=6, zero_denominator="full"), numerator=0, denominator=0) == (None, 6.0)


def test_dossier_satisfaction_reaches_full_marks_at_the_0_9_threshold_and_is_capped_above() -> None:
    satisfaction = spec(max_points=6, at=0.9)
    assert indicator_points(satisfaction, numerator=9, denominator=10)[1] == pytest.approx(6.0)
    assert indicator_points(satisfaction, numerator=10, denominator=10)[1] == 6.0
    assert indicator_points(satisfaction, numerator=899, denominator=1000)[1] == pytest.approx(6 * 0.899 / 0.9)
    assert indicator_points(satisfaction, numerator=0, denominator=0)[1] == 0.0  # no dossiers: 0 points


def test_reused_data_reaches_full_marks_at_the_0_8_threshold_and_is_capped_above() -> None:
    reused = next(i for g in FORMULA.groups for i in g.indicators if i.indicator == "reused_data")
    assert indicator_points(reused, numerator=8, denominator=10)[1] == pytest.approx(2.0)
    assert indicator_points(reused, numerator=95, denominator=100)[1] == 2.0
    assert indicator_points(reused, numerator=4, denominator=10)[1] == pytest.approx(1.0)


def test_payment_b_is_capped_at_two_and_c_scales_by_two_and_a_half() -> None:
    b = spec(max_points=2, scale=2.5)
    assert indicator_points(b, numerator=8, denominator=10)[1] == pytest.approx(2.0)  # 2.5 x 0.8 = 2: the cap
    assert indicator_points(b, numerator=10, denominator=10)[1] == 2.0
    card = score(FORMULA, inputs(paid=10, paid_online=10, fee_procedures=4, fee_procedures_paid_online=4,
                                 catalogue_fee_procedures=4, catalogue_fee_procedures_on_portal=4))  # fmt: skip
    assert points(card, "online_payment") == 10.0  # 6 + 2 + 2.5 capped at the group's 10


def test_payment_ratios_with_zero_denominators_are_zero() -> None:
    card = score(FORMULA, inputs(catalogue_fee_procedures=0, catalogue_fee_procedures_on_portal=0))
    assert points(card, "online_payment") == 0.0


def test_a_signed_numerator_below_zero_scores_zero() -> None:
    card = score(FORMULA, inputs(progress_dossiers=10, progress_on_time=1, rated=5, rated_satisfied=0))
    assert points(card, "satisfaction", "dossier_satisfaction") == 0.0


def test_dissatisfied_ratings_are_deducted_from_dossier_satisfaction() -> None:
    card = score(FORMULA, inputs(progress_dossiers=100, progress_on_time=90, rated=20, rated_satisfied=10))
    assert points(card, "satisfaction", "dossier_satisfaction") == pytest.approx(6 * 0.8 / 0.9)


# No data and coverage.


def test_unfed_inputs_are_no_data_not_zero_and_coverage_counts_only_what_has_data() -> None:
    card = score(FORMULA, inputs())
    assert points(card, "transparency") is None
    assert points(card, "transparency", "dossier_sync") is None
    assert points(card, "digitization", "result_papers_digitized") is None
    # payment C without a catalogue figure: no data; A and B (8 of the 10.5 indicator points) have data.
    without_catalogue = dict(inputs(), catalogue_fee_procedures=None, catalogue_fee_procedures_on_portal=None)
    payment = next(g for g in score(FORMULA, without_catalogue).groups if g.group == "online_payment")
    assert payment.indicators[2].points is None
    assert payment.covered_points == pytest.approx(10 * 8 / 10.5)
    # progress 20 + payment 10 + digitization 6 of 22 (electronic result) + satisfaction 18 = 54 of 100
    assert card.coverage == pytest.approx(0.54)


def test_a_fact_no_reception_stated_is_no_data_and_one_stated_scores() -> None:
    card = score(FORMULA, inputs(received=10))
    assert points(card, "digitization", "dossiers_citizen_data") is None
    card = score(FORMULA, inputs(received=10, received_population_known=10, received_population_data=5))
    assert points(card, "digitization", "dossiers_citizen_data") == pytest.approx(1.0)


def test_online_service_reports_its_inputs_and_leaves_the_points_unknown() -> None:
    card = score(FORMULA, inputs(received=10, received_online=8))
    group = next(g for g in card.groups if g.group == "online_service")
    submission = group.indicators[0]
    assert (submission.numerator, submission.denominator, submission.ratio, submission.points) == (8, 10, 0.8, None)
    assert group.points is None
    assert group.covered_points == 0


def test_requires_leaves_an_indicator_without_data_until_its_fact_is_stated() -> None:
    needs = spec(max_points=2, requires=["c"])
    assert needs.inputs == {"a", "b", "c"}
    assert score_indicator(needs, {"a": 1, "b": 2, "c": 0}).points is None
    assert score_indicator(needs, {"a": 1, "b": 2, "c": 3}).points == 1.0
    assert score_indicator(needs, {"a": 1, "b": 2}).points is None  # c not fed at all


def test_a_formula_naming_an_unknown_input_is_refused() -> None:
    raw = FORMULA.model_dump(mode="json")
    raw["groups"][1]["indicators"][0]["numerator"] = ["progress_on_tme"]
    with pytest.raises(ValueError, match="progress_on_tme"):
        parse_formula(raw, fed=set(FED_INPUTS))


def test_the_shipped_formula_names_its_source_and_year_and_has_the_six_groups() -> None:
    assert FORMULA.year == 2022
    assert "766" in FORMULA.source
    assert [(g.group, g.max_points) for g in FORMULA.groups] == [
        ("transparency", 18), ("progress", 20), ("online_service", 12), ("online_payment", 10),
        ("digitization", 22), ("satisfaction", 18),
    ]  # fmt: skip
    assert FORMULA.max_total == 100
    assert ZeroDenominator.FULL in {i.zero_denominator for g in FORMULA.groups for i in g.indicators}


# Progress: one dossier's footprint, and periods' figures from the day rows.

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=VIETNAM)


def state(**fields: Any) -> DossierState:
    return DossierState(dossier_id="D", unit_code="U", procedure_code="P", **fields)


def test_completed_on_the_due_day_is_on_time() -> None:
    done = state(received_at=T0, due_at=T0 + 3 * DAY, completed_at=T0 + 3 * DAY + timedelta(hours=8))
    footprint = progress_footprint(done)
    assert footprint is not None
    assert footprint.on_time
    assert footprint.within_due == (date(2026, 10, 5), date(2026, 10, 7))


def test_completed_the_day_after_its_due_day_is_late_unless_paused_time_moves_the_due_day() -> None:
    late = state(received_at=T0, due_at=T0 + 3 * DAY, completed_at=T0 + 4 * DAY)
    assert progress_footprint(late) == ProgressFootprint("U", date(2026, 10, 5), date(2026, 10, 9), False,
                                                         (date(2026, 10, 5), date(2026, 10, 8)))  # fmt: skip
    paused = state(received_at=T0, due_at=T0 + 3 * DAY, completed_at=T0 + 4 * DAY, supplements=1,
                   pauses=(T0 + DAY,), resumes=(T0 + 2.5 * DAY,))  # fmt: skip
    footprint = progress_footprint(paused)
    assert footprint is not None
    assert footprint.on_time


def test_a_pause_after_the_due_time_does_not_make_an_overdue_dossier_on_time() -> None:
    overdue_then_paused = state(received_at=T0, due_at=T0 + DAY, completed_at=T0 + 4 * DAY,
                                pauses=(T0 + 2 * DAY,), resumes=(T0 + 3.5 * DAY,))  # fmt: skip
    footprint = progress_footprint(overdue_then_paused)
    assert footprint is not None
    assert not footprint.on_time


def test_more_than_one_supplement_request_counts_as_overdue() -> None:
    twice = state(received_at=T0, due_at=T0 + 9 * DAY, completed_at=T0 + DAY, supplements=2,
                  pauses=(T0 + 0.2 * DAY, T0 + 0.5 * DAY), resumes=(T0 + 0.3 * DAY, T0 + 0.6 * DAY))  # fmt: skip
    footprint = progress_footprint(twice)
    assert footprint is not None
    assert (footprint.on_time, footprint.within_due) == (False, None)
    open_twice = state(received_at=T0, due_at=T0 + 9 * DAY, supplements=2)
    assert progress_footprint(open_twice) == ProgressFootprint("U", date(2026, 10, 5), None, False, None)


def test_in_progress_is_within_due_until_its_due_day_or_for_as_long_as_it_is_paused() -> None:
    running = state(received_at=T0, due_at=T0 + 2 * DAY)
    assert progress_footprint(running) == ProgressFootprint("U", date(2026, 10, 5), None, False,
                                                            (date(2026, 10, 5), date(2026, 10, 7)))  # fmt: skip
    paused = state(received_at=T0, due_at=T0 + 2 * DAY, pauses=(T0 + DAY,), supplements=1)
    footprint = progress_footprint(paused)
    assert footprint is not None
    assert footprint.within_due == (date(2026, 10, 5), None)


def test_a_completion_without_its_reception_counts_on_its_completion_day_only() -> None:
    orphan = state(completed_at=T0, completion_due_at=T0 + DAY)
    assert progress_footprint(orphan) == ProgressFootprint("U", date(2026, 10, 5), date(2026, 10, 5), True, None)
    assert progress_footprint(state()) is None


def prefix_figures(rows: dict[tuple[str, date], list[int]], first: date, last: date) -> tuple[int, int]:
    """(dossiers, on time) of a period straight from day rows, the way the SQL sums them."""
    days = sorted(d for _, d in rows)
    carried = sum(rows[("U", d)][0] - rows[("U", d)][1] for d in days if d < first)
    started = sum(rows[("U", d)][0] for d in days if first <= d <= last)
    on_time = sum(rows[("U", d)][2] for d in days if first <= d <= last)
    within = list(accumulate(rows[("U", d)][3] for d in days if d <= last))
    return carried + started, on_time + (within[-1] if within else 0)


def test_day_rows_give_each_period_its_dossiers_and_on_time_ones() -> None:
    october_first = date(2026, 10, 1)
    dossiers = [
        state(received_at=T0, due_at=T0 + 2 * DAY, completed_at=T0 + DAY),  # on time in October
        state(received_at=T0, due_at=T0 + 2 * DAY, completed_at=T0 + 10 * DAY),  # late in October
        state(received_at=T0 + 20 * DAY, due_at=T0 + 40 * DAY),  # open at October's end, not yet due
        state(received_at=T0 + 20 * DAY, due_at=T0 + 22 * DAY),  # open at October's end, overdue
        state(received_at=T0 + 25 * DAY, due_at=T0 + 30 * DAY, completed_at=T0 + 28 * DAY),  # on time, in November
        state(received_at=T0 - 20 * DAY, due_at=T0, completed_at=T0 - 10 * DAY),  # all in September
    ]
    rows = day_deltas((None, progress_footprint(d)) for d in dossiers)
    # October: five dossiers; on time the first, and two in progress and not yet due on 31 October.
    assert prefix_figures(rows, october_first, date(2026, 10, 31)) == (5, 3)
    # November: the three carried over; on time the one completed in November, and until 14 November (its due
    # day) the one still open.
    assert prefix_figures(rows, date(2026, 11, 1), date(2026, 11, 30)) == (3, 1)
    assert prefix_figures(rows, date(2026, 11, 1), date(2026, 11, 10)) == (3, 2)


def test_a_state_change_moves_its_rows_and_an_unchanged_one_adds_nothing() -> None:
    before = state(received_at=T0, due_at=T0 + 2 * DAY)
    after = state(received_at=T0, due_at=T0 + 2 * DAY, completed_at=T0 + DAY)
    rows = day_deltas([(None, progress_footprint(before)), (progress_footprint(before), progress_footprint(after))])
    assert rows == day_deltas([(None, progress_footprint(after))])
    assert day_deltas([(progress_footprint(after), progress_footprint(after))]) == {}


# Periods.

TODAY = date(2026, 11, 20)


def test_periods_parse_month_quarter_and_year_and_the_current_one_runs_to_today() -> None:
    month = parse_period("2026-10", today=TODAY)
    assert (month.kind, month.first_day, month.last_day, month.closed) == (
        PeriodKind.MONTH, date(2026, 10, 1), date(2026, 10, 31), True,
    )  # fmt: skip
    quarter = parse_period("2026-Q4", today=TODAY)
    assert (quarter.first_day, quarter.last_day, quarter.closed) == (date(2026, 10, 1), TODAY, False)
    assert parse_period("2026", today=TODAY).previous().name == "2025"
    assert parse_period("2026-Q1", today=TODAY).previous().name == "2025-Q4"
    assert parse_period("2026-01", today=TODAY).previous().last_day == date(2025, 12, 31)


@pytest.mark.parametrize("text", ["2026-13", "2026-Q5", "26-10", "2026-1", "2027", "2026-12", "0000", "1999-Q4"])
def test_bad_or_future_periods_are_refused_with_what_is_wrong(text: str) -> None:
    with pytest.raises(PeriodError, match=text):
        parse_period(text, today=TODAY)


def test_report_ranges_must_be_closed_ordered_and_within_retention() -> None:
    days = closed_range(date(2026, 7, 1), date(2026, 9, 30), today=TODAY, longest_days=400)
    assert (days.days, days.previous().first_day, days.previous().last_day) == (
        92, date(2026, 3, 31), date(2026, 6, 30),
    )  # fmt: skip
    with pytest.raises(PeriodError, match="closed days only"):
        closed_range(date(2026, 11, 1), TODAY, today=TODAY, longest_days=400)
    with pytest.raises(PeriodError, match="after"):
        closed_range(date(2026, 9, 2), date(2026, 9, 1), today=TODAY, longest_days=400)
    with pytest.raises(PeriodError, match="within the last 400 days"):
        closed_range(date(2025, 10, 1), date(2026, 9, 30), today=TODAY, longest_days=400)


def test_vietnam_days_are_used_for_footprints() -> None:
    late_evening_utc = datetime(2026, 10, 4, 18, 0, tzinfo=UTC)  # 01:00 on 5 October in Vietnam
    footprint = progress_footprint(state(received_at=late_evening_utc))
    assert footprint is not None
    assert footprint.start_day == date(2026, 10, 5)


def test_scorecards_of_units_gone_before_the_period_are_the_same_when_scored_on_demand() -> None:
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    units = {"P": UnitEntry("P", "province"), "P.OLD": UnitEntry("Old", "commune", valid_to=date(2025, 6, 30)),
             "P.NEW": UnitEntry("New", "commune", valid_from=date(2025, 7, 1))}  # fmt: skip
    ancestors = {"P": ["P"], "P.OLD": ["P.OLD", "P.NEW", "P"], "P.NEW": ["P.NEW", "P"], "ELSEWHERE": ["ELSEWHERE"]}
    received = COUNTERS.index("received_online")
    counts = {code: [(i + 3) * (j == received) + j % 3 for j in range(len(COUNTERS))]
              for i, code in enumerate(["P.OLD", "P.NEW", "ELSEWHERE"])}  # fmt: skip
    rows = PeriodRows(units, ancestors, counts, {}, {"P": [4, 2, 3, 9], "P.NEW": [1, 1, 2, 5]})
    scores = score_all(
        rows, formula=FORMULA, catalogue={}, first_day=first, last_day=last, computed_at=datetime.now(UTC)
    )
    assert set(scores.cards) == set(scores.inputs) == {"P", "P.OLD", "P.NEW", "ELSEWHERE"}
    for code in ("P.OLD", "ELSEWHERE", "P", "P.NEW"):  # the first two scored only now
        assert scores.cards[code] == score(FORMULA, scores.inputs[code])
    assert scores.cards.get("NOWHERE") is None
    assert scores.inputs["P.NEW"]["procedures_used_online"] == 2.0
