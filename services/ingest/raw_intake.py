"""Kafka intake: raw records from portals to canonical events, or to the DLQ with the reason.

A raw record is one canonical event, or an upstream payload (`core.raw_records`: headers name its format and
source) translated by the same adapters as the HTTP API. A dead letter keeps the original bytes, except for a
record holding personal data: then it keeps a redacted copy (or nothing) and says so in `x-dlq-redacted`.

Offsets are committed only after Kafka acknowledged every outcome of a batch (events and dead letters), so a
crash replays the batch (event ids make that safe). A record that cannot be classified is a dead letter, never
an exception: one bad record cannot stop or slow the consumer. When Kafka cannot acknowledge, the batch is
rewound and retried after a backoff.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Final, Protocol

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from pydantic import WithJsonSchema

from services.ingest.core.adapters import ADAPTERS, Adapter, AdapterContext
from services.ingest.core.raw_records import (
    FORMAT_HEADER,
    REDACTED_HEADER,
    classify_upstream,
    dead_letter_value,
    header,
)
from services.ingest.core.validation import Rejection, classify_record
from services.ingest.settings import IngestSettings
from services.ingest.telemetry import UNKNOWN, IngestMetrics
from shared.dead_letters import dead_letter
from shared.events import Event
from shared.producer import OutgoingRecord, RecordSink, event_records
from shared.retry import Backoff, RetryPolicy

log = logging.getLogger(__name__)
RawRecord = Annotated[
    bytes,
    WithJsonSchema(
        {"type": "string", "contentMediaType": "application/json",
         "description": "One canonical event as JSON (the schema of the events channel), or with headers "
         "x-upstream-format (dvcqg, emc) and x-upstream-source an upstream payload; anything else, including "
         "records over the size limit, goes to the DLQ (personal data redacted)."}
    ),
]  # fmt: skip
"""A raw record's bytes, documented (AsyncAPI) as what portals should send."""
RETRY: Final = RetryPolicy(base_s=0.5, cap_s=10.0)
"""Pause before a batch Kafka did not acknowledge is consumed again: doubling from 0.5 s up to 10 s."""


class ConsumedBatch(Protocol):
    """What the intake needs of a consumed message: its records, and committing or rewinding them."""

    raw_message: Any

    async def ack(self) -> None:
        """Commit the batch's offsets."""
        ...

    async def nack(self) -> None:
        """Rewind to the batch's first offsets, so it is consumed again."""
        ...


@dataclasses.dataclass
class Routed:
    """A raw batch sorted out: what to produce, the valid events among it, the reasons of the dead letters."""

    outgoing: list[OutgoingRecord] = dataclasses.field(default_factory=list)
    events: list[Event] = dataclasses.field(default_factory=list)
    reasons: list[str] = dataclasses.field(default_factory=list)


