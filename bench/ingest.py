"""Ingest benchmark: events/s accepted and request latency through the real HTTP server, for batches of 1, 100 and
1,000 events, side by side with a raw aiokafka producer (acks=all, idempotent) sending the same events in the same
run. Requests are sequential (one in flight), as are the raw producer's batches: each waits for Kafka's acks.

    .venv/bin/python bench/ingest.py [--bootstrap HOST:PORT] [--scale 1.0] [--raw send|batch]

Starts its own Kafka (throw-away, on free ports) unless --bootstrap is given; the ingest service runs as a
subprocess (`python -m services.cli ingest serve`). Prints a table and writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.infra import RESULTS, Infrastructure, save_result
from bench.procfs import load_average
from bench.service_process import ServiceProcess, service_env
from bench.stats import percentile
from services.ingest.main import PRODUCER_OPTIONS

SIZES = (1, 100, 1000)
REQUESTS = {1: 1000, 100: 300, 1000: 60}
WARMUP = 20
AUTH = {"Authorization": "Bearer demo-token", "Content-Type": "application/json"}
GOAL_RATIO = 0.5


def batches(size: int, count: int, *, now: datetime) -> list[list[dict[str, Any]]]:
    """`count` batches of `size` received-dossier events with unique ids, spread over 10,000 dossiers."""
    stamp = now.isoformat()
    return [
        [
            {"type": "dossier.received", "event_id": str(uuid.uuid4()), "occurred_at": stamp, "source": "demo",
             "unit_code": "HD.HDG.P01", "dossier_id": f"BENCH-{(b * size + i) % 10_000:05d}",
             "procedure_code": "TTHC.STP.001", "channel": "online", "service_level": "full_online",
             "essential": False, "digitized": True}
            for i in range(size)
        ]
        for b in range(count)
    ]  # fmt: skip


async def timed(items: list[Any], send: Callable[[Any], Awaitable[None]], *, size: int, what: str,
                console: Console) -> dict[str, float]:  # fmt: skip
    """Send the first WARMUP items untimed, then the rest one after another; events/s and request latency."""
    for item in items[:WARMUP]:
        await send(item)
    latencies = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{what}, batches of {size:,}", total=len(items) - WARMUP)
        started = time.perf_counter()
        for item in items[WARMUP:]:
            sent = time.perf_counter()
            await send(item)
            latencies.append(time.perf_counter() - sent)
            progress.advance(task)
        elapsed = time.perf_counter() - started
    return {
        "events_per_s": round(size * len(latencies) / elapsed),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


async def through_http(url: str, size: int, work: list[list[dict[str, Any]]], *, console: Console) -> dict[str, float]:
    """Post each batch and wait for its 202 (which the service sends only after Kafka's acks)."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def post(body: bytes) -> None:
            response = await client.post("/v1/events", content=body, headers=AUTH)
            if response.status_code != 202:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")

        return await timed([orjson.dumps(b) for b in work], post, size=size, what="ingest HTTP", console=console)


async def through_producer(
    bootstrap: str, topic: str, size: int, work: list[list[dict[str, Any]]], *, mode: str, console: Console
) -> dict[str, float]:
    """The same events through a bare producer with the service's producer options, awaiting all acks.

    mode "send": `send` per record (the usual way); "batch": one `send_batch` per partition, what the service's
    FastStream `publish_batch` per partition does underneath (shared/producer.py).
    """
    records = [[(e["dossier_id"].encode(), orjson.dumps(e)) for e in batch] for batch in work]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, request_timeout_ms=15_000, **PRODUCER_OPTIONS
    )
    await producer.start()
    try:
        partitioner, partitions = DefaultPartitioner(), sorted(await producer.partitions_for(topic))

        async def send(batch: list[tuple[bytes, bytes]]) -> None:
            if mode == "send":
                await asyncio.gather(*[await producer.send(topic, value, key=key) for key, value in batch])
                return
            builders: dict[int, Any] = {}
            for key, value in batch:
                builder = builders.setdefault(partitioner(key, partitions, partitions), producer.create_batch())
                if builder.append(key=key, value=value, timestamp=None) is None:
                    raise RuntimeError("a batch overflowed: raise max_batch_size for --raw batch")
            await asyncio.gather(*[await producer.send_batch(b, topic, partition=p) for p, b in builders.items()])

        return await timed(records, send, size=size, what=f"raw producer ({mode})", console=console)
    finally:
        await producer.stop()


