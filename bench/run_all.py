"""Every benchmark on one throw-away Kafka + PostgreSQL (fresh topics and database per run), then one table.

    .venv/bin/python bench/run_all.py            # what `make bench` runs: ~12 minutes on 2 cores
    .venv/bin/python bench/run_all.py --quick    # a smoke run of the same code, ~2.5 minutes

1. ingest: HTTP batches of 1/100/1,000 events against a raw aiokafka producer (bench/ingest.py);
2. metrics: catch-up over N preloaded events (100k) against a raw aiokafka consumer, latency at 2,000/s, CPU, RSS
   (bench/metrics.py), and on the same topic the Quix Streams peer with its own client's ceiling (bench/peers/);
3. pipeline: ingest + metrics fed over HTTP at 500 and 2,000 events/s, 202 -> visible latency (bench/pipeline.py);
4. scaling: the metrics run again at 10x the events (1M), and over today's national two-tier tree (3,899 units)
   and the same with the 2024 trees of the merged provinces (10,063 units) (bench/scale.py; --quick: 4 provinces).

N = 100k keeps `make bench` near 7 minutes here while the 10x run (1M events, ~70 s of catch-up) is long
enough for a steady rate. Writes ingest.json, metrics.json, pipeline.json, scaling.json, summary.json and
summary.md (the table in Markdown) under bench/results/ (--quick: bench/results/quick/).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import report
from bench.infra import RESULTS, Infrastructure
from bench.ingest import run_ingest
from bench.metrics import MetricsRun, run_metrics
from bench.peers.quix_bench import run_quix_peer
from bench.pipeline import run_pipeline
from bench.procfs import load_average
from bench.results_files import RunInfo, read_results, write_results, write_summary
from bench.scale import NATIONAL, NATIONAL_HISTORY, NationalTree
from bench.table import rich_table


@dataclass(frozen=True, slots=True)
class Sizes:
    """How big the runs are."""

    events: int  # base events of the metrics runs
    seconds: int  # measured seconds of each latency run
    ingest_scale: float  # multiplies the ingest benchmark's request counts
    trees: tuple[NationalTree, NationalTree]  # the unit-scaling runs: today's tree, then with its history


FULL = Sizes(events=100_000, seconds=30, ingest_scale=1.0, trees=(NATIONAL, NATIONAL_HISTORY))
QUICK = Sizes(events=10_000, seconds=6, ingest_scale=0.2,
              trees=(NationalTree("national-quick", provinces=4, communes=390),
                     NationalTree("national-history-quick", provinces=4, communes=390, merged=3)))  # fmt: skip


async def run_all(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    """The runs in turn; their results by name, with how long each took and the load around it."""
    sizes = QUICK if args.quick else FULL
    events, seconds, factor = args.events or sizes.events, args.seconds or sizes.seconds, args.factor
    base = MetricsRun(events=events, rate=max(args.rates), latency_seconds=seconds)
    # The lifecycle state's cost is measured once, on the base run; the scaling runs keep it on.
    more_events = replace(base, events=events * factor, lifecycle_baseline=False)
    today, history = (replace(base, units_tree=tree, lifecycle_baseline=False) for tree in sizes.trees)
    steps: list[tuple[str, str, Callable[[Infrastructure], Awaitable[dict[str, Any]]]]] = [
        ("ingest", "ingest vs raw producer", lambda infra: run_ingest(infra, scale=sizes.ingest_scale, raw="send")),
        ("metrics_base", f"metrics: {events:,} events, then the Quix Streams peer on the same topic",
         lambda infra: run_metrics(infra, base, label="metrics_base", alongside=run_quix_peer)),
        ("pipeline", f"whole pipeline at {', '.join(map(str, args.rates))} events/s",
         lambda infra: run_pipeline(infra, rates=args.rates, seconds=seconds)),
        ("metrics_events", f"scaling: metrics at {factor}x the events ({events * factor:,})",
         lambda infra: run_metrics(infra, more_events, label="metrics_events")),
        ("metrics_units_mid", f"scaling: metrics over the {sizes.trees[0].name} tree ({events:,} events)",
         lambda infra: run_metrics(infra, today, label="metrics_units_mid")),
        ("metrics_units", f"scaling: metrics over the {sizes.trees[1].name} tree ({events:,} events)",
         lambda infra: run_metrics(infra, history, label="metrics_units")),
    ]  # fmt: skip
    results: dict[str, Any] = {}
    timings: dict[str, dict[str, float]] = {}
    with Infrastructure(console=console, bootstrap=args.bootstrap, pg_dsn=args.pg_dsn) as infra:
        for number, (name, title, step) in enumerate(steps, start=1):
            console.rule(f"[{number}/{len(steps)}] {title}")
            load_before, started = load_average(), time.perf_counter()
            results[name] = await step(infra)
            timings[name] = {"seconds": round(time.perf_counter() - started, 1), "load_before": load_before,
                             "load_after": load_average()}  # fmt: skip
            console.print(f"done in {timings[name]['seconds']:.0f} s (load {load_before} -> {load_average()})")
    results["timings"] = timings
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of the same code")
    parser.add_argument("--events", type=int, help="base events of the metrics runs (100k; quick: 10k)")
    parser.add_argument("--factor", type=int, default=10, help="how many times the events of the 10x-events run")
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], default=[500, 2000],
                        help="comma-separated events/s of the latency runs (metrics runs: the highest)")  # fmt: skip
    parser.add_argument("--seconds", type=int, help="measured seconds per latency run (30; quick: 6)")
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--pg-dsn", help="use this PostgreSQL server instead of starting one")
    parser.add_argument("--results", type=Path, help="where to write the JSON (bench/results; quick: .../quick)")
    parser.add_argument("--reprint", action="store_true", help="run nothing: print the table of the last run again")
    args = parser.parse_args()
    console = Console(width=None if sys.stdout.isatty() else 160)  # a log file gets the whole table
    directory = args.results or (RESULTS / "quick" if args.quick else RESULTS)
    if args.reprint:
        results, info = read_results(directory)
    else:
        started, load_before = time.perf_counter(), load_average()
        results = asyncio.run(run_all(args, console))
        info = RunInfo(command=shlex.join([".venv/bin/python", "bench/run_all.py", *sys.argv[1:]]),
                       cpus=os.cpu_count() or 0, minutes=round((time.perf_counter() - started) / 60, 1),
                       measured_at=datetime.now(UTC).isoformat(), load_before=load_before,
                       load_after=load_average(), factor=args.factor)  # fmt: skip
        write_results(directory, results, info)
    parts = report.sections(results, factor=info.factor)
    console.print(rich_table(parts, title="CivicPulse benchmarks", caption=info.caption()))
    write_summary(directory, results, info, parts)
    console.print(f"results in {directory}: ingest, metrics, pipeline, scaling, summary (.json) and summary.md")


if __name__ == "__main__":
    main()
