"""What the metrics consumer dead-letters: unparsable records and events older than bucket retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord

from services.metrics.consumer import parse_batch
from shared.events import dump_event
from tests.support.factories import received

pytestmark = pytest.mark.unit
NOW = datetime(2026, 5, 10, tzinfo=UTC)


def record(value: bytes, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic="civicpulse.events", partition=2, offset=offset, timestamp=0, timestamp_type=0,
                          key=b"k", value=value, checksum=None, serialized_key_size=1,
                          serialized_value_size=len(value), headers=[])  # fmt: skip


def test_bad_and_too_old_records_are_dead_lettered_with_reasons_and_the_rest_counted() -> None:
    good = received(unit="HD.CG.01", at=NOW)
    too_old = received(unit="HD.CG.01", at=NOW - timedelta(days=500))
    batch = [record(b"not json", 10), record(dump_event(good), 11), record(dump_event(too_old), 12),
             record(b'{"type": "dossier.received"}', 13)]  # fmt: skip
    parsed = parse_batch(batch, oldest=NOW - timedelta(days=400), dlq_topic="civicpulse.events.dlq", at=NOW)
    assert parsed.events == [good]
    headers = [{name: value.decode() for name, value in d.headers} for d in parsed.dead]
    assert [(int(h["x-source-offset"]), h["x-dlq-reason"]) for h in headers] == [
        (10, "invalid_event"), (12, "older_than_retention"), (13, "invalid_event")]  # fmt: skip
    assert parsed.reasons == ["invalid_event", "older_than_retention", "invalid_event"]
    assert headers[0]["x-source-topic"] == "civicpulse.events"
    assert (headers[0]["x-source-partition"], headers[0]["x-source-offset"]) == ("2", "10")
    assert (parsed.dead[0].topic, parsed.dead[0].key) == ("civicpulse.events.dlq", b"k")
    assert parsed.dead[0].value == b"not json"  # original bytes, untouched
    assert "event_id" in headers[2]["x-dlq-error"]
