"""The one dead-letter builder: original key, bytes and headers untouched, plus why, from where and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord

from shared.dead_letters import DETAIL_MAX_CHARS, dead_letter

pytestmark = pytest.mark.unit
NOW = datetime(2024, 4, 20, 3, 0, tzinfo=UTC)


def record(
    value: bytes | None, offset: int, *, key: bytes | None = b"D-1", headers: Any = ()
) -> ConsumerRecord[Any, Any]:
    return ConsumerRecord(
        topic="raw", partition=2, offset=offset, timestamp=0, timestamp_type=0, key=key, value=value, checksum=None,
        serialized_key_size=0, serialized_value_size=0, headers=tuple(headers),
    )  # fmt: skip


def test_dead_letter_keeps_key_value_and_headers_and_says_why_from_where_and_when() -> None:
    original = record(b"\xff", 41, headers=[("trace", b"t-1"), ("x-dlq-reason", b"forged")])
    letter = dead_letter(original, reason="not_json", detail="invalid JSON", topic="dlq", at=NOW)
    assert (letter.topic, letter.key, letter.value) == ("dlq", b"D-1", b"\xff")
    assert dict(letter.headers) == {
        "trace": b"t-1", "x-dlq-reason": b"not_json", "x-dlq-error": b"invalid JSON", "x-source-topic": b"raw",
        "x-source-partition": b"2", "x-source-offset": b"41", "x-dlq-at": NOW.isoformat().encode(),
    }  # fmt: skip


def test_original_headers_come_first_in_their_order_and_forged_source_headers_are_dropped() -> None:
    original = record(b"{}", 7, headers=[("b", b"2"), ("x-source-offset", b"999"), ("a", b"1"), ("a", b"3")])
    letter = dead_letter(original, reason="schema", detail="bad", topic="dlq", at=NOW)
    assert [name for name, _ in letter.headers][:3] == ["b", "a", "a"]
    assert [value for name, value in letter.headers if name == "x-source-offset"] == [b"7"]


def test_dead_letter_of_a_record_without_key_or_value_is_still_producible() -> None:
    letter = dead_letter(record(None, 1, key=None), reason="not_json", detail="tombstone", topic="dlq", at=NOW)
    assert (letter.key, letter.value) == (b"", None)


def test_a_long_detail_is_cut_at_the_one_limit() -> None:
    letter = dead_letter(record(b"x", 1), reason="schema", detail="e" * 5000, topic="dlq", at=NOW)
    assert dict(letter.headers)["x-dlq-error"] == b"e" * DETAIL_MAX_CHARS
