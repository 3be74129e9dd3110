"""Ingest benchmark: events/s accepted and request latency through the real HTTP server, for batches of 1, 100 and
1,000 events, side by side with a raw aiokafka producer with the service's settings (acks=all, not idempotent)
sending the same events in the same run. Those requests are sequential (one in flight), as are the raw
producer's batches: each waits for Kafka's acks. A last row has 32 one-event requests in flight (several portals
syncing one dossier each at once) beside the raw producer with 32 one-record sends in flight.

    .venv/bin/python bench/ingest.py [--bootstrap HOST:PORT] [--scale 1.0] [--raw send|batch] [--py-spy DIR]

Starts its own Kafka (throw-away, on free ports) unless --bootstrap is given; the ingest service runs as a
subprocess (`python -m services.cli ingest serve`). Prints a table and writes bench/results/ingest.json. With
--py-spy, `py-spy record --format raw` samples the ingest process for each row (DIR/ingest-<batch>x<in flight>.txt).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
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

ROWS = ((1, 1), (100, 1), (1000, 1), (1, 32))
"""(events per request, requests in flight) of each row."""
REQUESTS = {(1, 1): 1000, (100, 1): 300, (1000, 1): 60, (1, 32): 4000}
WARMUP = 20
AUTH = {"Authorization": "Bearer demo-token", "Content-Type": "application/json"}
GOALS = {(1, 1): 0.5, (100, 1): 0.7, (1000, 1): 0.5}
"""The issue's goals: ingest / raw producer events/s at least this, one request in flight."""


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


async def timed(items: list[Any], send: Callable[[Any], Awaitable[None]], *, size: int, in_flight: int, what: str,
                console: Console, cpu: Callable[[], float] | None = None) -> dict[str, float]:  # fmt: skip
    """Send the first WARMUP items untimed, then the rest with `in_flight` senders; events/s and request latency.

    `cpu` (CPU seconds of the process under test) adds its CPU per request over the timed part.
    """
    for item in items[:WARMUP]:
        await send(item)
    latencies: list[float] = []
    work = iter(items[WARMUP:])
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{what}, batches of {size:,}, {in_flight} in flight", total=len(items) - WARMUP)

        async def sender() -> None:
            for item in work:  # one shared iterator: each item goes to whichever sender is free
                sent = time.perf_counter()
                await send(item)
                latencies.append(time.perf_counter() - sent)
                progress.advance(task)

        cpu_before = cpu() if cpu is not None else 0.0
        started = time.perf_counter()
        await asyncio.gather(*[sender() for _ in range(in_flight)])
        elapsed = time.perf_counter() - started
        cpu_used = cpu() - cpu_before if cpu is not None else 0.0
    figures = {
        "events_per_s": round(size * len(latencies) / elapsed),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
    }
    if cpu is not None:
        figures["cpu_us_per_request"] = round(cpu_used / len(latencies) * 1e6)
    return figures


@asynccontextmanager
async def http_poster(url: str, *, client: str, in_flight: int) -> AsyncIterator[Callable[[bytes], Awaitable[None]]]:
    """A function posting one body to /v1/events and raising unless 202, through `client`, `in_flight` connections.

    aiohttp by default, one kept-alive connection per sender (a portal holding its connection open): httpx spent
    ~0.9 ms of CPU per request on this machine at one in flight and ~2.8 ms at 32 (its pool scans every
    connection), more than the service itself, on the same two cores. `--client httpx` measures with it.
    """
    if client == "httpx":
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as httpx_client:

            async def post_httpx(body: bytes) -> None:
                response = await httpx_client.post("/v1/events", content=body, headers=AUTH)
                if response.status_code != 202:
                    raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")

            yield post_httpx
        return
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(base_url=url, connector=connector, timeout=aiohttp.ClientTimeout(60)) as session:

        async def post_aiohttp(body: bytes) -> None:
            async with session.post("/v1/events", data=body, headers=AUTH) as response:
                text = await response.read()
                if response.status != 202:
                    raise RuntimeError(f"ingest answered {response.status}: {text[:300]!r}")

        yield post_aiohttp


async def through_http(url: str, size: int, work: list[list[dict[str, Any]]], *, in_flight: int, console: Console,
                       cpu: Callable[[], float], client: str = "aiohttp") -> dict[str, float]:  # fmt: skip
    """Post each batch and wait for its 202 (which the service sends only after Kafka's acks)."""
    async with http_poster(url, client=client, in_flight=in_flight) as post:
        return await timed([orjson.dumps(b) for b in work], post, size=size, in_flight=in_flight,
                           what=f"ingest HTTP ({client})", console=console, cpu=cpu)  # fmt: skip


async def through_producer(
    bootstrap: str,
    topic: str,
    size: int,
    work: list[list[dict[str, Any]]],
    *,
    in_flight: int,
    mode: str,
    console: Console,
) -> dict[str, float]:
    """The same events through a bare producer with the service's producer options, awaiting all acks.

    mode "send": `send` per record (the usual way); "batch": one `send_batch` per partition, what the service's
    FastStream `publish_batch` per partition does underneath (shared/producer.py).
    """
    records = [[(e["dossier_id"].encode(), orjson.dumps(e)) for e in batch] for batch in work]
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, request_timeout_ms=15_000, **PRODUCER_OPTIONS
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

        return await timed(records, send, size=size, in_flight=in_flight, what=f"raw producer ({mode})",
                           console=console)  # fmt: skip
    finally:
        await producer.stop()


