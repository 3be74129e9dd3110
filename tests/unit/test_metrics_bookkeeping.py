"""The lifecycle bookkeeping's fast paths give exactly what the straightforward definitions give.

`plan` runs per batch in the worker the counting transaction waits for, so its parts take shortcuts (cached zone
offsets, tie-break keys built lazily, shared contributions of a before and after not added and taken back). Each
is checked here against a plain reading of its rule, on states and events drawn at random.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import TzInfo

from services.metrics.core.backlog import NOTHING, deltas, footprint
from services.metrics.core.lifecycle import (
    DAY,
    DossierState,
    merge_all,
    merge_new,
    new_state,
    pause_intervals,
    paused_time,
)
from services.metrics.core.processing import bin_of
from services.metrics.core.progress766 import MAX_SUPPLEMENTS_ON_TIME, day_deltas, progress_footprint
from services.metrics.core.windows import bucket_of, vietnam_day
from services.metrics.dossiers import Locked, plan
from shared.events import (
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierReceived,
    DossierResumed,
    Event,
    PauseReason,
    event_adapter,
)
from shared.kpi_catalogue import VIETNAM

pytestmark = pytest.mark.unit
T0 = datetime(2026, 10, 5, 1, tzinfo=UTC)
ZONES: list[tzinfo] = [UTC, TzInfo(0), TzInfo(7 * 3600), timezone(timedelta(hours=-5)), VIETNAM,
                       ZoneInfo("America/New_York")]  # fmt: skip
"""asyncpg's UTC, pydantic's parsed offsets, the stdlib's fixed ones, and zones whose offset changes."""
UNITS = ["H24.101", "H24.102"]
_NEVER = datetime.min.replace(tzinfo=UTC)
_FOREVER = datetime.max.replace(tzinfo=UTC)

# A few days, so that days, due times and units collide often; minutes, so that pauses and due times tie.
moments = st.builds(lambda minutes, zone: (T0 + timedelta(minutes=minutes)).astimezone(zone),
                    st.integers(min_value=0, max_value=6 * 24 * 60).map(lambda m: m - m % 30),
                    st.sampled_from(ZONES))  # fmt: skip
maybe_moments = st.none() | moments


# --- the straightforward definitions -----------------------------------------------------------------------------


def reference_vietnam_day(moment: datetime) -> date:
    return (moment.astimezone(UTC) + timedelta(hours=7)).date()


