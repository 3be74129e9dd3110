"""Open-loop traffic at a fixed rate: a chunk every 100 ms whether or not earlier ones were acknowledged, with a
probe event in every fifth chunk (two a second) timed by a ProbeTracker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from rich.console import Console
from rich.progress import Progress

from bench.probes import ProbeTracker
from bench.workload import Record, probe_event

TICK_S = 0.1
PROBE_EVERY = 5  # ticks
SendChunk = Callable[[list[Record]], Awaitable[None]]


async def paced_traffic(
    *,
    rate: int,
    seconds: float,
    filler: Sequence[Record],
    send: SendChunk,
    tracker: ProbeTracker | None,
    console: Console,
    description: str,
) -> float:
    """Send `rate` events/s for `seconds` (probes included when a tracker is given); returns the events/s achieved,
    counted until the last chunk was acknowledged."""
    per_tick = max(1, round(rate * TICK_S))
    ticks = round(seconds / TICK_S)
    if len(filler) < per_tick * ticks:
        raise ValueError(f"{len(filler)} filler events are too few for {ticks} ticks of {per_tick}")
    in_flight: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    async def deliver(chunk: list[Record], probe: str | None) -> None:
        if probe and tracker:
            tracker.sent(probe, time.perf_counter())
        try:
            await send(chunk)
        except Exception as exc:  # collected, raised once the run is over
            failures.append(exc)
            return
        if probe and tracker:
            tracker.accepted(probe, time.perf_counter())

    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(description, total=ticks)
        for tick in range(ticks):
            chunk = list(filler[tick * per_tick : (tick + 1) * per_tick])
            probe = None
            if tracker and tick % PROBE_EVERY == 0:
                key, event = probe_event(datetime.now(UTC))
                chunk[-1], probe = (key, event), key.decode()
            delivery = asyncio.create_task(deliver(chunk, probe))
            in_flight.add(delivery)
            delivery.add_done_callback(in_flight.discard)
            progress.update(task, completed=tick + 1)
            await asyncio.sleep(max(0.0, started + (tick + 1) * TICK_S - time.perf_counter()))
        await asyncio.gather(*in_flight)
    if failures:
        raise RuntimeError(f"{len(failures)} of {ticks} chunks failed; first: {failures[0]!r}") from failures[0]
    return per_tick * ticks / (time.perf_counter() - started)
