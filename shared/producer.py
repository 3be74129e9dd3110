"""Produce records and wait until Kafka acknowledged every one of them; Kafka trouble becomes `KafkaUnavailable`.

Through the FastStream broker's public API: the records of each partition go out with `broker.publish_batch`
(each record a `KafkaResponse` carrying its own key; `partition=` chosen from the key by Kafka's default murmur2
partitioner, shared/partitioning.py, so a key lands where `send` would put it), `no_confirm=True`, and the
returned futures are awaited together. A batch that outgrows the producer's `max_batch_size` raises
`BatchBufferOverflowException` at the first record that did not fit: that prefix goes out, the rest follows in
the next batch. Partition counts come from Kafka through aiokafka's admin client (`TopicPartitions`), asked once
per topic and kept for 5 minutes (aiokafka's own metadata age). A broker from
`shared.kafka.create_broker` adds no header of its own (no `correlation_id`, no `content-type`).

Measured on the dev machine (acks=all, then idempotent, ~330-byte records, 6 partitions): `publish_batch` per
partition is the fastest public way, ~150k records/s for 1,000-record calls against ~60k/s for
`broker.publish(..., no_confirm=True)` per record. Against the private aiokafka `create_batch`/`send_batch` this
module used before, through the ingest service (bench/ingest.py, the two side by side): 0.95x at 1,000-event
requests, 0.85x at 100 (FastStream spends ~25 us per `publish_batch` call and ~1 us per record), 0.95x at 1.

What FastStream's API cannot carry: header values are text (written as UTF-8) and a header name appears once
per record. A header value that is not UTF-8 is written with its bad bytes escaped (`\\xff`), a repeated name
keeps its last value. Headers are per publish call, so records with different headers go in separate batches
(only dead letters have headers). A record whose value is None is written with an empty value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any, Protocol

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError, for_code
from aiokafka.structs import RecordMetadata
from faststream.exceptions import IncorrectState
from faststream.kafka import KafkaBroker, KafkaResponse
from faststream.kafka.exceptions import BatchBufferOverflowException

from shared.events import Event
from shared.partitioning import partition_for
from shared.settings import KafkaSettings

PARTITIONS_MAX_AGE_S = 300.0


class KafkaUnavailable(RuntimeError):  # noqa: N818 (the name the design uses)
    """Kafka did not acknowledge every record in time; the caller may retry (event ids make retries safe)."""


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    """One record to produce."""

    topic: str
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] = ()


class RecordSink(Protocol):
    """Where records go: returns once all are durable, else raises KafkaUnavailable."""

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Produce every record in order and wait until all are acknowledged."""
        ...


class PartitionSource(Protocol):
    """How many partitions a topic has."""

    async def partition_count(self, topic: str) -> int:
        """The topic's partition count; raises KafkaError (or KafkaUnavailable) when it cannot be known."""
        ...


def event_records(events: Sequence[Event], *, topic: str) -> list[OutgoingRecord]:
    """Canonical events as records keyed by entity id (dossier, feedback, unit/procedure).

    The bytes are `dump_event`'s; each model's own serializer writes them twice as fast as the union adapter
    `dump_event` goes through (tests/unit/test_ingest_intake.py checks they agree).
    """
    return [OutgoingRecord(topic, e.key.encode(), e.__pydantic_serializer__.to_json(e)) for e in events]


class TopicPartitions:
    """Partition counts asked of Kafka through a short-lived aiokafka admin client (public API), kept `max_age_s`.

    Asked once per topic every 5 minutes, so a client per question costs a connection now and then and leaves
    nothing to start or close with the service.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        max_age_s: float = PARTITIONS_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._options = {**settings.aiokafka_options(), "client_id": f"{settings.kafka_client_id}-partitions"}
        self._max_age_s = max_age_s
        self._clock = clock
        self._known: dict[str, tuple[int, float]] = {}

    async def partition_count(self, topic: str) -> int:
        """The topic's partition count, from the cache while it is fresh."""
        known = self._known.get(topic)
        if known is not None and self._clock() - known[1] < self._max_age_s:
            return known[0]
        admin = AIOKafkaAdminClient(**self._options)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        if described["error_code"]:
            raise for_code(described["error_code"])(f"topic {topic!r}")
        count = len(described["partitions"])
        self._known[topic] = (count, self._clock())
        return count