def reference_bucket(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def reference_intervals(state: DossierState, *, until: datetime) -> list[tuple[datetime, datetime]]:
    intervals: list[tuple[datetime, datetime]] = []
    for pause in state.pauses:
        if intervals and pause < intervals[-1][1]:
            continue
        end = next((r for r in state.resumes if r >= pause), until)
        intervals.append((pause, max(pause, min(end, until))))
    return intervals


def reference_footprint(state: DossierState) -> tuple[Any, ...]:
    """(unit, in progress, paused, running due, processing key), through the lifecycle's own definitions."""
    due = state.due_at if state.due_at is not None else state.completion_due_at
    if state.received_at is None:
        return (state.unit_code, False, False, None, None)
    if state.completed_at is None:
        paused = bool(state.pauses) and (not state.resumes or state.resumes[-1] < state.pauses[-1])
        return (state.unit_code, True, paused, None if paused else due, None)
    paused_for = sum((e - s for s, e in reference_intervals(state, until=state.completed_at)), timedelta())
    days = max(0.0, (state.completed_at - state.received_at - paused_for) / DAY)
    key = (reference_vietnam_day(state.completed_at), state.unit_code, state.procedure_code, bin_of(days))
    return (state.unit_code, False, False, None, key)


def reference_deltas(changes: Iterable[tuple[Any, Any]]) -> tuple[dict[Any, list[int]], dict[Any, int], dict[Any, int]]:
    units: dict[str, list[int]] = {}
    due: dict[tuple[str, date], int] = {}
    processing: dict[Any, int] = {}
    for before, after in changes:
        for (unit, in_progress, paused, running_due, key), sign in ((before, -1), (after, 1)):
            if in_progress:
                row = units.setdefault(unit, [0, 0])
                row[0] += sign
                row[1] += sign * paused
            if running_due is not None:
                due[(unit, reference_vietnam_day(running_due))] = due.get((unit, reference_vietnam_day(running_due)),
                                                                          0) + sign  # fmt: skip
            if key is not None:
                processing[key] = processing.get(key, 0) + sign
    return ({u: v for u, v in units.items() if any(v)}, {k: v for k, v in due.items() if v},
            {k: v for k, v in processing.items() if v})  # fmt: skip


def reference_progress_footprint(state: DossierState) -> tuple[Any, ...] | None:
    start = state.received_at if state.received_at is not None else state.completed_at
    if start is None:
        return None
    start_day = reference_vietnam_day(start)
    compliant = state.supplements <= MAX_SUPPLEMENTS_ON_TIME
    due = state.due_at if state.due_at is not None else state.completion_due_at
    if due is not None:  # the working due time, pauses walked one by one
        until = _FOREVER if state.completed_at is None else state.completed_at
        for pause, end in reference_intervals(state, until=until):
            if pause >= due:
                break
            if end == _FOREVER:
                due = None
                break
            due += end - pause
    due_day = None if due is None else reference_vietnam_day(due)
    if state.completed_at is not None:
        end_day = reference_vietnam_day(state.completed_at)
        on_time = compliant and (due_day is None or end_day <= due_day)
        last = end_day - timedelta(days=1) if due_day is None else min(end_day - timedelta(days=1), due_day)
        ok = state.received_at is not None and compliant and last >= start_day
        return (state.unit_code, start_day, end_day, on_time, (start_day, last) if ok else None)
    if not compliant:
        return (state.unit_code, start_day, None, False, None)
    return (state.unit_code, start_day, None, False,
            (start_day, due_day) if due_day is None or due_day >= start_day else None)  # fmt: skip


def reference_day_deltas(changes: Iterable[tuple[Any, Any]]) -> dict[tuple[str, date], list[int]]:
    rows: dict[tuple[str, date], list[int]] = {}

    def add(unit: str, day: date, column: int, value: int) -> None:
        rows.setdefault((unit, day), [0, 0, 0, 0])[column] += value

    for before, after in changes:
        for print_, sign in ((before, -1), (after, 1)):
            if print_ is None:
                continue
            unit, start_day, end_day, on_time, within = print_
            add(unit, start_day, 0, sign)
            if end_day is not None:
                add(unit, end_day, 1, sign)
                if on_time:
                    add(unit, end_day, 2, sign)
            if within is not None:
                add(unit, within[0], 3, sign)
                if within[1] is not None:
                    add(unit, within[1] + timedelta(days=1), 3, -sign)
    return {key: values for key, values in rows.items() if any(values)}


def _order(moment: datetime | None) -> tuple[bool, datetime]:
    return (moment is not None, moment if moment is not None else _NEVER)


def reference_merge(state: DossierState, events: Sequence[Event]) -> DossierState:
    """Each fact the least by its tie-break order (the state's own first), moments sorted, names the least; a
    fact no event states stays as the state holds it."""
    receptions = []
    if state.received_at is not None:
        receptions.append((state.received_at, state.unit_code, state.procedure_code, _order(state.due_at),
                           str(state.fee_bearing), state.due_at, state.fee_bearing))  # fmt: skip
    receptions += [(e.occurred_at, e.unit_code, e.procedure_code, _order(e.due_at), str(e.fee_bearing), e.due_at,
                    e.fee_bearing) for e in events if isinstance(e, DossierReceived)]  # fmt: skip
    completions = [(state.completed_at, state.outcome or "", _order(state.completion_due_at), state.outcome,
                    state.completion_due_at)] if state.completed_at is not None else []  # fmt: skip
    completions += [(e.occurred_at, e.outcome.value, _order(e.due_at), e.outcome.value, e.due_at)
                    for e in events if isinstance(e, DossierCompleted)]  # fmt: skip
    payments = (
        [(state.paid_at, state.payment_channel or "", state.payment_channel)] if state.paid_at is not None else []
    )
    payments += [(e.occurred_at, e.channel.value, e.channel.value) for e in events if isinstance(e, DossierPaid)]
    paused = [e for e in events if isinstance(e, DossierPaused)]
    named = [e for e in events if isinstance(e, DossierCompleted | DossierPaused | DossierResumed | DossierPaid)]
    reception = min(receptions, key=lambda r: r[:5]) if receptions else None
    completion = min(completions, key=lambda c: c[:3]) if completions else None
    payment = min(payments, key=lambda p: p[:2]) if payments else None
    if reception is not None:
        unit, procedure = reception[1], reception[2]
    else:
        unit = min([state.unit_code] * bool(state.unit_code) + [e.unit_code for e in named], default="")
        procedure = min([state.procedure_code] * bool(state.procedure_code) + [e.procedure_code for e in named],
                        default="")  # fmt: skip
    merged = DossierState(
        dossier_id=state.dossier_id, unit_code=unit, procedure_code=procedure, received=reception is not None,
        received_at=reception[0] if reception else None, due_at=reception[5] if reception else state.due_at,
        fee_bearing=reception[6] if reception else state.fee_bearing,
        completed_at=completion[0] if completion else None,
        outcome=completion[3] if completion else state.outcome,
        completion_due_at=completion[4] if completion else state.completion_due_at,
        pauses=tuple(sorted([*state.pauses, *(e.occurred_at for e in paused)])),
        resumes=tuple(sorted([*state.resumes, *(e.occurred_at for e in events if isinstance(e, DossierResumed))])),
        supplements=state.supplements + sum(e.reason is PauseReason.SUPPLEMENT for e in paused),
        paid_at=payment[0] if payment else None, payment_channel=payment[2] if payment else state.payment_channel,
    )  # fmt: skip
    return state if merged == state else merged


# --- drawing states and events -------------------------------------------------------------------------------


@st.composite
def states(draw: st.DrawFn, dossier_id: str = "D-1") -> DossierState:
    received_at = draw(maybe_moments)
    paid_at = draw(maybe_moments)
    completed_at = draw(maybe_moments)
    return DossierState(
        dossier_id=dossier_id, unit_code=draw(st.sampled_from(["", *UNITS])),
        procedure_code=draw(st.sampled_from(["", "1.0001", "1.0002"])), received=received_at is not None,
        received_at=received_at, due_at=draw(maybe_moments), fee_bearing=draw(st.none() | st.booleans()),
        completed_at=completed_at, outcome=None if completed_at is None else draw(st.sampled_from(["approved",
                                                                                                     "rejected"])),
        completion_due_at=draw(maybe_moments), pauses=tuple(sorted(draw(st.lists(moments, max_size=3)))),
        resumes=tuple(sorted(draw(st.lists(moments, max_size=3)))), supplements=draw(st.integers(0, 3)),
        paid_at=paid_at, payment_channel=None if paid_at is None else draw(st.sampled_from(["direct",
                                                                                            "national_portal"])),
    )  # fmt: skip


def event(kind: str, at: datetime, *, dossier: str, unit: str, **fields: Any) -> Event:
    base = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": "dvc",
            "unit_code": unit, "dossier_id": dossier, "procedure_code": "1.0001"}  # fmt: skip
    return event_adapter.validate_python(base | fields)


