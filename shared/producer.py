"""Produce records and wait until Kafka acknowledged every one of them; Kafka trouble becomes `KafkaUnavailable`.

How, measured on the dev machine (acks=all, idempotent, 1,000 records of ~330 bytes per call):
FastStream `broker.publish(..., no_confirm=True)` per record + gather: ~25k records/s; aiokafka `send` per
record + gather: ~100k/s; `broker.publish_batch`: puts the whole batch on one partition (breaking per-key
order) and overflows at the producer's batch size; aiokafka `create_batch` + `send_batch` per partition, with
the partition chosen from the key by the producer's default (murmur2) partitioner: ~220k/s. We use the last,
on the aiokafka producer that the FastStream broker owns and started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from faststream.exceptions import IncorrectState
from faststream.kafka import KafkaBroker

from shared.events import Event


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


def event_records(events: Sequence[Event], *, topic: str) -> list[OutgoingRecord]:
    """Canonical events as records keyed by entity id (dossier, feedback, unit/procedure).

    The bytes are `dump_event`'s; each model's own serializer writes them twice as fast as the union adapter
    `dump_event` goes through (tests/unit/test_ingest_intake.py checks they agree).
    """
    return [OutgoingRecord(topic, e.key.encode(), e.__pydantic_serializer__.to_json(e)) for e in events]


def broker_producer(broker: KafkaBroker) -> Any:
    """The started aiokafka producer inside a FastStream broker (FastStream has no public accessor for it)."""
    try:
        return broker.config.producer._producer.producer  # type: ignore[attr-defined]
    except (AttributeError, IncorrectState) as exc:
        raise KafkaUnavailable("the Kafka producer is not started") from exc


class RecordProducer:
    """Sends records through a broker's producer and returns only once all are acknowledged (acks=all)."""

    def __init__(self, broker: KafkaBroker, *, timeout_s: float) -> None:
        self._broker = broker
        self._timeout_s = timeout_s
        self._partitioner = DefaultPartitioner()  # what the producer itself uses: same key, same partition

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Produce in order (per partition) and wait for every acknowledgement, or raise KafkaUnavailable."""
        if not records:
            return
        producer = broker_producer(self._broker)
        futures: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(self._timeout_s):
                for (topic, partition), group in (await self._by_partition(producer, records)).items():
                    futures.extend(await _send_batches(producer, topic, partition, group))
                await asyncio.gather(*futures)
        except (KafkaError, TimeoutError) as exc:
            for future in futures:  # nobody waits for these any more: keep their errors out of the loop's log
                future.add_done_callback(_consume_exception)
            raise KafkaUnavailable(f"Kafka did not acknowledge {len(records)} record(s): {exc!r}") from exc

    async def _by_partition(
        self, producer: Any, records: Sequence[OutgoingRecord]
    ) -> dict[tuple[str, int], list[OutgoingRecord]]:
        partitions: dict[str, list[int]] = {}
        groups: dict[tuple[str, int], list[OutgoingRecord]] = {}
        for record in records:
            if record.topic not in partitions:
                partitions[record.topic] = sorted(await producer.partitions_for(record.topic))
            known = partitions[record.topic]
            groups.setdefault((record.topic, self._partitioner(record.key, known, known)), []).append(record)
        return groups


async def _send_batches(producer: Any, topic: str, partition: int, records: list[OutgoingRecord]) -> list[Any]:
    """Queue the records in as few producer batches as fit; the delivery future of each batch."""
    futures = []
    batch = producer.create_batch()
    for record in records:
        headers = list(record.headers)
        if batch.append(key=record.key, value=record.value, timestamp=None, headers=headers) is None:
            batch.close()
            futures.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            # An empty batch takes any record up to the producer's max_request_size.
            if batch.append(key=record.key, value=record.value, timestamp=None, headers=headers) is None:
                raise KafkaUnavailable(f"a record of {len(record.value or b'')} bytes does not fit a producer batch")
    batch.close()
    futures.append(await producer.send_batch(batch, topic, partition=partition))
    return futures


def _consume_exception(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()
