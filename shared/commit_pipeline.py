"""Batches written concurrently, committed in order: the pipeline of a manual-ack batch subscriber.

A handler hands each batch to `CommitPipeline.submit` with the coroutine that makes it durable, and returns: the
next batch is fetched and prepared while this one's PostgreSQL transaction runs. Up to `depth` batches are in
flight at once. A committer commits their offsets to Kafka in the order they were delivered, each batch only once
it and every batch before it are durable. A failed batch rewinds the consumer to it and to every later batch not
committed: they are delivered again and, their effects idempotent (event ids), counted once.

The pure part, which offsets may be committed after a rewind, is `CommitLedger`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from shared.retry import Backoff

log = logging.getLogger(__name__)

Offsets = Mapping[TopicPartition, tuple[int, int]]
"""A batch's first and last offset per partition."""
REVOKE_WAIT_S = 60.0
"""Longest wait, when partitions are revoked, for the batches in flight to land and be committed."""


def offsets_of(records: Sequence[ConsumerRecord[Any, Any]]) -> dict[TopicPartition, tuple[int, int]]:
    """The first and last offset of a batch's records per partition."""
    out: dict[TopicPartition, tuple[int, int]] = {}
    for record in records:
        partition = TopicPartition(record.topic, record.partition)
        seen = out.get(partition)
        out[partition] = (record.offset, record.offset) if seen is None else (
            min(seen[0], record.offset), max(seen[1], record.offset))  # fmt: skip
    return out


class CommitLedger:
    """Which offsets of a durable batch may be committed, given the rewinds so far.

    After a rewind of a partition to offset `o` (a record's offset), a batch fetched before the seek may still
    arrive and be written: its offsets on that partition are past `o` and must not be committed, or a crash
    before the rewound records land would lose them. The partition is held until a batch holding `o` itself
    (delivered again) is durable.
    """

    def __init__(self) -> None:
        self._held: dict[TopicPartition, int] = {}

    def hold(self, earliest: Mapping[TopicPartition, int]) -> None:
        """Partitions rewound to these offsets: commit nothing of them until that offset is durable again."""
        for partition, offset in earliest.items():
            self._held[partition] = min(offset, self._held.get(partition, offset))

    def committable(self, offsets: Offsets) -> dict[TopicPartition, int]:
        """The offsets to commit for a durable batch (every batch delivered before it durable too)."""
        out: dict[TopicPartition, int] = {}
        for partition, (first, last) in offsets.items():
            held = self._held.get(partition)
            if held is not None:
                if not first <= held <= last:
                    continue  # fetched before the rewind: its records come again
                del self._held[partition]
            out[partition] = last + 1
        return out

    def forget(self, partitions: Iterable[TopicPartition]) -> None:
        """Partitions revoked or assigned anew: their next records start from the committed offsets."""
        for partition in partitions:
            self._held.pop(partition, None)


@dataclass(frozen=True, slots=True)
class _Batch:
    offsets: Offsets
    written: asyncio.Task[None]
    consumer: Any  # aiokafka's AIOKafkaConsumer (FastStream's message.consumer)


