"""Batch and raw-record validation: JSON array or NDJSON in, events or every problem out; the 24 h future rule."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.ingest.core.validation import (
    BatchTooLargeError,
    InvalidBatchError,
    Rejection,
    classify_record,
    decode_batch,
    parse_batch,
    validate_batch,
)
from shared.events import DossierRated, Event, FeedbackClosed

pytestmark = pytest.mark.unit
NOW = datetime(2024, 4, 20, 3, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def rated(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "dossier.rated", "event_id": str(uuid.uuid4()), "occurred_at": "2024-04-19T08:30:00+07:00",
        "source": "portal-a", "unit_code": "HD.STP", "dossier_id": "D-1", "procedure_code": "P-1", "score": 5,
        **overrides,
    }  # fmt: skip


def parse(body: bytes, *, ndjson: bool = False, max_events: int = 10) -> list[Event]:
    return parse_batch(body, ndjson=ndjson, max_events=max_events, now=NOW, future_tolerance=DAY)


def problems(body: bytes, *, ndjson: bool = False) -> list[tuple[int | None, tuple[str | int, ...]]]:
    with pytest.raises(InvalidBatchError) as caught:
        parse(body, ndjson=ndjson)
    return [(p.index, p.path) for p in caught.value.problems]


@pytest.mark.parametrize("ndjson", [False, True])
def test_json_array_or_ndjson_becomes_events_in_order(ndjson: bool) -> None:
    batch = [rated(dossier_id="D-1"), rated(dossier_id="D-2")]
    body = ("\n".join(map(json.dumps, batch)) if ndjson else json.dumps(batch)).encode()
    events = parse(body, ndjson=ndjson)
    assert [e.key for e in events] == ["D-1", "D-2"]
    assert all(isinstance(e, DossierRated) for e in events)


def test_fast_and_slow_paths_agree_on_valid_batches() -> None:
    body = json.dumps([rated(), rated(score=1, dossier_id="X")]).encode()
    slow = validate_batch(decode_batch(body, ndjson=False, max_events=10), now=NOW, future_tolerance=DAY)
    assert parse(body) == slow


def test_ndjson_skips_blank_lines_and_numbers_events_by_line_of_content() -> None:
    body = b"\n" + json.dumps(rated()).encode() + b"\r\n\n" + b"{oops}\n"
    with pytest.raises(InvalidBatchError) as caught:
        decode_batch(body, ndjson=True, max_events=10)
    assert [(p.index, p.message.startswith("invalid JSON")) for p in caught.value.problems] == [(1, True)]


@pytest.mark.parametrize("ndjson", [False, True])
def test_every_bad_field_of_every_event_is_a_problem_with_index_and_path(ndjson: bool) -> None:
    batch = [rated(), rated(score=6, unit_code=""), {"type": "feedback.closed"}, rated(type="nope"), 7]
    body = ("\n".join(map(json.dumps, batch)) if ndjson else json.dumps(batch)).encode()
    found = problems(body, ndjson=ndjson)
    assert (1, ("score",)) in found
    assert (1, ("unit_code",)) in found
    assert {(2, ("event_id",)), (2, ("feedback_id",)), (2, ("on_time",))} <= set(found)
    assert (3, ("type",)) in found
    assert (4, ()) in found
    assert not any(index == 0 for index, _ in found)


def test_event_more_than_24h_ahead_is_a_problem_even_beside_schema_problems() -> None:
    ahead = rated(occurred_at=(NOW + DAY + timedelta(seconds=1)).isoformat())
    just_in = rated(occurred_at=(NOW + DAY).isoformat())
    assert problems(json.dumps([ahead, just_in]).encode()) == [(0, ("occurred_at",))]
    assert problems(json.dumps([rated(score=0), ahead]).encode()) == [(0, ("score",)), (1, ("occurred_at",))]


@pytest.mark.parametrize("body", [b"", b"[", b"\xff\xfe", b'{"a": 1}', b'"text"'])
def test_body_that_is_not_a_json_array_is_one_problem_for_the_whole_body(body: bytes) -> None:
    assert problems(body) == [(None, ())]


def test_naive_timestamp_is_refused() -> None:
    assert problems(json.dumps([rated(occurred_at="2024-04-19T08:30:00")]).encode()) == [(0, ("occurred_at",))]


@pytest.mark.parametrize("ndjson", [False, True])
@pytest.mark.parametrize("valid", [True, False])
def test_more_events_than_allowed_is_too_large_valid_or_not(ndjson: bool, valid: bool) -> None:
    events = [rated() if valid else {"type": "x"} for _ in range(11)]
    body = ("\n".join(map(json.dumps, events)) if ndjson else json.dumps(events)).encode()
    with pytest.raises(BatchTooLargeError):
        parse(body, ndjson=ndjson)


def test_rejected_batch_knows_how_many_events_it_held() -> None:
    with pytest.raises(InvalidBatchError) as caught:
        parse(json.dumps([rated(), rated(score=0), rated()]).encode())
    assert caught.value.item_count == 3


def classify(value: bytes | None, max_bytes: int = 10_000) -> FeedbackClosed | DossierRated | Rejection:
    outcome = classify_record(value, max_bytes=max_bytes, now=NOW, future_tolerance=DAY)
    assert isinstance(outcome, FeedbackClosed | DossierRated | Rejection)
    return outcome


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "not_json"),
        (b"\x00\x01garbage", "not_json"),
        (b"[1, 2]", "schema"),
        (json.dumps(rated(score="five")).encode(), "schema"),
        (json.dumps({"type": "dossier.teleported"}).encode(), "unknown_type"),
        (json.dumps({"no": "type"}).encode(), "unknown_type"),
        (json.dumps(rated(occurred_at="2024-04-22T03:00:01+00:00")).encode(), "future"),
        (b'{"pad": "' + b"x" * 20_000 + b'"}', "oversized"),
    ],
)
def test_raw_record_that_is_not_a_valid_event_says_why(value: bytes | None, reason: str) -> None:
    outcome = classify(value)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert outcome.detail


def test_schema_rejection_names_the_field() -> None:
    outcome = classify(json.dumps(rated(score=9)).encode())
    assert isinstance(outcome, Rejection)
    assert "score" in outcome.detail


def test_valid_raw_record_is_the_event() -> None:
    outcome = classify(json.dumps(rated(dossier_id="D-77")).encode())
    assert isinstance(outcome, DossierRated)
    assert outcome.key == "D-77"
