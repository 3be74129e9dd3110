"""End-to-end latency by probe events: when each was accepted, when a plain consumer could read it from the events
topic (the Kafka floor, in the same run) and when the metrics service first served its KPI."""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.stats import latency_ms
from bench.workload import PROBE_PREFIX

POLL_S = 0.02  # one GET per outstanding probe this often: 20 ms resolution against ~1 s latencies


class ProbeTracker:
    """Watches the metrics API and the events topic for probes; a context manager running both watchers."""

    def __init__(self, *, metrics_url: str, bootstrap: str, topic: str) -> None:
        self._metrics_url = metrics_url
        self._bootstrap = bootstrap
        self._topic = topic
        self.sent_at: dict[str, float] = {}
        self.accepted_at: dict[str, float] = {}
        self.read_at: dict[str, float] = {}
        self.visible_at: dict[str, float] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def sent(self, unit: str, at: float) -> None:
        """The probe for `unit` left the client at perf_counter time `at`."""
        self.sent_at[unit] = at

    def accepted(self, unit: str, at: float) -> None:
        """The probe for `unit` was acknowledged (202, or the producer's acks) at perf_counter time `at`."""
        self.accepted_at[unit] = at

    async def __aenter__(self) -> ProbeTracker:
        # No group: every partition is assigned to this consumer, which starts at the end of each.
        consumer = AIOKafkaConsumer(self._topic, bootstrap_servers=self._bootstrap, auto_offset_reset="latest")
        await consumer.start()
        self._consumer = consumer
        try:
            partitions = await _assigned(consumer)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:  # resolve the positions now, before the first probe is sent
                await consumer.position(partition)
        except BaseException:
            await consumer.stop()
            raise
        self._tasks = [asyncio.create_task(self._tail(consumer)), asyncio.create_task(self._watch())]
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._consumer is not None:
            await self._consumer.stop()

    async def drain(self, *, within_s: float) -> None:
        """Wait until every accepted probe has been read and served, or `within_s` seconds have passed."""
        deadline = time.perf_counter() + within_s
        while time.perf_counter() < deadline and (
            self.accepted_at.keys() - self.visible_at.keys() or self.accepted_at.keys() - self.read_at.keys()
        ):
            await asyncio.sleep(0.05)

    def summary(self) -> dict[str, Any]:
        """Latencies (ms) from acceptance to visible in /v1/kpis and to readable by a plain consumer (which can be
        a little negative: the consumer may read the record before the acknowledgement reaches the client), and
        from sending to acceptance."""

        def between(start: dict[str, float], end: dict[str, float]) -> dict[str, float]:
            return latency_ms([end[u] - t for u, t in start.items() if u in end])

        return {
            "visible": between(self.accepted_at, self.visible_at),
            "raw_consumer": between(self.accepted_at, self.read_at),
            "accepted": between(self.sent_at, self.accepted_at),
            "probes": len(self.accepted_at),
            "never_visible": len(self.accepted_at.keys() - self.visible_at.keys()),
        }

    async def _tail(self, consumer: AIOKafkaConsumer) -> None:
        prefix = PROBE_PREFIX.encode()
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=5000)
            now = time.perf_counter()
            for records in batches.values():
                for record in records:
                    if record.key and record.key.startswith(prefix):
                        self.read_at.setdefault(record.key.decode(), now)

    async def _watch(self) -> None:
        async with httpx.AsyncClient(base_url=self._metrics_url, timeout=10) as client:
            while True:
                for unit in [u for u in self.accepted_at if u not in self.visible_at]:
                    response = await client.get(
                        "/v1/kpis", params={"kpi": "online_submission_rate", "window": "1d", "unit": unit}
                    )
                    items = response.json()["items"]
                    if items and items[0]["denominator"] >= 1:
                        self.visible_at[unit] = time.perf_counter()
                await asyncio.sleep(POLL_S)


async def _assigned(consumer: AIOKafkaConsumer) -> list[TopicPartition]:
    for _ in range(100):
        if assigned := consumer.assignment():
            return sorted(assigned)
        await asyncio.sleep(0.1)
    raise RuntimeError("the probe consumer got no partitions")
