"""Requests that arrive while a send to Kafka is unacknowledged go out together, in one send, once it is.

Each `RecordProducer.send_all` seals its own producer batch per partition (FastStream's `publish_batch`), and the
producer has one produce request in flight per broker, so 32 one-event requests at once queued 32
batches behind each other: 304 events/s where a raw producer's 32 sends, which share the open batch, made 31,054
(bench/ingest.py, 2026-12-01). Grouping gives the HTTP path the same shape as the raw producer's: a lone request
is sent at once (no linger timer), and whatever arrives meanwhile waits for that acknowledgement, then goes as one
send. Every request still returns only once Kafka acknowledged all its records, and fails (the caller answers
503) when the send carrying them fails; a waiting request waits for at most the send in flight, then its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.producer import OutgoingRecord, RecordSink


@dataclass(slots=True)
class _Group:
    """Records waiting for the send in flight, and what their requests wait on."""

    records: list[OutgoingRecord] = field(default_factory=list)
    sent: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupedSink:
    """A RecordSink sending through `sink` one send at a time, the requests that arrive meanwhile together."""

    def __init__(self, sink: RecordSink) -> None:
        self._sink = sink
        self._in_flight = False
        self._waiting: _Group | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def send_all(self, records: Sequence[OutgoingRecord]) -> None:
        """Return once Kafka acknowledged every record, else raise what the send carrying them raised."""
        if not records:
            return
        if self._in_flight:
            if self._waiting is None:
                self._waiting = _Group()
            group = self._waiting
            group.records.extend(records)
            await asyncio.shield(group.sent)  # one caller going away must not cancel the others' send
            return
        self._in_flight = True
        try:
            await self._sink.send_all(records)
        finally:
            self._send_waiting()

    def _send_waiting(self) -> None:
        group, self._waiting = self._waiting, None
        if group is None:
            self._in_flight = False
            return
        task = asyncio.get_running_loop().create_task(self._send(group))
        self._tasks.add(task)  # the loop keeps only a weak reference to a task
        task.add_done_callback(self._tasks.discard)

    async def _send(self, group: _Group) -> None:
        try:
            await self._sink.send_all(group.records)
        except asyncio.CancelledError:
            group.sent.cancel()
            raise
        except Exception as exc:  # KafkaUnavailable (or a bug): every request of the group must hear it
            group.sent.set_exception(exc)
            group.sent.add_done_callback(_retrieved)  # when every waiter went away, nobody else reads it
        else:
            group.sent.set_result(None)
        finally:
            self._send_waiting()


def _retrieved(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()