async def run_ingest(infra: Infrastructure, *, scale: float, raw: str) -> dict[str, Any]:
    """Every batch size through the raw producer, then through the ingest service, on fresh topics."""
    async with infra.run_scope("ingest") as scope:
        env = service_env(scope, environment="development")  # the documented demo credential
        with ServiceProcess("ingest", env=env, log_dir=infra.home / scope.run_id) as ingest:
            rows = []
            for size in SIZES:
                count = WARMUP + max(10, int(REQUESTS[size] * scale))
                now = datetime.now(UTC)
                raw_figures = await through_producer(scope.bootstrap, scope.topics.topic_events, size,
                                                     batches(size, count, now=now), mode=raw,
                                                     console=infra.console)  # fmt: skip
                http = await through_http(ingest.url, size, batches(size, count, now=now), console=infra.console)
                ratio = round(http["events_per_s"] / raw_figures["events_per_s"], 3)
                rows.append({"batch": size, "requests": count - WARMUP, "ingest": http, "raw_producer": raw_figures,
                             "ratio": ratio})  # fmt: skip
            rss = ingest.peak_rss_mb()
    return {"rows": rows, "raw_mode": raw, "ingest_peak_rss_mb": rss, "cpus": os.cpu_count(),
            "load_average": load_average(), "measured_at": datetime.now(UTC).isoformat(),
            "goal": f"ingest >= {GOAL_RATIO}x the raw producer at 1,000-event batches"}  # fmt: skip


def table(result: dict[str, Any]) -> Table:
    """Each batch size: the service beside the raw producer."""
    out = Table(
        "batch", "ingest events/s", "ingest p50 / p99 ms", "raw producer events/s", "raw p50 / p99 ms", "ratio",
        title=f"ingest benchmark: HTTP (202 after acks=all) vs raw aiokafka producer ({result['raw_mode']})",
    )  # fmt: skip
    for row in result["rows"]:
        http, raw = row["ingest"], row["raw_producer"]
        out.add_row(f"{row['batch']:,}", f"{http['events_per_s']:,}", f"{http['p50_ms']:.2f} / {http['p99_ms']:.2f}",
                    f"{raw['events_per_s']:,}", f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f}",
                    f"{row['ratio']:.2f}x")  # fmt: skip
    return out


def result_file(result: dict[str, Any], directory: Path = RESULTS) -> Path:
    """ingest.json for the usual raw mode, ingest-raw-<mode>.json otherwise."""
    mode = result["raw_mode"]
    return directory / ("ingest.json" if mode == "send" else f"ingest-raw-{mode}.json")


async def _main(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with Infrastructure(console=console, bootstrap=args.bootstrap, postgres=False) as infra:
        return await run_ingest(infra, scale=args.scale, raw=args.raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of requests per batch size")
    parser.add_argument("--raw", choices=("send", "batch"), default="send",
                        help="raw producer: send per record, or send_batch per partition (as ingest's)")  # fmt: skip
    console = Console()
    result = asyncio.run(_main(parser.parse_args(), console))
    console.print(table(result))
    big = next(r for r in result["rows"] if r["batch"] == 1000)
    verdict = "[green]met[/]" if big["ratio"] >= GOAL_RATIO else "[red]missed[/]"
    console.print(f"goal (>= {GOAL_RATIO:.2f}x at 1,000-event batches): {verdict} ({big['ratio']:.2f}x)")
    save_result(result_file(result), result, console)


if __name__ == "__main__":
    main()
