"""Metrics benchmark: catch-up rate over a preloaded topic against a raw aiokafka consumer reading the same topic,
CPU per event (service, PostgreSQL, Kafka), peak RSS, and end-to-end latency (event acknowledged by Kafka ->
visible in /v1/kpis) at a steady rate, beside the moment a raw consumer could read it.

    .venv/bin/python bench/metrics.py [--events 1000000] [--rate 2000] [--latency-seconds 30] [--units-factor 1]

Starts its own Kafka and PostgreSQL (throw-away, on free ports) unless --bootstrap/--pg-dsn are given (on an
external PostgreSQL a database is created per run). --units-factor 10 runs over a unit tree ten times the sample's
(bench/scale.py). Prints a table and writes bench/results/metrics.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.catch_up import catch_up
from bench.infra import RESULTS, Infrastructure, RunScope, save_result
from bench.probes import ProbeTracker
from bench.procfs import load_average
from bench.raw_kafka import consumer_ceiling, preload
from bench.scale import TREES, NationalTree, describe, reference_files
from bench.service_process import ServiceProcess, service_env
from bench.traffic import paced_traffic
from bench.workload import Record, dossier_events, encoded
from shared.refdata import ReferenceData, load_reference_data

HISTORY = (timedelta(days=29), timedelta(hours=1))  # preloaded events: all inside the 30-day window


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsRun:
    """What one metrics benchmark run does."""

    events: int
    rate: int = 2000
    latency_seconds: int = 30
    units_factor: int = 1
    units_tree: NationalTree | None = None
    """A national two-tier tree instead of the sample (or `units_factor` copies of it): bench/scale.py."""
    lifecycle_baseline: bool = True
    """Also catch up over the same topic with the dossier lifecycle state off (a fresh database): its cost."""


async def steady_latency(
    metrics: ServiceProcess, *, bootstrap: str, topic: str, refdata: ReferenceData, run: MetricsRun, console: Console
) -> dict[str, Any]:
    """`run.rate` events/s produced straight to the events topic, probes timed from Kafka's acks until served."""
    now = datetime.now(UTC)
    filler = dossier_events(run.rate * run.latency_seconds, refdata=refdata, seed=99, now=now, oldest=HISTORY[0],
                            newest=HISTORY[1])  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()

    async def send(chunk: list[Record]) -> None:
        await asyncio.gather(*[await producer.send(topic, value, key=key) for key, value in encoded(chunk)])

    async with httpx.AsyncClient(timeout=60) as client:
        before = await metrics.prometheus(client)
    cpu = metrics.cpu_seconds()
    try:
        async with ProbeTracker(metrics_url=metrics.url, bootstrap=bootstrap, topic=topic) as tracker:
            achieved = await paced_traffic(rate=run.rate, seconds=run.latency_seconds, filler=filler, send=send,
                                           tracker=tracker, console=console,
                                           description=f"steady {run.rate:,} events/s to Kafka")  # fmt: skip
            cpu_share = (metrics.cpu_seconds() - cpu) / run.latency_seconds
            await tracker.drain(within_s=30)
    finally:
        await producer.stop()
    async with httpx.AsyncClient(timeout=60) as client:
        after = await metrics.prometheus(client)
    return {"rate": run.rate, "achieved_events_per_s": round(achieved), "metrics_cpu_share": round(cpu_share, 2),
            "snapshot_rounds": snapshot_rounds(before, after), **tracker.summary()}  # fmt: skip


