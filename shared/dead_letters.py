"""Dead letters: the original record's key, bytes and headers untouched, plus headers saying why, from where and when.

One builder for every service. The headers added, all UTF-8 text:

| header | value |
|---|---|
| `x-dlq-reason` | a short reason code (`not_json`, `schema`, `invalid_event`, ...) |
| `x-dlq-error` | the human-readable detail, cut at `DETAIL_MAX_CHARS` characters |
| `x-source-topic`, `x-source-partition`, `x-source-offset` | where the original record was consumed |
| `x-dlq-at` | when it was dead-lettered, ISO 8601 |

Original headers named `x-dlq-*` or `x-source-*` are dropped, so a record cannot forge where it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord

from shared.producer import OutgoingRecord

DETAIL_MAX_CHARS = 2000
OUR_PREFIXES = ("x-dlq-", "x-source-")


def dead_letter(
    record: ConsumerRecord[Any, Any], *, reason: str, detail: str, topic: str, at: datetime
) -> OutgoingRecord:
    """The DLQ record for a consumed `record`: its key, value and headers, plus ours."""
    kept = [(name, bytes(value or b"")) for name, value in record.headers if not name.startswith(OUR_PREFIXES)]
    ours = {
        "x-dlq-reason": reason,
        "x-dlq-error": detail[:DETAIL_MAX_CHARS],
        "x-source-topic": record.topic,
        "x-source-partition": str(record.partition),
        "x-source-offset": str(record.offset),
        "x-dlq-at": at.isoformat(),
    }
    key = record.key if record.key is not None or record.value is not None else b""  # Kafka needs key or value
    return OutgoingRecord(topic, key, record.value, [*kept, *((name, value.encode()) for name, value in ours.items())])
