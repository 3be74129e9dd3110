"""Durations as people write them in rule files: `90s`, `15m`, `24h`, `1h30m`, `7d`, or plain seconds."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """`15m` → 15 minutes; a number is seconds; a timedelta passes through.

    Wrong types raise ValueError too: pydantic turns only ValueError into a validation error.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 15m, 24h, 1h30m")  # noqa: TRY004
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = list(_PART.finditer(text))
        if not text or "".join(p.group(0) for p in parts) != text:
            raise ValueError(f"invalid duration {value!r}: write it like 90s, 15m, 24h or 1h30m")
        seconds = sum(float(p.group(1)) * _UNITS[p.group(2)] for p in parts)
    else:
        raise ValueError("a duration is a number of seconds or a string like 15m, 24h, 1h30m")  # noqa: TRY004
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # past timedelta's ~2.7 million years: a caller's error, not ours
        raise ValueError(f"duration {value!r} is too long") from None


def format_duration(value: timedelta) -> str:
    """The shortest `1h30m`-style spelling of a duration (`0s` for zero)."""
    remaining = round(value.total_seconds())
    parts = []
    for suffix, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, remaining = divmod(remaining, size)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    # Documented as what it accepts, not as ISO 8601 (pydantic's default for timedelta).
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "description": "e.g. 90s, 15m, 24h, 1h30m, 7d", "examples": ["15m", "1h30m", "7d"]},
                {"type": "number", "minimum": 0, "description": "seconds"},
            ]
        }
    ),
]
"""A timedelta field read from `15m`-style strings and written back the same way."""