@st.composite
def events(draw: st.DrawFn, dossier: str = "D-1") -> Event:
    kind = draw(st.sampled_from(["received", "paused", "resumed", "paid", "completed"]))
    at, unit = draw(moments), draw(st.sampled_from(UNITS))
    due = draw(maybe_moments)
    if kind == "received":
        return event("dossier.received", at, dossier=dossier, unit=unit, due_at=due and due.isoformat(),
                     fee_bearing=draw(st.none() | st.booleans()), channel="online", service_level="full_online",
                     essential=False, digitized=True)  # fmt: skip
    if kind == "paused":
        return event("dossier.paused", at, dossier=dossier, unit=unit,
                     reason=draw(st.sampled_from(["supplement", "financial_obligation"])))  # fmt: skip
    if kind == "resumed":
        return event("dossier.resumed", at, dossier=dossier, unit=unit)
    if kind == "paid":
        return event("dossier.paid", at, dossier=dossier, unit=unit,
                     channel=draw(st.sampled_from(["national_portal", "direct"])))  # fmt: skip
    return event("dossier.completed", at, dossier=dossier, unit=unit, due_at=due and due.isoformat(),
                 outcome=draw(st.sampled_from(["approved", "rejected"])), result_channel="online",
                 electronic_result=True)  # fmt: skip


@st.composite
def changes(draw: st.DrawFn) -> tuple[DossierState | None, DossierState]:
    """A stored state (or none) and what a few events made of it."""
    before = draw(st.none() | states())
    batch = draw(st.lists(events(), min_size=1, max_size=4))
    return before, merge_all(before or new_state(batch[0]), batch)


COUNTED_FIELDS = ["unit_code", "procedure_code", "received_at", "due_at", "completed_at", "completion_due_at", "pauses",
                  "resumes", "supplements"]  # fmt: skip
"""The fields the footprints read."""


@st.composite
def variants(draw: st.DrawFn) -> tuple[DossierState, DossierState]:
    """A state and one with some of its fields drawn afresh: most of what the two add to the sums is shared."""
    before, fresh = draw(states()), draw(states())
    names = draw(st.sets(st.sampled_from(COUNTED_FIELDS), max_size=3))
    after = replace(before, **{name: getattr(fresh, name) for name in names})
    return before, replace(after, received=after.received_at is not None)


# --- the properties ------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)),
       st.sampled_from([*ZONES, TzInfo(-3 * 3600 - 1800), None]))  # fmt: skip