class RecordProducer:
    """Sends records through a broker's public publish API and returns only once all are acknowledged (acks=all)."""

    def __init__(self, broker: KafkaBroker, *, timeout_s: float, partitions: PartitionSource) -> None:
        self._broker = broker
        self._timeout_s = timeout_s
        self._partitions = partitions

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Produce in order (per partition) and wait for every acknowledgement, or raise KafkaUnavailable."""
        if not records:
            return
        futures: list[asyncio.Future[RecordMetadata]] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                for (topic, partition), group in (await self._by_partition(records)).items():
                    for headers, run in groupby(group, key=lambda record: record.headers):
                        await self._publish(topic, partition, list(run), _text_headers(headers), futures)
                await asyncio.gather(*futures)
        except (KafkaError, TimeoutError, IncorrectState, KafkaUnavailable) as exc:
            for future in futures:  # nobody waits for these any more: keep their errors out of the loop's log
                future.add_done_callback(_consume_exception)
            if isinstance(exc, KafkaUnavailable):
                raise
            raise KafkaUnavailable(f"Kafka did not acknowledge {len(records)} record(s): {exc!r}") from exc

    async def _by_partition(self, records: Sequence[OutgoingRecord]) -> dict[tuple[str, int], list[OutgoingRecord]]:
        counts: dict[str, int] = {}
        groups: dict[tuple[str, int], list[OutgoingRecord]] = {}
        for record in records:
            topic = record.topic
            count = counts.get(topic)
            if count is None:
                count = counts[topic] = await self._partitions.partition_count(topic)
            groups.setdefault((topic, partition_for(record.key, partitions=count)), []).append(record)
        return groups

    async def _publish(
        self,
        topic: str,
        partition: int,
        records: list[OutgoingRecord],
        headers: dict[str, str],
        futures: list[asyncio.Future[RecordMetadata]],
    ) -> None:
        """Queue the records in as few producer batches as fit, adding each batch's delivery future.

        After the first overflow, later calls offer about one producer batch at a time: FastStream encodes every
        message it is given before it finds the batch full, so offering the whole rest again each time would
        cost the square of the records (a snapshot refresh sends tens of thousands to one partition).
        """
        # FastStream unwraps KafkaResponse bodies only when some message of the batch has a key.
        messages = [KafkaResponse(r.value, key=r.key) if r.key is not None else r.value for r in records]
        start, chunk = 0, len(messages)
        while start < len(messages):
            offered = messages[start : start + chunk]
            try:
                futures.append(await self._publish_batch(topic, partition, offered, headers))
            except BatchBufferOverflowException as overflow:
                fits = overflow.message_position
                if fits == 0:  # an empty batch takes any record up to the producer's max_request_size
                    size = len(records[start].value or b"")
                    raise KafkaUnavailable(f"a record of {size} bytes does not fit a producer batch") from None
                futures.append(await self._publish_batch(topic, partition, offered[:fits], headers))
                start, chunk = start + fits, fits
            else:
                start += len(offered)

    async def _publish_batch(
        self, topic: str, partition: int, messages: list[KafkaResponse | bytes | None], headers: dict[str, str]
    ) -> asyncio.Future[RecordMetadata]:
        return await self._broker.publish_batch(
            *messages, topic=topic, partition=partition, headers=headers, no_confirm=True
        )


def _text_headers(headers: Sequence[tuple[str, bytes]]) -> dict[str, str]:
    return {name: value.decode("utf-8", "backslashreplace") for name, value in headers}


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
