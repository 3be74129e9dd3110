"""Ingest benchmark: events/s accepted and request latency through the real HTTP server, for batches of 1, 100 and
1,000 events, side by side with a raw aiokafka producer (acks=all, idempotent) sending the same events in the same
run. Requests are sequential (one in flight), as are the raw producer's batches: each waits for Kafka's acks.

    .venv/bin/python bench/ingest.py [--bootstrap HOST:PORT] [--scale 1.0]

Starts its own Kafka (throw-away, on free ports) unless --bootstrap is given; the ingest service runs as a
subprocess (`services.ingest.cli serve`). Prints a table and writes bench/results/ingest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.ingest.main import PRODUCER_OPTIONS
from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok
from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics

console = Console()
RESULTS = REPO_ROOT / "bench" / "results"
SIZES = (1, 100, 1000)
REQUESTS = {1: 1000, 100: 300, 1000: 60}
WARMUP = 20
AUTH = {"Authorization": "Bearer demo-token", "Content-Type": "application/json"}


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


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


def summary(size: int, latencies: list[float], elapsed: float) -> dict[str, float]:
    return {
        "events_per_s": round(size * len(latencies) / elapsed),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }


async def through_http(url: str, size: int, work: list[list[dict[str, Any]]]) -> dict[str, float]:
    """Post each batch and wait for its 202 (which the service sends only after Kafka's acks)."""
    bodies = [orjson.dumps(batch) for batch in work]
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for body in bodies[:WARMUP]:
            (await client.post("/v1/events", content=body, headers=AUTH)).raise_for_status()
        latencies = []
        started = time.perf_counter()
        for body in bodies[WARMUP:]:
            sent = time.perf_counter()
            response = await client.post("/v1/events", content=body, headers=AUTH)
            latencies.append(time.perf_counter() - sent)
            if response.status_code != 202:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")
        return summary(size, latencies, time.perf_counter() - started)


async def through_producer(
    bootstrap: str, topic: str, size: int, work: list[list[dict[str, Any]]], *, mode: str
) -> dict[str, float]:
    """The same events through a bare producer with the service's producer options, awaiting all acks.

    mode "send": `send` per record (the usual way); "batch": one `send_batch` per partition, as the service does.
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

        for batch in records[:WARMUP]:
            await send(batch)
        latencies = []
        started = time.perf_counter()
        for batch in records[WARMUP:]:
            sent = time.perf_counter()
            await send(batch)
            latencies.append(time.perf_counter() - sent)
        return summary(size, latencies, time.perf_counter() - started)
    finally:
        await producer.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="civicpulse-bench-ingest-"))
    jars = REPO_ROOT / ".civicpulse" / "kafka-jars"
    kafka = None if args.bootstrap else KafkaNode(home=home / "kafka", port=free_port(), controller_port=free_port(),
                                                  jar_cache=jars, heap="1g")  # fmt: skip
    service_pid = None
    try:
        if kafka:
            console.print("starting Kafka")
            kafka.start()
        bootstrap = args.bootstrap or kafka.bootstrap  # type: ignore[union-attr]
        run_id = uuid.uuid4().hex[:6]
        topics = TopicSettings(**{f"topic_{name}": f"bench.{run_id}.{name}"
                                  for name in ("raw", "events", "dlq", "snapshots", "alerts")})  # fmt: skip
        await ensure_topics(KafkaSettings(kafka_bootstrap=bootstrap), topics)
        port = free_port()
        env = {**os.environ, "CIVICPULSE_ENVIRONMENT": "development", "CIVICPULSE_KAFKA_BOOTSTRAP": bootstrap,
               "CIVICPULSE_HTTP_PORT": str(port), "CIVICPULSE_LOG_LEVEL": "WARNING",
               "CIVICPULSE_INGEST_GROUP_ID": f"bench-{run_id}",
               **{f"CIVICPULSE_{k.upper()}": str(v) for k, v in topics.model_dump().items()}}  # fmt: skip
        env.pop("CIVICPULSE_INGEST_TOKENS_FILE", None)
        process = spawn([sys.executable, "-c", "from services.ingest.cli import app; app()", "serve"],
                        log_file=home / "ingest.log", pid_file=home / "ingest.pid", env=env, cwd=REPO_ROOT)  # fmt: skip
        service_pid = process.pid
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/readyz"), timeout=60, what="ingest service",
                   alive=lambda: process.poll() is None)  # fmt: skip
        rows = []
        for size in SIZES:
            count = WARMUP + max(10, int(REQUESTS[size] * args.scale))
            now = datetime.now(UTC)
            raw = await through_producer(bootstrap, topics.topic_events, size, batches(size, count, now=now),
                                         mode=args.raw)  # fmt: skip
            http = await through_http(url, size, batches(size, count, now=now))
            ratio = round(http["events_per_s"] / raw["events_per_s"], 3)
            rows.append(
                {"batch": size, "requests": count - WARMUP, "ingest": http, "raw_producer": raw, "ratio": ratio}
            )
            console.print(f"batch {size}: ingest {http['events_per_s']:,} events/s, raw {raw['events_per_s']:,}")
        return {"rows": rows, "raw_mode": args.raw, "cpus": os.cpu_count(),
                "measured_at": datetime.now(UTC).isoformat(),
                "goal": "ingest >= 0.5x the raw producer at 1,000-event batches"}  # fmt: skip
    finally:
        if service_pid:
            stop_pid(service_pid)
        if kafka:
            kafka.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of requests per batch size")
    parser.add_argument("--raw", choices=("send", "batch"), default="send",
                        help="raw producer: send per record, or send_batch per partition (as ingest)")  # fmt: skip
    result = asyncio.run(run(parser.parse_args()))
    table = Table(
        "batch", "ingest events/s", "ingest p50 / p99 ms", "raw producer events/s", "raw p50 / p99 ms", "ratio",
        title=f"ingest benchmark: HTTP (202 after acks=all) vs raw aiokafka producer ({result['raw_mode']})",
    )  # fmt: skip
    for row in result["rows"]:
        http, raw = row["ingest"], row["raw_producer"]
        table.add_row(f"{row['batch']:,}", f"{http['events_per_s']:,}", f"{http['p50_ms']:.2f} / {http['p99_ms']:.2f}",
                      f"{raw['events_per_s']:,}", f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f}",
                      f"{row['ratio']:.2f}x")  # fmt: skip
    console.print(table)
    big = next(r for r in result["rows"] if r["batch"] == 1000)
    verdict = "[green]met[/]" if big["ratio"] >= 0.5 else "[red]missed[/]"
    console.print(f"goal (>= 0.50x at 1,000-event batches): {verdict} ({big['ratio']:.2f}x)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "ingest.json" if result["raw_mode"] == "send" else f"ingest-raw-{result['raw_mode']}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
