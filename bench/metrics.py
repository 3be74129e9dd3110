"""Metrics benchmark: catch-up rate over a preloaded topic against a raw aiokafka consumer, peak RSS, and
end-to-end latency (event produced -> visible in /v1/kpis) at a steady rate.

    .venv/bin/python bench/metrics.py [--events 1000000] [--rate 2000] [--latency-seconds 30]

Starts its own Kafka and PostgreSQL (throw-away, on free ports) unless --bootstrap/--pg-dsn are given.
Prints a table and writes bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.devstack.kafka import REPO_ROOT, KafkaNode
from shared.devstack.postgres import PostgresNode
from shared.devstack.processes import free_port, spawn, stop_pid, wait_until
from shared.devstack.stack import http_ok
from shared.migrations import migrate
from shared.refdata import UnitLevel, load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, TopicSettings
from shared.topics import ensure_topics

console = Console()
RESULTS = REPO_ROOT / "bench" / "results"


def dossier_events(count: int, *, seed: int, now: datetime) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs: dossiers received, most completed, some of those rated; over the last 29 days."""
    rng = random.Random(seed)
    data = load_reference_data()
    units = [u.code for u in data.tree.at_level(UnitLevel.COMMUNE)] + [
        u.code for u in data.tree.at_level(UnitLevel.DISTRICT)
    ]
    procedures = list(data.catalogue.procedures.values())
    out: list[tuple[bytes, bytes]] = []
    while len(out) < count:
        dossier = uuid.uuid4().hex[:16]
        unit, proc = rng.choice(units), rng.choice(procedures)
        at = now - timedelta(seconds=rng.randint(3600, 29 * 86400))  # all inside the 30-day window
        due = at + timedelta(days=rng.randint(1, 15))
        base = {"source": "bench", "unit_code": unit, "dossier_id": dossier, "procedure_code": proc.code}
        online = rng.random() < 0.87
        out.append(
            (
                dossier.encode(),
                orjson.dumps(
                    {
                        **base,
                        "event_id": str(uuid.uuid4()),
                        "type": "dossier.received",
                        "occurred_at": at.isoformat(),
                        "channel": "online" if online else "in_person",
                        "service_level": proc.service_level.value,
                        "essential": proc.essential,
                        "digitized": rng.random() < 0.99,
                        "due_at": due.isoformat(),
                    }
                ),
            )
        )
        if rng.random() < 0.8:
            done = min(now, at + timedelta(days=rng.randint(0, 12)))
            out.append(
                (
                    dossier.encode(),
                    orjson.dumps(
                        {
                            **base,
                            "event_id": str(uuid.uuid4()),
                            "type": "dossier.completed",
                            "occurred_at": done.isoformat(),
                            "outcome": "approved",
                            "result_channel": "online",
                            "electronic_result": rng.random() < 0.98,
                            "due_at": due.isoformat(),
                        }
                    ),
                )
            )
            if rng.random() < 0.4:
                out.append(
                    (
                        dossier.encode(),
                        orjson.dumps(
                            {
                                **base,
                                "event_id": str(uuid.uuid4()),
                                "type": "dossier.rated",
                                "occurred_at": done.isoformat(),
                                "score": rng.choices([1, 2, 3, 4, 5], [2, 1, 2, 20, 75])[0],
                            }
                        ),
                    )
                )
    # A topic holds events roughly in the order they happened: replaying a month means reading it in time order.
    out = out[:count]
    out.sort(key=lambda kv: orjson.loads(kv[1])["occurred_at"])
    return out