def snapshot_rounds(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """The snapshot rounds between two scrapes: how many, their mean time and how many scopes each moved."""

    def delta(name: str) -> float:
        return after.get(name, 0.0) - before.get(name, 0.0)

    rounds = delta("civicpulse_snapshot_seconds_count")
    return {
        "rounds": int(rounds),
        "mean_ms": round(delta("civicpulse_snapshot_seconds_sum") * 1000 / rounds, 1) if rounds else 0.0,
        "mean_scopes": round(delta("civicpulse_snapshot_scopes_sum") / rounds) if rounds else 0,
    }


Alongside = Callable[[Infrastructure, RunScope, list[tuple[bytes, bytes]]], Awaitable[dict[str, Any]]]
"""A peer run on the same preloaded topic (bench/peers/): given the events produced, returns its figures."""


async def run_metrics(
    infra: Infrastructure, run: MetricsRun, *, label: str, alongside: Alongside | None = None
) -> dict[str, Any]:
    """Preload, raw consumer ceiling, catch-up, steady latency, peak RSS: one fresh topic and database.

    `alongside` runs after the raw consumer, before CivicPulse reads the topic (the latency run adds events to it).
    """
    console = infra.console
    files = reference_files(units_factor=run.units_factor, tree=run.units_tree, directory=infra.home / label)
    refdata = files.load() if files else load_reference_data()
    async with infra.run_scope(label, refdata=refdata) as scope:
        with console.status(f"generating {run.events:,} events"):
            records = encoded(dossier_events(run.events, refdata=refdata, seed=42, now=datetime.now(UTC),
                                             oldest=HISTORY[0], newest=HISTORY[1]))  # fmt: skip
        dossiers = len({key for key, _ in records})
        preload_s = await preload(scope.bootstrap, scope.topics.topic_events, records, console=console)
        ceiling = await consumer_ceiling(scope.bootstrap, scope.topics.topic_events, run.events, console=console)
        peer = await alongside(infra, scope, records) if alongside else None
        del records
        env = service_env(scope, **(files.env() if files else {}))
        without = None
        if run.lifecycle_baseline:
            async with infra.database(f"{scope.run_id}_nolc", refdata=refdata) as dsn:
                bare = {**env, "CIVICPULSE_PG_DSN": dsn, "CIVICPULSE_METRICS_LIFECYCLE_ENABLED": "false",
                        "CIVICPULSE_METRICS_GROUP_ID": f"{env['CIVICPULSE_METRICS_GROUP_ID']}-nolc"}  # fmt: skip
                logs = infra.home / f"{scope.run_id}_nolc"
                logs.mkdir(parents=True, exist_ok=True)
                with ServiceProcess("metrics", env=bare, log_dir=logs) as metrics:
                    without = await catch_up(metrics, infra=infra, dsn=dsn, group=bare["CIVICPULSE_METRICS_GROUP_ID"],
                                             total=run.events, console=console)  # fmt: skip
        with ServiceProcess("metrics", env=env, log_dir=infra.home / scope.run_id) as metrics:
            caught_up = await catch_up(metrics, infra=infra, dsn=scope.dsn, group=env["CIVICPULSE_METRICS_GROUP_ID"],
                                       total=run.events, console=console)  # fmt: skip
            latency = await steady_latency(metrics, bootstrap=scope.bootstrap, topic=scope.topics.topic_events,
                                           refdata=refdata, run=run, console=console)  # fmt: skip
            rss = metrics.peak_rss_mb()
    return {
        "label": label,
        "run": asdict(run),
        "reference_data": describe(refdata),
        "dossiers": dossiers,
        "preload_s": round(preload_s, 1),
        "raw_consumer_events_per_s": round(ceiling),
        "catch_up": caught_up,
        "ratio": round(caught_up["events_per_s"] / ceiling, 3),
        "catch_up_without_lifecycle": without,
        # Catch-up rate with the dossier state / without it, same topic: 1.0 = free, 0.8 = 20% slower.
        "lifecycle_ratio": None if without is None else round(caught_up["events_per_s"] / without["events_per_s"], 3),
        "latency": latency,
        "metrics_peak_rss_mb": rss,
        **({"peer": peer} if peer is not None else {}),
        "load_average": load_average(),
        "measured_at": datetime.now(UTC).isoformat(),
    }


def table(result: dict[str, Any]) -> Table:
    """The run's figures beside the raw consumer's."""
    catch, latency = result["catch_up"], result["latency"]
    out = Table("measure", "CivicPulse metrics", "raw aiokafka consumer", "ratio",
                title=f"metrics benchmark: {result['run']['events']:,} events, {result['reference_data']['units']:,} "
                      f"units")  # fmt: skip
    out.add_row("catch-up (events/s)", f"{catch['events_per_s']:,}", f"{result['raw_consumer_events_per_s']:,}",
                f"{result['ratio']:.3f}x")  # fmt: skip
    without = result.get("catch_up_without_lifecycle")
    if without is not None:
        out.add_row("catch-up without the lifecycle state (events/s)", f"{without['events_per_s']:,}",
                    f"{result['raw_consumer_events_per_s']:,}",
                    f"with it: {result['lifecycle_ratio']:.3f}x")  # fmt: skip
    cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in catch["cpu_ms_per_1k_events"].items())
    out.add_row("CPU ms per 1,000 events", cpu, "", "")
    out.add_row(
        f"latency p50 / p99 at {latency['rate']:,}/s (acked -> visible / readable)",
        f"{latency['visible']['p50_ms']:,.0f} / {latency['visible']['p99_ms']:,.0f} ms",
        f"{latency['raw_consumer']['p50_ms']:,.0f} / {latency['raw_consumer']['p99_ms']:,.0f} ms",
        "",
    )
    out.add_row("peak RSS", f"{result['metrics_peak_rss_mb']:.0f} MB", "", "")
    return out


async def _main(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    run = MetricsRun(events=args.events, rate=args.rate, latency_seconds=args.latency_seconds,
                     units_factor=args.units_factor, units_tree=TREES.get(args.units_tree or ""))  # fmt: skip
    with Infrastructure(console=console, bootstrap=args.bootstrap, pg_dsn=args.pg_dsn) as infra:
        return await run_metrics(infra, run, label="metrics")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=2000, help="events/s during the latency run")
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--units-factor", type=int, default=1, help="unit tree this many times the sample's")
    parser.add_argument("--units-tree", choices=sorted(TREES), help="a national two-tier tree (bench/scale.py)")
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--pg-dsn", help="use this PostgreSQL server instead of starting one")
    console = Console()
    result = asyncio.run(_main(parser.parse_args(), console))
    console.print(table(result))
    save_result(RESULTS / "metrics.json", result, console)


if __name__ == "__main__":
    main()