class RawIntake:
    """Routes each raw record to the events topic or the DLQ and waits until Kafka acknowledged all of them."""

    def __init__(
        self,
        *,
        settings: IngestSettings,
        publisher: RecordSink,
        metrics: IngestMetrics,
        clock: Callable[[], datetime],
        adapters: Mapping[str, Adapter] = ADAPTERS,
        adapter_context: AdapterContext | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._adapters = adapters
        self._adapter_context = adapter_context or AdapterContext.from_mapping({})
        self._publisher = publisher
        self._metrics = metrics
        self._clock = clock
        self._sleep = sleep
        self._backoff = Backoff(RETRY)

    def route(self, records: Sequence[ConsumerRecord[Any, Any]]) -> Routed:
        """The records to produce, in consumption order (so per-key order holds), with what they are."""
        settings, now = self._settings, self._clock()
        routed = Routed()
        for record in records:
            fmt = header(record.headers, FORMAT_HEADER)
            try:
                outcome = self._classify(record, upstream=fmt is not None, now=now)
            except Exception as exc:  # a bug must cost one dead letter, not the consumer
                # The exception's type only: its text or traceback could quote a payload's personal data.
                log.error("raw record could not be classified", extra={"error": type(exc).__name__})  # noqa: TRY400
                outcome = Rejection("unprocessable", f"internal error: {type(exc).__name__}")
            if isinstance(outcome, Rejection):
                log.warning(
                    "raw record dead-lettered",
                    extra={"reason": outcome.reason, "topic": record.topic, "partition": record.partition,
                           "offset": record.offset},
                )  # fmt: skip
                routed.outgoing.append(self._dead_letter(record, outcome, fmt=fmt, now=now))
                routed.reasons.append(outcome.reason)
            else:
                routed.events.extend(outcome)
                routed.outgoing.extend(event_records(outcome, topic=settings.topic_events))
        return routed

    def _classify(self, record: ConsumerRecord[Any, Any], *, upstream: bool, now: datetime) -> list[Event] | Rejection:
        max_bytes, tolerance = self._settings.ingest_max_record_bytes, self._settings.ingest_future_tolerance
        if upstream:
            return classify_upstream(
                record.value, record.headers, adapters=self._adapters, context=self._adapter_context,
                max_bytes=max_bytes, now=now, future_tolerance=tolerance,
            )  # fmt: skip
        outcome = classify_record(record.value, max_bytes=max_bytes, now=now, future_tolerance=tolerance)
        return outcome if isinstance(outcome, Rejection) else [outcome]

    def _dead_letter(
        self, record: ConsumerRecord[Any, Any], rejection: Rejection, *, fmt: str | None, now: datetime
    ) -> OutgoingRecord:
        value, note = dead_letter_value(record.value, fmt=fmt)
        kept = dataclasses.replace(record, value=value) if note else record
        letter = dead_letter(
            kept, reason=rejection.reason, detail=rejection.detail, topic=self._settings.topic_dlq, at=now
        )
        if note is None:
            return letter
        headers = [(name, value) for name, value in letter.headers if name != REDACTED_HEADER]
        return dataclasses.replace(letter, headers=[*headers, (REDACTED_HEADER, note.encode())])

    async def handle(self, message: ConsumedBatch) -> None:
        """Produce every outcome, then commit; on failure rewind the batch and retry it after a backoff."""
        records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
        routed = self.route(records)
        try:
            await self._publisher.send_all(routed.outgoing)
        except Exception as exc:  # Kafka trouble (or a bug): never commit what is not durable
            delay = self._backoff.failed()
            log.warning(
                "raw batch not acknowledged; rewinding",
                extra={"records": len(records), "in_s": delay, "error": repr(exc)},
            )
            await self._sleep(delay)
            await message.nack()
            return
        self._backoff.succeeded()
        await message.ack()
        self._metrics.batch_size.labels("raw").observe(len(records))
        self._metrics.count_accepted(routed.events, intake="raw")
        for reason, count in collections.Counter(routed.reasons).items():
            self._metrics.count_rejected(count, source=UNKNOWN, intake="raw", reason=reason)


async def _parse_untouched(records: tuple[ConsumerRecord[Any, Any], ...], original: Any) -> StreamMessage[Any]:
    # FastStream decodes header values as UTF-8 and may decode bodies by content type; either would make a
    # malformed record an exception. It parses header-less copies; the handler gets the records as consumed.
    message: StreamMessage[Any] = await original(tuple(dataclasses.replace(r, headers=[]) for r in records))
    message.raw_message = records
    return message


async def _values(message: StreamMessage[Any]) -> list[bytes]:
    return [record.value or b"" for record in message.raw_message]


def register_raw_intake(broker: KafkaBroker, intake: RawIntake, *, settings: IngestSettings) -> None:
    """Subscribe the intake to the raw topic (manual acknowledgement: commit after the outcome is durable)."""

    @broker.subscriber(
        settings.topic_raw, group_id=settings.ingest_group_id, auto_offset_reset="earliest", batch=True,
        max_records=settings.ingest_raw_batch_records, ack_policy=AckPolicy.MANUAL, parser=_parse_untouched,
        decoder=_values,
        title="raw-intake", description="Raw records from portals; valid ones to the events topic, others to the DLQ.",
    )  # fmt: skip
    async def raw_intake(records: list[RawRecord], message: KafkaMessage) -> None:
        await intake.handle(message)
