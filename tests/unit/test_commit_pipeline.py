"""The commit pipeline: batches written at once, their offsets committed in delivery order, a failure rewinding the
failed batch and every one after it (a recording consumer stands in for aiokafka's: which offsets it is told to
commit and seek is the whole outcome)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition

from shared.commit_pipeline import CommitLedger, CommitPipeline, offsets_of
from shared.retry import Backoff, RetryPolicy

pytestmark = pytest.mark.unit
P0, P1 = TopicPartition("events", 0), TopicPartition("events", 1)


class RecordingConsumer:
    def __init__(self) -> None:
        self.commits: list[dict[TopicPartition, int]] = []
        self.seeks: list[tuple[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {P0, P1}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


class Message:
    def __init__(self, consumer: RecordingConsumer, *spans: tuple[TopicPartition, int, int]) -> None:
        self.consumer = consumer
        self.raw_message = tuple(
            ConsumerRecord(topic=p.topic, partition=p.partition, offset=o, timestamp=0, timestamp_type=0, key=None,
                           value=b"", checksum=None, serialized_key_size=0, serialized_value_size=0, headers=[])
            for p, first, last in spans for o in range(first, last + 1)
        )  # fmt: skip


def gate() -> tuple[asyncio.Event, Callable[[], Awaitable[None]]]:
    """A write that lands when its event is set."""
    opened = asyncio.Event()

    async def write() -> None:
        await opened.wait()

    return opened, write


def failing() -> Callable[[], Awaitable[None]]:
    async def write() -> None:
        raise RuntimeError("postgres went away")

    return write


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


@pytest.fixture
async def running() -> Any:
    pipeline = CommitPipeline(depth=2, backoff=Backoff(RetryPolicy.fixed(0.01)), name="test")
    task = asyncio.create_task(pipeline.run())
    yield pipeline
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def test_offsets_of_a_batch_are_its_first_and_last_per_partition() -> None:
    consumer = RecordingConsumer()
    assert offsets_of(Message(consumer, (P0, 5, 9), (P1, 3, 3)).raw_message) == {P0: (5, 9), P1: (3, 3)}


def test_a_rewound_partition_is_held_until_the_rewound_offset_lands_again() -> None:
    ledger = CommitLedger()
    ledger.hold({P0: 100})
    # fetched before the seek: past 100 on P0 (not committed), P1 untouched (committed)
    assert ledger.committable({P0: (200, 299), P1: (7, 9)}) == {P1: 10}
    assert ledger.committable({P0: (100, 199)}) == {P0: 200}
    assert ledger.committable({P0: (200, 299)}) == {P0: 300}
    ledger.hold({P1: 5})
    ledger.forget([P1])  # revoked: whoever owns it next starts from the committed offset
    assert ledger.committable({P1: (9, 9)}) == {P1: 10}


async def test_batches_landing_out_of_order_are_committed_in_delivery_order(running: CommitPipeline) -> None:
    consumer = RecordingConsumer()
    first, write_first = gate()
    second, write_second = gate()
    await running.submit(Message(consumer, (P0, 0, 9)), write_first)
    await running.submit(Message(consumer, (P0, 10, 19), (P1, 0, 4)), write_second)
    second.set()
    await settle()
    assert consumer.commits == []  # the later batch is durable, the earlier one not yet: nothing is committed
    assert running.in_flight == 2
    first.set()
    await settle()
    assert consumer.commits == [{P0: 10}, {P0: 20, P1: 5}]
    assert running.in_flight == 0


async def test_a_third_batch_waits_for_a_slot(running: CommitPipeline) -> None:
    consumer = RecordingConsumer()
    gates = [gate() for _ in range(3)]
    for n, (_, write) in enumerate(gates[:2]):
        await running.submit(Message(consumer, (P0, n * 10, n * 10 + 9)), write)
    third = asyncio.create_task(running.submit(Message(consumer, (P0, 20, 29)), gates[2][1]))
    await settle()
    assert not third.done()
    gates[0][0].set()
    await settle()
    assert third.done()
    assert consumer.commits == [{P0: 10}]


async def test_a_failed_batch_rewinds_it_and_the_later_ones_and_commits_none_of_them(running: CommitPipeline) -> None:
    consumer = RecordingConsumer()
    later, write_later = gate()
    await running.submit(Message(consumer, (P0, 0, 9)), failing())
    await running.submit(Message(consumer, (P0, 10, 19), (P1, 30, 39)), write_later)
    later.set()  # it lands, yet it follows a failed batch
    wrote: list[str] = []

    async def never() -> None:
        wrote.append("stale")

    # delivered while the failure is being rewound (fetched before the seek): not written, rewound with the others
    stale = asyncio.create_task(running.submit(Message(consumer, (P1, 40, 49)), never))
    await asyncio.sleep(0.1)
    assert stale.done()
    assert wrote == []
    assert consumer.commits == []
    assert sorted(consumer.seeks) == [(P0, 0), (P1, 30)]
    redelivered, write_again = gate()
    redelivered.set()
    await running.submit(Message(consumer, (P0, 0, 19), (P1, 30, 49)), write_again)
    await settle()
    assert consumer.commits == [{P0: 20, P1: 50}]


async def test_a_batch_fetched_before_the_seek_is_written_but_not_committed_past_it(running: CommitPipeline) -> None:
    consumer = RecordingConsumer()
    await running.submit(Message(consumer, (P0, 0, 9)), failing())
    await asyncio.sleep(0.1)
    assert consumer.seeks == [(P0, 0)]
    landed, write = gate()
    landed.set()
    # records P0 20-29 reached the handler after the seek though fetched before it; P1 was never rewound
    await running.submit(Message(consumer, (P0, 20, 29), (P1, 0, 4)), write)
    await settle()
    assert consumer.commits == [{P1: 5}]
    again, write_again = gate()
    again.set()
    await running.submit(Message(consumer, (P0, 0, 29)), write_again)
    await settle()
    assert consumer.commits == [{P1: 5}, {P0: 30}]


async def test_close_lets_the_batches_in_flight_land_and_be_committed(running: CommitPipeline) -> None:
    consumer = RecordingConsumer()
    landed, write = gate()
    await running.submit(Message(consumer, (P1, 0, 9)), write)
    closing = asyncio.create_task(running.close(timeout_s=5))
    await settle()
    assert not closing.done()
    landed.set()
    await closing
    assert consumer.commits == [{P1: 10}]


async def test_a_commit_that_fails_neither_stops_the_committer_nor_loses_the_next_commit(
    running: CommitPipeline,
) -> None:
    consumer = RecordingConsumer()
    refused = 0
    commit = consumer.commit

    async def flaky(offsets: dict[TopicPartition, int]) -> None:
        nonlocal refused
        if not refused:
            refused += 1
            raise RuntimeError("coordinator moved")
        await commit(offsets)

    consumer.commit = flaky  # type: ignore[method-assign]
    for n in range(2):
        landed, write = gate()
        landed.set()
        await running.submit(Message(consumer, (P0, n * 10, n * 10 + 9)), write)
        await settle()
    assert (refused, consumer.commits) == (1, [{P0: 20}])  # the second commit covers the first batch too
