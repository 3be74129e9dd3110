"""Grouped sends: what arrives while a send is unacknowledged goes out together once it is (a gated fake sink)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from services.ingest.grouped_send import GroupedSink
from shared.producer import KafkaUnavailable, OutgoingRecord

pytestmark = pytest.mark.unit


class GatedSink:
    """Records each send; a send completes when the test opens its gate, failing if told to."""

    def __init__(self) -> None:
        self.sends: list[list[bytes | None]] = []
        self.gates: list[asyncio.Future[None]] = []
        self._changed = asyncio.Condition()

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        gate = asyncio.get_running_loop().create_future()
        async with self._changed:
            self.sends.append([r.value for r in records])
            self.gates.append(gate)
            self._changed.notify_all()
        await gate

    async def started(self, count: int) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: len(self.sends) >= count)


def records(*values: str) -> list[OutgoingRecord]:
    return [OutgoingRecord("ev", b"k", value.encode()) for value in values]


async def test_a_lone_request_is_sent_at_once() -> None:
    sink = GatedSink()
    request = asyncio.create_task(GroupedSink(sink).send_all(records("a")))
    await sink.started(1)
    assert sink.sends == [[b"a"]]
    sink.gates[0].set_result(None)
    await request


async def test_requests_arriving_during_a_send_go_together_after_its_ack() -> None:
    sink = GatedSink()
    grouped = GroupedSink(sink)
    first = asyncio.create_task(grouped.send_all(records("a")))
    await sink.started(1)
    waiting = [asyncio.create_task(grouped.send_all(records(v, v + "2"))) for v in ("b", "c")]
    await asyncio.sleep(0)
    assert sink.sends == [[b"a"]]  # nothing more goes out while the first send is unacknowledged
    assert not any(task.done() for task in waiting)
    sink.gates[0].set_result(None)
    await first
    await sink.started(2)
    assert sink.sends[1] == [b"b", b"b2", b"c", b"c2"]  # in arrival order, each request's records together
    assert not any(task.done() for task in waiting)  # answered only once their own send is acknowledged
    sink.gates[1].set_result(None)
    await asyncio.gather(*waiting)


async def test_every_request_of_a_failed_send_hears_the_failure_and_the_next_send_proceeds() -> None:
    sink = GatedSink()
    grouped = GroupedSink(sink)
    first = asyncio.create_task(grouped.send_all(records("a")))
    await sink.started(1)
    waiting = [asyncio.create_task(grouped.send_all(records(v))) for v in ("b", "c")]
    await asyncio.sleep(0)
    sink.gates[0].set_result(None)
    await first
    await sink.started(2)
    sink.gates[1].set_exception(KafkaUnavailable("broker down"))
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert [type(o) for o in outcomes] == [KafkaUnavailable, KafkaUnavailable]
    later = asyncio.create_task(grouped.send_all(records("d")))
    await sink.started(3)
    assert sink.sends[2] == [b"d"]
    sink.gates[2].set_result(None)
    await later


async def test_a_failed_first_send_fails_only_its_own_request() -> None:
    sink = GatedSink()
    grouped = GroupedSink(sink)
    first = asyncio.create_task(grouped.send_all(records("a")))
    await sink.started(1)
    second = asyncio.create_task(grouped.send_all(records("b")))
    await asyncio.sleep(0)
    sink.gates[0].set_exception(KafkaUnavailable("broker down"))
    with pytest.raises(KafkaUnavailable):
        await first
    await sink.started(2)
    sink.gates[1].set_result(None)
    await second
    assert sink.sends == [[b"a"], [b"b"]]