@contextmanager
def sampled(pid: int, directory: Path | None, name: str, *, rate: int = 500) -> Iterator[None]:
    """`py-spy record --format raw` of the process while the block runs (nothing without a directory)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--nonblocking", "--rate", str(rate),
               "-o", str(directory / f"{name}.txt")]  # fmt: skip
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as recorder:
        try:
            yield
        finally:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            recorder.wait(30)


async def run_ingest(
    infra: Infrastructure, *, scale: float, raw: str, client: str = "aiohttp", py_spy: Path | None = None
) -> dict[str, Any]:
    """Every row through the raw producer, then through the ingest service, on fresh topics."""
    async with infra.run_scope("ingest") as scope:
        env = service_env(scope, environment="development")  # the documented demo credential
        with ServiceProcess("ingest", env=env, log_dir=infra.home / scope.run_id) as ingest:
            rows = []
            for size, in_flight in ROWS:
                count = WARMUP + max(10, int(REQUESTS[size, in_flight] * scale))
                now = datetime.now(UTC)
                raw_figures = await through_producer(scope.bootstrap, scope.topics.topic_events, size,
                                                     batches(size, count, now=now), in_flight=in_flight, mode=raw,
                                                     console=infra.console)  # fmt: skip
                with sampled(ingest.pid, py_spy, f"ingest-{size}x{in_flight}"):
                    http = await through_http(ingest.url, size, batches(size, count, now=now), in_flight=in_flight,
                                              console=infra.console, cpu=ingest.cpu_seconds, client=client)  # fmt: skip
                ratio = round(http["events_per_s"] / raw_figures["events_per_s"], 3)
                rows.append({"batch": size, "in_flight": in_flight, "requests": count - WARMUP, "ingest": http,
                             "raw_producer": raw_figures, "ratio": ratio})  # fmt: skip
            rss = ingest.peak_rss_mb()
    goals = ", ".join(f"{ratio}x at {size:,}-event requests" for (size, _), ratio in GOALS.items())
    return {"rows": rows, "raw_mode": raw, "client": client, "ingest_peak_rss_mb": rss, "cpus": os.cpu_count(),
            "load_average": load_average(), "measured_at": datetime.now(UTC).isoformat(),
            "goal": f"ingest / raw producer, one request in flight: >= {goals}"}  # fmt: skip


def verdicts(result: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each goal of GOALS, described, and whether the result meets it."""
    found = []
    for row in result["rows"]:
        goal = GOALS.get((row["batch"], row.get("in_flight", 1)))
        if goal is not None:
            described = f">= {goal:.2f}x at {row['batch']:,}-event requests: {row['ratio']:.2f}x"
            found.append((described, row["ratio"] >= goal))
    return found


def table(result: dict[str, Any]) -> Table:
    """Each batch size: the service beside the raw producer."""
    out = Table(
        "batch", "in flight", "ingest events/s", "ingest p50 / p99 ms", "ingest CPU µs / request",
        "raw producer events/s", "raw p50 / p99 ms", "ratio",
        title=f"ingest benchmark: HTTP via {result.get('client', 'httpx')} (202 after acks=all) vs raw aiokafka "
        f"producer ({result['raw_mode']})",
        caption=f"{result['cpus']} cores, 1-min load average {result['load_average']} at the end",
    )  # fmt: skip
    for row in result["rows"]:
        http, raw = row["ingest"], row["raw_producer"]
        cpu = http.get("cpu_us_per_request")
        out.add_row(f"{row['batch']:,}", str(row.get("in_flight", 1)), f"{http['events_per_s']:,}",
                    f"{http['p50_ms']:.2f} / {http['p99_ms']:.2f}", f"{cpu:,}" if cpu is not None else "",
                    f"{raw['events_per_s']:,}", f"{raw['p50_ms']:.2f} / {raw['p99_ms']:.2f}",
                    f"{row['ratio']:.2f}x")  # fmt: skip
    return out


def result_file(result: dict[str, Any], directory: Path = RESULTS) -> Path:
    """ingest.json for the usual raw mode and client; else ingest-raw-<mode>.json or ingest-client-<client>.json."""
    mode, client = result["raw_mode"], result.get("client", "aiohttp")
    if mode != "send":
        return directory / f"ingest-raw-{mode}.json"
    return directory / ("ingest.json" if client == "aiohttp" else f"ingest-client-{client}.json")


async def _main(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with Infrastructure(console=console, bootstrap=args.bootstrap, postgres=False) as infra:
        return await run_ingest(infra, scale=args.scale, raw=args.raw, client=args.client, py_spy=args.py_spy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the number of requests per batch size")
    parser.add_argument("--raw", choices=("send", "batch"), default="send",
                        help="raw producer: send per record, or send_batch per partition (as ingest's)")  # fmt: skip
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp", help="the HTTP client")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="sample the ingest process with py-spy per row")
    console = Console()
    result = asyncio.run(_main(parser.parse_args(), console))
    console.print(table(result))
    for described, met in verdicts(result):
        console.print(f"goal {described}: {'[green]met[/]' if met else '[red]missed[/]'}")
    save_result(result_file(result), result, console)


if __name__ == "__main__":
    main()
