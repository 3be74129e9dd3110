"""Plain aiokafka clients: the producer that preloads a topic, the consumer whose read rate is the ceiling a
service is compared with, and the committed offsets that show how far a consumer group has got."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import Progress


async def preload(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]], *, console: Console) -> float:
    """Produce every record (acks=all); returns the seconds it took."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024, compression_type=None
    )
    await producer.start()
    started = time.perf_counter()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"preloading {len(records):,} events", total=len(records))
            pending = []
            for i, (key, value) in enumerate(records, start=1):
                pending.append(await producer.send(topic, value, key=key))
                if len(pending) >= 20_000 or i == len(records):
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(task, completed=i)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def consumer_ceiling(bootstrap: str, topic: str, total: int, *, console: Console) -> float:
    """Events/s of a plain consumer (its own group, from the start) that only reads the topic."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=f"raw-{uuid.uuid4().hex[:6]}", auto_offset_reset="earliest",
        enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("raw aiokafka consumer reading the topic", total=total)
            while seen < total:
                batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
                seen += sum(len(records) for records in batches.values())
                progress.update(task, completed=seen)
    finally:
        elapsed = time.perf_counter() - started
        await consumer.stop()
    return seen / elapsed


class CommittedOffsets:
    """The sum of a consumer group's committed offsets on a fresh topic: how many records it has finished."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        self._group = group

    async def __aenter__(self) -> CommittedOffsets:
        await self._admin.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._admin.close()

    async def total(self) -> int:
        offsets = await self._admin.list_consumer_group_offsets(self._group)
        return sum(max(0, meta.offset) for meta in offsets.values())
