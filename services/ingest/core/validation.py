"""Batch and record validation: bytes in, canonical events or the problems found out. Pure: the clock is passed in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError

from services.ingest.core.adapters import Problem
from shared.events import EVENT_TYPES, Event, event_adapter, event_list_adapter

MAX_PROBLEMS = 1000
"""Problems listed in one answer; the count says how many there were in all."""


class InvalidBatchError(ValueError):
    """The batch is rejected as a whole; `problems` holds one entry per bad field, `item_count` its size if known."""

    def __init__(self, problems: Sequence[Problem], *, item_count: int = 0) -> None:
        self.problems = list(problems)
        self.item_count = item_count
        super().__init__(f"{len(self.problems)} problem(s)")


class BatchTooLargeError(ValueError):
    """The batch holds more events than allowed."""


def decode_batch(body: bytes, *, ndjson: bool, max_events: int) -> list[object]:
    """The items of a JSON array (or one JSON value per NDJSON line); InvalidBatchError if the JSON is broken."""
    if ndjson:
        items: list[object] = []
        problems: list[Problem] = []
        lines = (line for line in body.split(b"\n") if line.strip())
        for index, line in enumerate(lines):
            if index >= max_events:
                raise BatchTooLargeError(f"more than {max_events} events")
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                problems.append(Problem(index, (), f"invalid JSON: {exc}"))
        if problems:
            raise InvalidBatchError(problems, item_count=len(items) + len(problems))
        return items
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidBatchError([Problem(None, (), f"invalid JSON: {exc}")]) from None
    if not isinstance(document, list):
        raise InvalidBatchError([Problem(None, (), "expected a JSON array of events")])
    if len(document) > max_events:
        raise BatchTooLargeError(f"{len(document)} events, more than {max_events}")
    return document


def problems_of(exc: ValidationError, *, index: int | None = None) -> list[Problem]:
    """One problem per pydantic error, with the discriminator tag left out of the field path."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc: tuple[Any, ...] = tuple(error["loc"])
        position = index
        if index is None and loc and isinstance(loc[0], int):
            position, loc = loc[0], loc[1:]
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]
        if error["type"].startswith("union_tag"):
            loc = ("type",)
        problems.append(Problem(position, loc, error["msg"]))
    return problems


def future_problems(events: Iterable[tuple[int, Event]], *, now: datetime, tolerance: timedelta) -> list[Problem]:
    """A problem for each (index, event) dated further than `tolerance` after `now`."""
    latest = now + tolerance
    return [
        Problem(index, ("occurred_at",), f"more than {tolerance} in the future (now is {now.isoformat()})")
        for index, event in events
        if event.occurred_at > latest
    ]


def validate_batch(items: list[object], *, now: datetime, future_tolerance: timedelta) -> list[Event]:
    """Every item as a canonical event, or InvalidBatchError naming every bad field of every item."""
    try:
        events = event_list_adapter.validate_python(items)
    except ValidationError as exc:
        problems = problems_of(exc)
        invalid = {p.index for p in problems}
        # Slow path, only for rejected batches: the other items' event times are checked too.
        valid = [(i, event_adapter.validate_python(item)) for i, item in enumerate(items) if i not in invalid]
        problems += future_problems(valid, now=now, tolerance=future_tolerance)
        raise InvalidBatchError(sorted(problems, key=lambda p: p.index or 0), item_count=len(items)) from None
    problems = future_problems(enumerate(events), now=now, tolerance=future_tolerance)
    if problems:
        raise InvalidBatchError(problems, item_count=len(events))
    return events


def parse_batch(
    body: bytes, *, ndjson: bool, max_events: int, now: datetime, future_tolerance: timedelta
) -> list[Event]:
    """A request body as canonical events: BatchTooLargeError, InvalidBatchError naming every problem, or the events."""
    if not ndjson:
        try:
            events = event_list_adapter.validate_json(body)  # the fast path: a valid JSON array, parsed once
        except ValidationError:
            pass  # the slow path below finds every problem, and a batch too large before that
        else:
            if len(events) > max_events:
                raise BatchTooLargeError(f"{len(events)} events, more than {max_events}")
            problems = future_problems(enumerate(events), now=now, tolerance=future_tolerance)
            if problems:
                raise InvalidBatchError(problems, item_count=len(events))
            return events
    items = decode_batch(body, ndjson=ndjson, max_events=max_events)
    return validate_batch(items, now=now, future_tolerance=future_tolerance)


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a raw record cannot become a canonical event: a short reason code and a human-readable detail."""

    reason: str
    detail: str


def _record_document(value: bytes | None, *, max_bytes: int) -> dict[str, Any] | Rejection:
    if value is None:
        return Rejection("not_json", "record has no value (tombstone)")
    if len(value) > max_bytes:
        return Rejection("oversized", f"{len(value)} bytes, more than {max_bytes}")
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return Rejection("not_json", f"invalid JSON: {exc}")
    if not isinstance(document, dict):
        return Rejection("schema", f"expected a JSON object, got {type(document).__name__}")
    return document


def classify_record(
    value: bytes | None, *, max_bytes: int, now: datetime, future_tolerance: timedelta
) -> Event | Rejection:
    """A raw-topic record as a canonical event, or why not (oversized, not_json, unknown_type, schema, future)."""
    document = _record_document(value, max_bytes=max_bytes)
    if isinstance(document, Rejection):
        return document
    if document.get("type") not in EVENT_TYPES:
        return Rejection("unknown_type", f"type {document.get('type')!r} is not one of {', '.join(EVENT_TYPES)}")
    try:
        event: Event = event_adapter.validate_python(document)
    except ValidationError as exc:
        return Rejection("schema", "; ".join(str(p) for p in problems_of(exc, index=0)))
    late = future_problems([(0, event)], now=now, tolerance=future_tolerance)
    if late:
        return Rejection("future", late[0].message)
    return event
