"""Dead letters: the original record's bytes untouched, with headers saying why, from where and when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that could not be processed and the reason."""

    value: bytes
    key: bytes | None
    reason: str
    detail: str
    topic: str
    partition: int
    offset: int
    at: datetime

    @classmethod
    def of(cls, record: ConsumerRecord[Any, Any], *, reason: str, detail: str) -> DeadLetter:
        """Wrap a consumed record."""
        return cls(
            value=record.value or b"", key=record.key, reason=reason, detail=detail[:2000], topic=record.topic,
            partition=record.partition, offset=record.offset, at=datetime.now(UTC),
        )  # fmt: skip


def dead_letter_headers(letter: DeadLetter) -> dict[str, str]:
    """Headers of the DLQ record."""
    return {
        "x-dlq-reason": letter.reason,
        "x-dlq-error": letter.detail,
        "x-source-topic": letter.topic,
        "x-source-partition": str(letter.partition),
        "x-source-offset": str(letter.offset),
        "x-dlq-at": letter.at.isoformat(),
    }