def test_vietnam_days_and_hour_buckets_are_the_conversions_in_any_zone(wall: datetime, zone: tzinfo | None) -> None:
    moment = wall.replace(tzinfo=zone)
    assert vietnam_day(moment) == reference_vietnam_day(moment)
    bucket = bucket_of(moment)
    expected = reference_bucket(moment)
    assert (bucket, bucket.tzinfo, bucket.fold) == (expected, expected.tzinfo, expected.fold)
    if zone is not None:
        assert vietnam_day(moment) == moment.astimezone(VIETNAM).date()


@settings(max_examples=400, deadline=None)
@given(states(), moments)
def test_pause_intervals_and_paused_time_are_the_plain_walk(state: DossierState, until: datetime) -> None:
    intervals = pause_intervals(state, until=until)
    assert intervals == reference_intervals(state, until=until)
    assert paused_time(state, until=until) == sum((e - s for s, e in intervals), timedelta())


@settings(max_examples=400, deadline=None)
@given(states())
def test_footprints_are_the_plain_definitions(state: DossierState) -> None:
    assert tuple(footprint(state)) == reference_footprint(state)
    fast = progress_footprint(state)
    assert (None if fast is None else tuple(fast)) == reference_progress_footprint(state)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.none() | states(), states()) | changes() | variants() | states().map(lambda s: (s, s)), max_size=8
    )
)
def test_deltas_and_day_deltas_are_the_plain_sums(pairs: list[tuple[DossierState | None, DossierState]]) -> None:
    moved = [(NOTHING if b is None else footprint(b), footprint(a)) for b, a in pairs]
    added = deltas(moved)
    assert (added.units, added.due, added.processing) == reference_deltas((tuple(b), tuple(a)) for b, a in moved)
    progress = [(None if b is None else progress_footprint(b), progress_footprint(a)) for b, a in pairs]
    plain = [(None if b is None else tuple(b), None if a is None else tuple(a)) for b, a in progress]
    assert day_deltas(progress) == reference_day_deltas(plain)


@settings(max_examples=400, deadline=None)
@given(states(), st.lists(events(), min_size=1, max_size=5))
def test_merging_is_each_fact_s_least_by_its_order(state: DossierState, batch: list[Event]) -> None:
    merged = merge_all(state, batch)
    expected = reference_merge(state, batch)
    assert merged == expected
    assert (merged is state) == (expected is state)
    assert merge_new(batch) == merge_all(new_state(batch[0]), batch) == reference_merge(new_state(batch[0]), batch)


@st.composite
def locked_batches(draw: st.DrawFn) -> Locked:
    ids = draw(st.lists(st.sampled_from(["D-1", "D-2", "D-3", "D-4", "D-5"]), min_size=1, max_size=5, unique=True))
    batch = {d: draw(st.lists(events(d), min_size=1, max_size=3)) for d in sorted(ids)}
    stored = {d: draw(states(d)) for d in ids if draw(st.booleans())}
    return Locked(batch, stored)


@settings(max_examples=200, deadline=None)
@given(locked_batches())
def test_a_plan_is_the_plain_merge_footprints_and_sums(locked: Locked) -> None:
    planned = plan(locked)
    merged = {}
    for dossier, batch in locked.events.items():
        before = locked.stored.get(dossier)
        after = reference_merge(before or new_state(batch[0]), batch)
        if after is not before:
            merged[dossier] = (before, after)
    assert planned.merged == merged
    assert {d: (tuple(b), tuple(a)) for d, (b, a) in planned.moved.items()} == {
        d: (reference_footprint(b) if b is not None else tuple(NOTHING), reference_footprint(a))
        for d, (b, a) in merged.items()
    }
    assert [row[:14] for row in planned.rows] == [
        (a.dossier_id, a.unit_code, a.procedure_code, a.received_at, a.due_at, a.completion_due_at, a.fee_bearing,
         a.completed_at, a.outcome, a.pauses, a.resumes, a.supplements, a.paid_at, a.payment_channel)
        for _, a in merged.values()
    ]  # fmt: skip
    assert [row[14:] for row in planned.rows] == [
        (*reference_footprint(a)[1:4], b is not None) for b, a in merged.values()
    ]
    assert (planned.added.units, planned.added.due, planned.added.processing) == reference_deltas(
        (tuple(NOTHING) if b is None else reference_footprint(b), reference_footprint(a)) for b, a in merged.values()
    )
    assert planned.progress == reference_day_deltas(
        (None if b is None else reference_progress_footprint(b), reference_progress_footprint(a))
        for b, a in merged.values()
    )