async def preload(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> float:
    """Produce everything; returns seconds taken."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024, compression_type=None
    )
    await producer.start()
    started = time.perf_counter()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("preloading the events topic", total=len(records))
            pending = []
            for i, (key, value) in enumerate(records):
                pending.append(await producer.send(topic, value, key=key))
                if len(pending) >= 20_000:
                    await asyncio.gather(*pending)
                    pending.clear()
                    progress.update(task, completed=i + 1)
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def raw_consumer_ceiling(bootstrap: str, topic: str, total: int) -> float:
    """Events/s of a plain aiokafka consumer that only reads the topic: the ceiling."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen, started = 0, time.perf_counter()
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            seen += sum(len(v) for v in batches.values())
    finally:
        elapsed = time.perf_counter() - started
        await consumer.stop()
    return seen / elapsed


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def catch_up(service_url: str, dsn: str, total: int) -> float:
    """Seconds until every event is counted and the province snapshot shows them."""
    started = time.perf_counter()
    connection = await asyncpg.connect(dsn)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("metrics service catching up", total=total)
            while (n := await connection.fetchval("SELECT count(*) FROM processed_events")) < total:
                progress.update(task, completed=n)
                await asyncio.sleep(0.5)
        expected = await connection.fetchval("SELECT sum(received) FROM kpi_counts_hourly")
    finally:
        await connection.close()
    deadline = time.perf_counter() + 120
    async with httpx.AsyncClient() as client:
        while time.perf_counter() < deadline:
            items = (await client.get(f"{service_url}/v1/kpis?kpi=online_submission_rate&window=30d&unit=HD")).json()
            if items["items"] and items["items"][0]["denominator"] == expected:
                return time.perf_counter() - started
            await asyncio.sleep(0.05)
    raise RuntimeError(f"the province snapshot never showed {expected} received dossiers")


async def latency(bootstrap: str, topic: str, service_url: str, *, rate: int, seconds: int) -> list[float]:
    """Steady traffic at `rate` events/s; every 0.5 s one probe event for a unit of its own, timed until served."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    now = datetime.now(UTC)
    filler = dossier_events(rate * seconds, seed=99, now=now)
    probes: dict[str, float] = {}
    seen: dict[str, float] = {}

    async def watch() -> None:
        async with httpx.AsyncClient() as client:
            while True:
                for unit in [u for u in probes if u not in seen]:
                    body = (
                        await client.get(f"{service_url}/v1/kpis?kpi=online_submission_rate&window=1d&unit={unit}")
                    ).json()
                    if body["items"] and body["items"][0]["denominator"] == 1:
                        seen[unit] = time.perf_counter()
                await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        tick, per_tick = 0.05, max(1, rate // 20)
        started = time.perf_counter()
        for i in range(seconds * 20):
            chunk = filler[i * per_tick : (i + 1) * per_tick]
            for key, value in chunk:
                await producer.send(topic, value, key=key)
            if i % 10 == 0:
                unit = f"PROBE.{uuid.uuid4().hex[:8]}"
                probe = orjson.dumps(
                    {
                        "event_id": str(uuid.uuid4()),
                        "type": "dossier.received",
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "source": "bench",
                        "unit_code": unit,
                        "dossier_id": unit,
                        "procedure_code": "P",
                        "channel": "online",
                        "service_level": "full_online",
                        "essential": False,
                        "digitized": True,
                    }
                )
                await (await producer.send(topic, probe, key=unit.encode()))
                probes[unit] = time.perf_counter()
            await asyncio.sleep(max(0.0, started + (i + 1) * tick - time.perf_counter()))
        await producer.flush()
        deadline = time.perf_counter() + 30
        while len(seen) < len(probes) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        watcher.cancel()
        await producer.stop()
    return [seen[u] - probes[u] for u in probes if u in seen]


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else (values[0] if values else float("nan"))
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="civicpulse-bench-"))
    home.chmod(0o711)
    kafka = (
        None
        if args.bootstrap
        else KafkaNode(
            home=home / "kafka",
            port=free_port(),
            controller_port=free_port(),
            jar_cache=REPO_ROOT / ".civicpulse" / "kafka-jars",
            heap="1g",
        )
    )
    pg = None if args.pg_dsn else PostgresNode(home=home / "pg", port=free_port())
    service_pid = None
    try:
        if kafka:
            console.print("starting Kafka")
            kafka.start()
        if pg:
            console.print("starting PostgreSQL")
            pg.start()
        bootstrap = args.bootstrap or kafka.bootstrap  # type: ignore[union-attr]
        dsn = args.pg_dsn or pg.create_database("bench")  # type: ignore[union-attr]
        topics = TopicSettings(
            topic_events=f"bench.{uuid.uuid4().hex[:6]}.events",
            topic_raw="bench.raw",
            topic_dlq="bench.dlq",
            topic_snapshots="bench.snapshots",
            topic_alerts="bench.alerts",
        )
        await ensure_topics(KafkaSettings(kafka_bootstrap=bootstrap), topics)
        connection = await asyncpg.connect(dsn)
        await migrate(connection)
        await sync_reference_data(connection, load_reference_data())
        await connection.close()

        console.print(f"generating {args.events:,} events")
        records = dossier_events(args.events, seed=42, now=datetime.now(UTC))
        dossiers = len({k for k, _ in records})
        produce_s = await preload(bootstrap, topics.topic_events, records)
        console.print(f"preloaded {len(records):,} events ({dossiers:,} dossiers) in {produce_s:.1f}s")
        del records

        ceiling = await raw_consumer_ceiling(bootstrap, topics.topic_events, args.events)
        console.print(f"raw aiokafka consumer: {ceiling:,.0f} events/s")

        port = free_port()
        env = {
            **os.environ,
            "CIVICPULSE_KAFKA_BOOTSTRAP": bootstrap,
            "CIVICPULSE_PG_DSN": dsn,
            "CIVICPULSE_HTTP_PORT": str(port),
            "CIVICPULSE_TOPIC_EVENTS": topics.topic_events,
            "CIVICPULSE_TOPIC_SNAPSHOTS": topics.topic_snapshots,
            "CIVICPULSE_TOPIC_DLQ": topics.topic_dlq,
            "CIVICPULSE_METRICS_GROUP_ID": f"bench-{uuid.uuid4().hex[:6]}",
            "CIVICPULSE_LOG_LEVEL": "WARNING",
        }
        process = spawn(
            [sys.executable, "-m", "services.cli", "metrics", "serve"],
            log_file=home / "metrics.log",
            pid_file=home / "metrics.pid",
            env=env,
            cwd=REPO_ROOT,
        )
        service_pid = process.pid
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(url + "/healthz"), timeout=60, what="metrics service")
        catch_up_s = await catch_up(url, dsn, args.events)
        rate = args.events / catch_up_s
        console.print(f"metrics service caught up: {rate:,.0f} events/s")

        latencies = await latency(bootstrap, topics.topic_events, url, rate=args.rate, seconds=args.latency_seconds)
        rss = peak_rss_mb(service_pid)
        return {
            "events": args.events,
            "dossiers": dossiers,
            "raw_consumer_events_per_s": round(ceiling),
            "metrics_catch_up_events_per_s": round(rate),
            "ratio": round(rate / ceiling, 3),
            "latency_rate_events_per_s": args.rate,
            "latency_probes": len(latencies),
            "latency_p50_s": round(percentile(latencies, 50), 3),
            "latency_p99_s": round(percentile(latencies, 99), 3),
            "metrics_peak_rss_mb": round(rss, 1),
            "measured_at": datetime.now(UTC).isoformat(),
        }
    finally:
        if service_pid:
            stop_pid(service_pid)
        if kafka:
            kafka.stop()
        if pg:
            pg.stop(mode="immediate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=2000, help="events/s during the latency run")
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--bootstrap")
    parser.add_argument("--pg-dsn")
    result = asyncio.run(run(parser.parse_args()))
    table = Table("measure", "CivicPulse metrics", "raw aiokafka consumer", "ratio", title="metrics benchmark")
    table.add_row(
        "catch-up (events/s)",
        f"{result['metrics_catch_up_events_per_s']:,}",
        f"{result['raw_consumer_events_per_s']:,}",
        f"{result['ratio']:.2f}x",
    )
    table.add_row(
        f"latency p50 / p99 at {result['latency_rate_events_per_s']:,}/s",
        f"{result['latency_p50_s']:.3f}s / {result['latency_p99_s']:.3f}s",
        "—",
        "",
    )
    table.add_row("peak RSS", f"{result['metrics_peak_rss_mb']:.0f} MB", "—", "")
    console.print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"wrote {RESULTS / 'metrics.json'}")


if __name__ == "__main__":
    main()
