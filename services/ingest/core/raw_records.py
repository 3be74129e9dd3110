"""Raw-topic records in an upstream format, and what a dead letter may keep of any raw record. Pure.

A raw record is an upstream payload when its headers name the format (`x-upstream-format: dvcqg|emc`) and the
source (`x-upstream-source`); `x-upstream-sender-unit` plays the portal's `MaDinhDanhDV`. The raw topic has
no credentials: whoever may produce to it may name any source, as with canonical records. Without the format
header a record is one canonical event, as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import orjson

from services.ingest.core.adapters import Adapter, AdapterContext, AdapterError, Delivery, Problem, decode_form
from services.ingest.core.personal_data import names_personal_field, redact
from services.ingest.core.validation import Rejection, future_problems
from shared.events import Event

FORMAT_HEADER: Final = "x-upstream-format"
SOURCE_HEADER: Final = "x-upstream-source"
SENDER_UNIT_HEADER: Final = "x-upstream-sender-unit"
REDACTED_HEADER: Final = "x-dlq-redacted"


def header(headers: Sequence[tuple[str, bytes | None]], name: str) -> str | None:
    """The last value of a header as text, or None when absent or not UTF-8."""
    for key, value in reversed(headers):
        if key == name and value is not None:
            try:
                return value.decode("utf-8").strip() or None
            except UnicodeDecodeError:
                return None
    return None


def _problems_text(problems: list[Problem]) -> str:
    return "; ".join(f"record {p.index}: {'.'.join(map(str, p.path)) or 'body'}: {p.message}" for p in problems)


def decode_upstream(value: bytes, *, fmt: str) -> object:
    """A payload's JSON, or for EMC a form-encoded push; ValueError when it is neither."""
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        if fmt != "emc":
            raise ValueError("invalid JSON") from None
    try:
        return decode_form(value)
    except AdapterError:
        raise ValueError("neither JSON nor a form-encoded push") from None


def classify_upstream(  # noqa: PLR0911 (one return per reason)
    value: bytes | None,
    headers: Sequence[tuple[str, bytes | None]],
    *,
    adapters: Mapping[str, Adapter],
    context: AdapterContext,
    max_bytes: int,
    now: datetime,
    future_tolerance: timedelta,
) -> list[Event] | Rejection:
    """An upstream raw record as canonical events, or why not (a reason code and a detail without personal data)."""
    fmt = header(headers, FORMAT_HEADER) or ""
    if fmt not in adapters:
        return Rejection("unknown_format", f"{FORMAT_HEADER} {fmt!r} is not one of {', '.join(adapters)}")
    source = header(headers, SOURCE_HEADER)
    if source is None:
        return Rejection("missing_source", f"an upstream record needs the {SOURCE_HEADER} header")
    if value is None:
        return Rejection("not_json", "record has no value (tombstone)")
    if len(value) > max_bytes:
        return Rejection("oversized", f"{len(value)} bytes, more than {max_bytes}")
    try:
        payload = decode_upstream(value, fmt=fmt)
    except ValueError as exc:
        return Rejection("not_json", str(exc))
    delivery = Delivery(source=source, received_at=now, sender_unit=header(headers, SENDER_UNIT_HEADER))
    try:
        events = adapters[fmt].translate(payload, delivery=delivery, context=context)
    except AdapterError as exc:
        return Rejection("invalid_record", _problems_text(exc.problems))
    late = future_problems(enumerate(events), now=now, tolerance=future_tolerance)
    if late:
        return Rejection("future", late[0].message)
    return events


def dead_letter_value(value: bytes | None, *, fmt: str | None) -> tuple[bytes | None, str | None]:
    """What a dead letter keeps of a raw record's value, and a note when it is not the original bytes.

    A record holding personal data is kept as a redacted copy (JSON); one that cannot be parsed but names a
    personal field is kept as an empty value (not a tombstone: on a compacted topic that would mean "delete").
    """
    if value is None:
        return None, None
    try:
        document = decode_upstream(value, fmt=fmt or "")
    except ValueError:
        if names_personal_field(value):
            return b"", "value dropped: it cannot be parsed and names personal-data fields"
        return value, None
    redacted, count = redact(document)
    if count == 0:
        return value, None
    return orjson.dumps(redacted), f"{count} personal field value(s) replaced by [redacted]; original bytes not kept"
