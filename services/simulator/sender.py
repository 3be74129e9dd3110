"""Sends generated events to the ingest API in batches, paced, with retries; records what was acknowledged."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

RETRYABLE = {429, 502, 503, 504}


class RejectedError(RuntimeError):
    """The ingest API refused a batch for a reason a retry won't fix (401, 403, 422, ...)."""


@dataclass(slots=True)
class SendStats:
    """What happened to the events of a run."""

    sent: int = 0
    accepted: int = 0
    retries: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class IngestClient:
    """POSTs batches to /v1/events until Kafka has them (202), retrying 429/503 and lost connections."""

    def __init__(
        self, *, url: str, token: str, record: Path | None = None, max_attempts: int = 30,
        client: httpx.AsyncClient | None = None,
        on_accepted: Callable[[list[dict[str, Any]]], None] = lambda batch: None,
    ) -> None:  # fmt: skip
        self._url = url.rstrip("/") + "/v1/events"
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=5.0))
        self._record_path = record
        self._record: IO[bytes] | None = None
        self._max_attempts = max_attempts
        self._on_accepted = on_accepted
        self.stats = SendStats()

    async def __aenter__(self) -> IngestClient:
        if self._record_path is not None:
            self._record = self._record_path.open("ab")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        if self._record is not None:
            self._record.close()

    async def send(self, events: list[dict[str, Any]]) -> None:
        """Send one batch; returns once it is acknowledged, raises RejectedError on a permanent refusal."""
        body = orjson.dumps(events)
        self.stats.sent += len(events)
        for attempt in range(self._max_attempts):
            try:
                response = await self._client.post(self._url, content=body, headers=self._headers)
            except httpx.TransportError:
                status, wait = 0, min(10.0, 0.2 * 2**attempt)
            else:
                status = response.status_code
                self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
                if status == 202:
                    self.stats.accepted += len(events)
                    self._on_accepted(events)
                    if self._record is not None:
                        # Re-sending after a lost 202 is safe: the event id makes it a duplicate downstream.
                        self._record.write(b"".join(orjson.dumps(e) + b"\n" for e in events))
                    return
                if status not in RETRYABLE:
                    raise RejectedError(f"ingest answered {status}: {response.text[:1000]}")
                wait = float(response.headers.get("Retry-After", 0.5 * 2**attempt))
            self.stats.retries += 1
            await asyncio.sleep(min(wait, 10.0) * (0.8 + 0.4 * random.random()))
        raise RejectedError(f"gave up after {self._max_attempts} attempts (last status {status})")


async def run_batches(
    batches: AsyncIterator[list[dict[str, Any]]], *, client: IngestClient, concurrency: int,
    on_sent: Callable[[int], None] = lambda n: None,
) -> None:  # fmt: skip
    """Send batches with up to `concurrency` in flight; the first permanent rejection stops the run."""
    slots = asyncio.Semaphore(concurrency)

    async def send(batch: list[dict[str, Any]]) -> None:
        try:
            await client.send(batch)
            on_sent(len(batch))
        finally:
            slots.release()

    async with asyncio.TaskGroup() as group:
        async for batch in batches:
            await slots.acquire()
            group.create_task(send(batch))
