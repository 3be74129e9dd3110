"""Whole-pipeline benchmark: the ingest and metrics services as real processes (production settings, a hashed
bearer token), fed over HTTP at fixed rates. For each rate: end-to-end latency of probe events from the 202 to
being visible in the metrics API's /v1/kpis, beside the moment a raw aiokafka consumer could read them from the
events topic in the same run; the ingest request latency; each service's CPU share; peak RSS of both.

    .venv/bin/python bench/pipeline.py [--rates 500,2000] [--seconds 30]

Traffic is open-loop: a batch every 100 ms, whether or not the previous ones were answered, each rate first
warmed up for a few seconds without probes. Starts its own Kafka and PostgreSQL unless --bootstrap/--pg-dsn are
given. Prints a table and writes bench/results/pipeline.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.infra import RESULTS, Infrastructure, save_result
from bench.probes import ProbeTracker
from bench.procfs import load_average
from bench.service_process import ServiceProcess, service_env
from bench.traffic import paced_traffic
from bench.workload import SOURCE, Record, dossier_events
from services.ingest.auth import hash_token
from shared.refdata import load_reference_data

TOKEN = "bench-pipeline-token"  # noqa: S105 (a throw-away credential for a throw-away service)
WARMUP_S = 3
LIVE = (timedelta(hours=2), timedelta(minutes=1))  # live traffic: dossiers received in the last two hours


async def one_rate(
    ingest: ServiceProcess, metrics: ServiceProcess, *, bootstrap: str, topic: str, rate: int, seconds: int,
    console: Console,
) -> dict[str, Any]:  # fmt: skip
    """Warm up, then `seconds` of traffic at `rate` with probes; latencies and CPU shares."""
    filler = dossier_events(rate * (seconds + WARMUP_S), refdata=load_reference_data(), seed=rate,
                            now=datetime.now(UTC), oldest=LIVE[0], newest=LIVE[1])  # fmt: skip
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=ingest.url, headers=headers, timeout=30,
                                 limits=httpx.Limits(max_connections=50)) as client:  # fmt: skip

        async def post(chunk: list[Record]) -> None:
            response = await client.post("/v1/events", content=orjson.dumps([event for _, event in chunk]))
            if response.status_code != 202:
                raise RuntimeError(f"ingest answered {response.status_code}: {response.text[:300]}")

        warm = filler[: rate * WARMUP_S]
        await paced_traffic(rate=rate, seconds=WARMUP_S, filler=warm, send=post, tracker=None, console=console,
                            description=f"warming up at {rate:,} events/s")  # fmt: skip
        cpu = {"ingest": ingest.cpu_seconds(), "metrics": metrics.cpu_seconds()}
        async with ProbeTracker(metrics_url=metrics.url, bootstrap=bootstrap, topic=topic) as tracker:
            achieved = await paced_traffic(rate=rate, seconds=seconds, filler=filler[len(warm) :], send=post,
                                           tracker=tracker, console=console,
                                           description=f"{rate:,} events/s through ingest")  # fmt: skip
            cpu_share = {
                "ingest": round((ingest.cpu_seconds() - cpu["ingest"]) / seconds, 2),
                "metrics": round((metrics.cpu_seconds() - cpu["metrics"]) / seconds, 2),
            }
            await tracker.drain(within_s=30)
    return {"rate": rate, "achieved_events_per_s": round(achieved), "cpu_share": cpu_share, **tracker.summary()}


async def run_pipeline(infra: Infrastructure, *, rates: list[int], seconds: int) -> dict[str, Any]:
    """Both services on fresh topics and a fresh database; each rate in turn, lowest first."""
    async with infra.run_scope("pipeline", refdata=load_reference_data()) as scope:
        workdir = infra.home / scope.run_id
        workdir.mkdir(parents=True, exist_ok=True)
        tokens = workdir / "tokens.yaml"
        tokens.write_text(f"sources:\n  {SOURCE}:\n    tokens: [{hash_token(TOKEN)}]\n")
        env = service_env(scope, CIVICPULSE_INGEST_TOKENS_FILE=str(tokens))
        with (
            ServiceProcess("ingest", env=env, log_dir=workdir) as ingest,
            ServiceProcess("metrics", env=env, log_dir=workdir) as metrics,
        ):
            rows = []
            for rate in sorted(rates):
                rows.append(await one_rate(ingest, metrics, bootstrap=scope.bootstrap, topic=scope.topics.topic_events,
                                           rate=rate, seconds=seconds, console=infra.console))  # fmt: skip
            rss = {"ingest": ingest.peak_rss_mb(), "metrics": metrics.peak_rss_mb()}
    return {"rows": rows, "seconds_per_rate": seconds, "peak_rss_mb": rss, "load_average": load_average(),
            "measured_at": datetime.now(UTC).isoformat()}  # fmt: skip


def table(result: dict[str, Any]) -> Table:
    """Each rate: end-to-end latency beside the raw consumer's, and what it cost."""
    out = Table("rate (events/s)", "202 -> visible p50 / p99", "202 -> raw consumer p50 / p99",
                "POST -> 202 p50 / p99", "CPU share ingest / metrics", "probes",
                title="whole pipeline: HTTP -> ingest -> Kafka -> metrics -> /v1/kpis")  # fmt: skip
    for row in result["rows"]:
        visible, raw, accepted = row["visible"], row["raw_consumer"], row["accepted"]
        out.add_row(f"{row['rate']:,} (achieved {row['achieved_events_per_s']:,})",
                    f"{visible['p50_ms']:,.0f} / {visible['p99_ms']:,.0f} ms",
                    f"{raw['p50_ms']:,.1f} / {raw['p99_ms']:,.1f} ms",
                    f"{accepted['p50_ms']:,.1f} / {accepted['p99_ms']:,.1f} ms",
                    f"{row['cpu_share']['ingest']:.2f} / {row['cpu_share']['metrics']:.2f}",
                    f"{row['probes']} ({row['never_visible']} lost)")  # fmt: skip
    rss = result["peak_rss_mb"]
    out.caption = f"peak RSS: ingest {rss['ingest']:.0f} MB, metrics {rss['metrics']:.0f} MB"
    return out


async def _main(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    with Infrastructure(console=console, bootstrap=args.bootstrap, pg_dsn=args.pg_dsn) as infra:
        return await run_pipeline(infra, rates=args.rates, seconds=args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=lambda s: [int(r) for r in s.split(",")], default=[500, 2000],
                        help="comma-separated events/s")  # fmt: skip
    parser.add_argument("--seconds", type=int, default=30, help="measured seconds per rate")
    parser.add_argument("--bootstrap", help="use this Kafka instead of starting one")
    parser.add_argument("--pg-dsn", help="use this PostgreSQL server instead of starting one")
    console = Console()
    result = asyncio.run(_main(parser.parse_args(), console))
    console.print(table(result))
    save_result(RESULTS / "pipeline.json", result, console)


if __name__ == "__main__":
    main()