class CommitPipeline(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no type hints
    """Up to `depth` batches written at once, their offsets committed in delivery order.

    Pass it as the subscriber's rebalance `listener`: batches in flight land and are committed before their
    partitions go to another consumer. Start `run` beside the broker and `close` it before the broker stops.
    """

    def __init__(self, *, depth: int, backoff: Backoff, name: str) -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self.depth = depth
        self.name = name
        self.ledger = CommitLedger()
        self._backoff = backoff
        self._slots = asyncio.Semaphore(depth)
        self._batches: deque[_Batch] = deque()
        self._arrived = asyncio.Event()
        self._settled = asyncio.Event()
        self._settled.set()
        self._rewinding: dict[TopicPartition, int] | None = None
        self._resumed = asyncio.Event()
        self._closing = False

    @property
    def in_flight(self) -> int:
        """Batches handed over and not yet committed (or rewound)."""
        return len(self._batches)

    async def submit(self, message: Any, write: Callable[[], Awaitable[None]]) -> None:
        """Start writing a delivered batch (FastStream's KafkaMessage of a batch subscriber) once a slot is free.

        While a failed batch is being rewound, the batch is not written: it was fetched before the seek, which
        includes its offsets (it comes again).
        """
        records: tuple[ConsumerRecord[Any, Any], ...] = message.raw_message
        offsets = offsets_of(records)
        if not offsets:
            return
        if self._closing:
            await asyncio.Event().wait()  # cancelled as the broker stops; not committed, delivered again later
        if self._rewinding is None:
            await self._slots.acquire()
            if self._rewinding is None and not self._closing:
                self._batches.append(_Batch(offsets, asyncio.create_task(_call(write)), message.consumer))
                self._settled.clear()
                self._arrived.set()
                return
            self._slots.release()
        if self._rewinding is not None:
            for partition, (first, _) in offsets.items():
                self._rewinding[partition] = min(first, self._rewinding.get(partition, first))
            await self._resumed.wait()

    async def run(self) -> None:
        """Commit batches as they land, in order; rewind at a failure. Runs until cancelled."""
        while True:
            if not self._batches:
                self._settled.set()
                self._arrived.clear()
                await self._arrived.wait()
                continue
            batch = self._batches[0]
            try:
                await asyncio.shield(batch.written)
            except asyncio.CancelledError:
                raise
            except Exception:
                await self._rewind()
                continue
            self._batches.popleft()
            self._slots.release()
            await self._commit(batch)
            self._backoff.succeeded()

    async def close(self, *, timeout_s: float = 30.0) -> None:
        """Take no more batches; wait (up to `timeout_s`) for those in flight to land and be committed."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout_s)
        for batch in self._batches:
            batch.written.cancel()  # rolled back: delivered again after the restart
        for batch in list(self._batches):
            with contextlib.suppress(BaseException):
                await batch.written

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Let the batches in flight land and be committed before another consumer takes their partitions."""
        if self._batches:
            try:
                await asyncio.wait_for(self._settled.wait(), REVOKE_WAIT_S)
            except TimeoutError:
                log.warning("%s: batches still in flight at a rebalance; the next owner reads them again", self.name)
        self.ledger.forget(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.ledger.forget(assigned)

    async def _commit(self, batch: _Batch) -> None:
        offsets = self.ledger.committable(batch.offsets)
        assigned = batch.consumer.assignment()
        offsets = {partition: offset for partition, offset in offsets.items() if partition in assigned}
        if not offsets:
            return
        try:
            await batch.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # Durable all the same: whoever reads these records again finds their ids and counts nothing twice.
            log.warning("%s: offsets not committed (%s); those records will be read again", self.name, exc)
        except Exception:  # never the end of the committer: the consumer would stall with every slot taken
            log.exception("%s: offsets not committed; those records will be read again", self.name)

    async def _rewind(self) -> None:
        rewinding: dict[TopicPartition, int] = {}
        self._rewinding = rewinding
        delay = self._backoff.failed()
        failed = self._batches[0].written.exception()
        log.warning("%s: batch failed; it and %d after it are read again in %.1fs", self.name,
                    len(self._batches) - 1, delay, exc_info=failed)  # fmt: skip
        for batch in list(self._batches):  # the later ones finish first (what they wrote is found again by id)
            with contextlib.suppress(Exception):
                await asyncio.shield(batch.written)
        await asyncio.sleep(delay)
        consumer = self._batches[0].consumer
        for batch in self._batches:
            for partition, (first, _) in batch.offsets.items():
                rewinding[partition] = min(first, rewinding.get(partition, first))
        assigned = consumer.assignment()
        earliest = {partition: offset for partition, offset in rewinding.items() if partition in assigned}
        for partition, offset in earliest.items():
            consumer.seek(partition, offset)
        self.ledger.hold(earliest)
        for _ in self._batches:
            self._slots.release()
        self._batches.clear()
        self._rewinding = None
        self._resumed.set()
        self._resumed.clear()


async def _call(write: Callable[[], Awaitable[None]]) -> None:
    await write()
