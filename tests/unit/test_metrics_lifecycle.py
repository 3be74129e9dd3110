"""A dossier's lifecycle state: the same events in any order give the same state and the same figures."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.core.lifecycle import (
    DossierState,
    is_overdue,
    merge,
    merge_all,
    new_state,
    paused_time,
    standing,
)
from shared.events import Event, event_adapter

pytestmark = pytest.mark.unit
T0 = datetime(2025, 6, 30, 1, tzinfo=UTC)  # 08:00 Vietnam time


def event(kind: str, at: datetime, *, unit: str = "H24.101", **fields: Any) -> Event:
    base = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": "dvc",
            "unit_code": unit, "dossier_id": "D-1", "procedure_code": "1.0001"}  # fmt: skip
    return event_adapter.validate_python(base | fields)


def received(at: datetime, **fields: Any) -> Event:
    facts = {"channel": "online", "service_level": "full_online", "essential": False, "digitized": True}
    return event("dossier.received", at, **(facts | fields))


def completed(at: datetime, **fields: Any) -> Event:
    facts = {"outcome": "approved", "result_channel": "online", "electronic_result": True}
    return event("dossier.completed", at, **(facts | fields))


def fold(events: list[Event]) -> DossierState:
    state = new_state(events[0])
    for item in events:
        state = merge(state, item)
    return state


def test_processing_time_deducts_the_pause_hand_computed() -> None:
    history = [
        received(T0, due_at=(T0 + timedelta(days=4)).isoformat()),
        event("dossier.paused", T0 + timedelta(days=1), reason="supplement"),
        event("dossier.resumed", T0 + timedelta(days=3)),
        completed(T0 + timedelta(days=5)),
    ]
    position = standing(fold(history))
    # 5 days elapsed, 2 of them paused: 3 days of processing.
    assert position.processing_days == pytest.approx(3.0)
    assert not position.in_progress


def test_a_completion_before_its_reception_gives_the_same_figures() -> None:
    history = [received(T0), completed(T0 + timedelta(hours=36))]
    assert fold(history) == fold(history[::-1])
    assert standing(fold(history[::-1])).processing_days == pytest.approx(1.5)


def test_a_dossier_turns_overdue_at_its_due_time_with_no_new_event() -> None:
    due = T0 + timedelta(days=2)
    state = fold([received(T0, due_at=due.isoformat())])
    assert not is_overdue(state, now=due - timedelta(seconds=1))
    assert not is_overdue(state, now=due)
    assert is_overdue(state, now=due + timedelta(seconds=1))


def test_a_paused_dossier_is_not_overdue_while_its_clock_stands_still() -> None:
    due = T0 + timedelta(days=2)
    paused = fold([received(T0, due_at=due.isoformat()),
                   event("dossier.paused", T0 + timedelta(days=1), reason="financial_obligation")])  # fmt: skip
    assert standing(paused).paused
    assert not is_overdue(paused, now=due + timedelta(days=1))
    resumed = merge(paused, event("dossier.resumed", T0 + timedelta(days=3)))
    assert not standing(resumed).paused
    assert is_overdue(resumed, now=due + timedelta(days=1, seconds=1))


def test_a_paused_time_still_running_counts_until_now() -> None:
    state = fold([received(T0), event("dossier.paused", T0 + timedelta(hours=2), reason="supplement")])
    assert paused_time(state, until=T0 + timedelta(hours=5)) == timedelta(hours=3)


def test_supplement_requests_are_counted() -> None:
    state = fold([
        received(T0),
        event("dossier.paused", T0 + timedelta(hours=1), reason="supplement"),
        event("dossier.resumed", T0 + timedelta(hours=2)),
        event("dossier.paused", T0 + timedelta(hours=3), reason="supplement"),
        event("dossier.paused", T0 + timedelta(hours=4), reason="financial_obligation"),
    ])  # fmt: skip
    assert state.supplements == 2


def test_the_reception_names_the_unit_even_when_it_arrives_last() -> None:
    history = [completed(T0 + timedelta(days=1), unit="H24.999"), received(T0, unit="H24.101")]
    assert fold(history).unit_code == "H24.101"
    assert fold(history[::-1]).unit_code == "H24.101"


moments = st.integers(min_value=0, max_value=20 * 24).map(lambda h: T0 + timedelta(hours=h))


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for _ in range(draw(st.integers(1, 2))):
        due = draw(st.none() | moments)
        events.append(received(draw(moments), unit=draw(st.sampled_from(["H24.101", "H24.102"])),
                               due_at=due.isoformat() if due else None,
                               fee_bearing=draw(st.none() | st.booleans())))  # fmt: skip
    reasons = st.sampled_from(["supplement", "financial_obligation"])
    events.extend(event("dossier.paused", draw(moments), reason=draw(reasons)) for _ in range(draw(st.integers(0, 3))))
    events.extend(event("dossier.resumed", draw(moments)) for _ in range(draw(st.integers(0, 3))))
    for _ in range(draw(st.integers(0, 2))):
        events.append(
            event("dossier.paid", draw(moments), channel=draw(st.sampled_from(["national_portal", "direct"])))
        )
    for _ in range(draw(st.integers(0, 2))):
        events.append(completed(draw(moments), unit=draw(st.sampled_from(["H24.101", "H24.103"])),
                                outcome=draw(st.sampled_from(["approved", "rejected", "stopped"]))))  # fmt: skip
    return events


@settings(max_examples=300, deadline=None)
@given(history=histories(), data=st.data())
def test_any_order_of_a_history_gives_the_same_state_and_figures(history: list[Event], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(history))
    assert fold(shuffled) == fold(history)
    now = T0 + timedelta(days=10)
    assert standing(fold(shuffled)) == standing(fold(history))
    assert is_overdue(fold(shuffled), now=now) == is_overdue(fold(history), now=now)


@settings(max_examples=200, deadline=None)
@given(history=histories(), data=st.data())
def test_a_batch_merged_at_once_equals_its_events_merged_one_by_one(history: list[Event], data: st.DataObject) -> None:
    shuffled = data.draw(st.permutations(history))
    split = data.draw(st.integers(0, len(shuffled)))
    earlier = merge_all(new_state(shuffled[0]), shuffled[:split])
    assert merge_all(earlier, shuffled[split:]) == fold(history)


def test_an_event_that_adds_nothing_leaves_the_state_as_it_was() -> None:
    state = fold([received(T0), completed(T0 + timedelta(days=1))])
    later = [received(T0 + timedelta(hours=1)), completed(T0 + timedelta(days=2))]
    assert merge_all(state, later) is state
