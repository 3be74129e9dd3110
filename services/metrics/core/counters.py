"""What each event adds to the hourly counters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import NamedTuple

from services.metrics.core.windows import bucket_of, vietnam_day, vietnam_midnight
from shared.events import (
    SATISFIED_FROM,
    Channel,
    DossierCompleted,
    DossierPaid,
    DossierRated,
    DossierReceived,
    Event,
    FeedbackClosed,
    PaymentChannel,
    ServiceLevel,
)

ONLINE_PAYMENT = frozenset({PaymentChannel.NATIONAL_PORTAL, PaymentChannel.LOCAL_GATEWAY})

COUNTERS: tuple[str, ...] = (
    "received",
    "received_online",
    "received_postal",
    "received_full_online",
    "received_online_capable",
    "received_digitized",
    "essential_received",
    "essential_received_online",
    "completed",
    "completed_electronic",
    "completed_with_due",
    "completed_on_time",
    "rated",
    "rated_satisfied",
    "feedback_closed",
    "feedback_on_time",
    "feedback_scored",
    "feedback_satisfied",
    "paid",
    "paid_online",
    "received_fee_bearing",
    # The optional Decision 766 facts of a reception: stated at all (`_known`), and stated true.
    "received_population_known",
    "received_population_data",
    "received_reused_known",
    "received_reused_data",
    "received_personal_store_known",
    "received_personal_store",
)
"""The counter columns of `kpi_counts_hourly`, in order."""
INDEX = {name: i for i, name in enumerate(COUNTERS)}


class CounterKey(NamedTuple):
    """One row of `kpi_counts_hourly`."""

    bucket: datetime
    unit_code: str
    procedure_code: str


def increments(event: Event) -> dict[str, int]:
    """The counters an event adds one to (empty for events that count in no KPI)."""
    flags: dict[str, bool]
    match event:
        case DossierReceived():
            online = event.channel is Channel.ONLINE
            flags = {
                "received": True,
                "received_online": online,
                "received_postal": event.channel is Channel.POSTAL,
                "received_full_online": online and event.service_level is ServiceLevel.FULL_ONLINE,
                "received_online_capable": event.service_level is not ServiceLevel.OFFLINE,
                "received_digitized": event.digitized,
                "essential_received": event.essential,
                "essential_received_online": event.essential and online,
                "received_fee_bearing": event.fee_bearing is True,
                "received_population_known": event.population_data is not None,
                "received_population_data": event.population_data is True,
                "received_reused_known": event.reused_data is not None,
                "received_reused_data": event.reused_data is True,
                "received_personal_store_known": event.from_personal_store is not None,
                "received_personal_store": event.from_personal_store is True,
            }
        case DossierCompleted():
            flags = {
                "completed": True,
                "completed_electronic": event.electronic_result,
                "completed_with_due": event.due_at is not None,
                # Day granularity: finished any time on or before the due day (Vietnam time) is on time.
                "completed_on_time": event.due_at is not None
                and vietnam_midnight(event.completed_at) <= vietnam_midnight(event.due_at),
            }
        case DossierPaid():
            flags = {"paid": True, "paid_online": event.channel in ONLINE_PAYMENT}
        case DossierRated():
            flags = {"rated": True, "rated_satisfied": event.score >= SATISFIED_FROM}
        case FeedbackClosed():
            flags = {
                "feedback_closed": True,
                "feedback_on_time": event.on_time,
                "feedback_scored": event.score is not None,
                "feedback_satisfied": event.score is not None and event.score >= SATISFIED_FROM,
            }
        case _:
            flags = {}
    return {name: 1 for name, on in flags.items() if on}


def counter_key(event: Event) -> CounterKey:
    """The row an event's increments go to."""
    procedure = getattr(event, "procedure_code", "") if not isinstance(event, FeedbackClosed) else ""
    return CounterKey(bucket_of(event.occurred_at), event.unit_code, procedure)


def aggregate(events: Iterable[Event]) -> dict[CounterKey, list[int]]:
    """Sum the increments of many events per row: one upsert per row instead of one per event."""
    rows: dict[CounterKey, list[int]] = {}
    width = len(COUNTERS)
    for event in events:
        indices = _indices(event)
        if not indices:
            continue
        key = counter_key(event)
        row = rows.get(key)
        if row is None:
            row = rows[key] = [0] * width
        for i in indices:
            row[i] += 1
    return rows


def _indices(event: Event) -> tuple[int, ...]:
    """The counter columns `increments` gives an event, by position; the same facts give the same columns, so
    they are worked out once per combination of facts (the counting hot path)."""
    facts: tuple[object, ...]
    match event:
        case DossierReceived():
            facts = (
                DossierReceived, event.channel, event.service_level, event.digitized, event.essential,
                event.fee_bearing, event.population_data, event.reused_data, event.from_personal_store,
            )  # fmt: skip
        case DossierCompleted():
            on_time = event.due_at is not None and vietnam_day(event.completed_at) <= vietnam_day(event.due_at)
            facts = (DossierCompleted, event.electronic_result, event.due_at is not None, on_time)
        case _:
            return tuple(INDEX[name] for name in increments(event))
    found = _BY_FACTS.get(facts)
    if found is None:
        found = _BY_FACTS[facts] = tuple(INDEX[name] for name in increments(event))
    return found


_BY_FACTS: dict[tuple[object, ...], tuple[int, ...]] = {}


def _add_into(row: list[int], values: Sequence[int]) -> None:
    for i, value in enumerate(values):
        row[i] += value


def last_online(events: Iterable[Event]) -> dict[tuple[str, str], datetime]:
    """Per (unit, procedure), the newest online dossier among events."""
    newest: dict[tuple[str, str], datetime] = {}
    for event in events:
        if isinstance(event, DossierReceived) and event.channel is Channel.ONLINE:
            key = (event.unit_code, event.procedure_code)
            if key not in newest or event.occurred_at > newest[key]:
                newest[key] = event.occurred_at
    return newest


def roll_up(
    per_unit: Mapping[str, Sequence[int]], ancestors: Mapping[str, Sequence[str]], *, width: int = len(COUNTERS)
) -> dict[str, list[int]]:
    """Add each unit's counts (`width` of them, `COUNTERS` by default) to itself and its ancestors; a unit missing
    from the tree counts only as itself."""
    totals: dict[str, list[int]] = {}
    for unit, values in per_unit.items():
        for target in ancestors.get(unit, [unit]):
            _add_into(totals.setdefault(target, [0] * width), values)
    return totals
