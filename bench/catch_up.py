"""The metrics service catching up with a preloaded topic: how long until every event is counted and served, how
the rate holds up along the way, and what it costs in CPU (the service, PostgreSQL, Kafka)."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.progress import Progress

from bench.infra import Infrastructure
from bench.raw_kafka import CommittedOffsets
from bench.service_process import ServiceProcess

SAMPLE_S = 0.5
SNAPSHOT_TIMEOUT_S = 300
SNAPSHOT = "civicpulse_snapshot_seconds"  # the histogram of full snapshot recomputations


def steady_rate(samples: list[tuple[float, int]]) -> int:
    """Events/s from the first sample showing a commit to the last: counting without the consumer's start-up (and
    the first batch); the whole span when that is all there is."""
    t0, n0 = next((t, done) for t, done in samples if done > 0)
    t1, n1 = samples[-1]
    return round((n1 - n0) / (t1 - t0)) if t1 > t0 else round(n1 / t1)


def decile_rates(samples: list[tuple[float, int]], total: int) -> list[int]:
    """Events/s over each tenth of the events, from (seconds, events done) samples (the first tenth holds the
    consumer's start-up, the last one many completions at "now", which share counting rows)."""
    marks, previous = [], samples[0][0]
    for decile in range(1, 11):
        goal = total * decile / 10
        for (t0, n0), (t1, n1) in itertools.pairwise(samples):
            if n1 >= goal:
                at = t0 + (t1 - t0) * (goal - n0) / max(1, n1 - n0)
                marks.append(round(total / 10 / max(at - previous, 1e-9)))
                previous = at
                break
    return marks


async def _database_totals(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        counted = await connection.fetchval("SELECT count(*) FROM processed_events")
        # What the province snapshots add up to: a successor's figures also hold its predecessors' dossiers.
        received = await connection.fetchval(
            "SELECT coalesce(sum(k.received), 0) FROM kpi_counts_hourly k "
            "JOIN unit_closure c ON c.descendant_code = k.unit_code "
            "JOIN units u ON u.code = c.ancestor_code AND u.level = 'province'"
        )
    finally:
        await connection.close()
    return int(counted), int(received)


async def _served_received(client: httpx.AsyncClient) -> int:
    """Received dossiers the province snapshots (30 days) show, summed over the provinces."""
    params = {"kpi": "online_submission_rate", "window": "30d", "level": "province"}
    items = (await client.get("/v1/kpis", params=params)).json()["items"]
    return sum(int(item["denominator"]) for item in items)


async def catch_up(
    metrics: ServiceProcess, *, infra: Infrastructure, dsn: str, group: str, total: int, console: Console
) -> dict[str, Any]:
    """From the service being ready until its province snapshots show all `total` preloaded events."""
    started = time.perf_counter()
    cpu, servers = metrics.cpu_seconds(), infra.server_cpu_seconds()
    async with httpx.AsyncClient(base_url=metrics.url, timeout=30) as client:
        before = await metrics.prometheus(client)
        async with CommittedOffsets(infra.bootstrap, group) as committed:
            # The consumer may have counted a batch before the service answered ready: start from there.
            samples = [(time.perf_counter() - started, await committed.total())]
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("metrics service catching up", total=total)
                while samples[-1][1] < total:
                    await asyncio.sleep(SAMPLE_S)
                    samples.append((time.perf_counter() - started, await committed.total()))
                    progress.update(task, completed=samples[-1][1])
        counted_s = samples[-1][0]
        counted, received = await _database_totals(dsn)
        if counted != total:
            raise RuntimeError(f"{counted} events recorded as processed, {total} produced")
        deadline = time.perf_counter() + SNAPSHOT_TIMEOUT_S
        while (served := await _served_received(client)) != received:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the province snapshots show {served} received dossiers, not {received}")
            await asyncio.sleep(0.05)
        visible_s = time.perf_counter() - started
        after = await metrics.prometheus(client)
    servers_after = infra.server_cpu_seconds()

    def mean(name: str) -> float:
        count = after[f"{name}_count"] - before.get(f"{name}_count", 0.0)
        return (after[f"{name}_sum"] - before.get(f"{name}_sum", 0.0)) / count if count else float("nan")

    per_kilo = 1000 / total
    return {
        "seconds": round(visible_s, 2),
        "events_per_s": round(total / visible_s),
        "counted_s": round(counted_s, 2),
        "steady_events_per_s": steady_rate(samples),
        "decile_events_per_s": decile_rates(samples, total),
        "cpu_ms_per_1k_events": {
            "metrics": round((metrics.cpu_seconds() - cpu) * 1000 * per_kilo, 1),
            **{name: round((servers_after[name] - used) * 1000 * per_kilo, 1) for name, used in servers.items()},
        },
        "mean_batch_events": round(mean("civicpulse_batch_events"), 1),
        "mean_batch_ms": round(mean("civicpulse_batch_processing_seconds") * 1000, 1),
        "mean_snapshot_ms": round(mean(SNAPSHOT) * 1000, 1),
        "snapshot_rounds": int(after[f"{SNAPSHOT}_count"] - before[f"{SNAPSHOT}_count"]),
    }
