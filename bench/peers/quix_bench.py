"""The Quix Streams peer on the metrics benchmark's preloaded topic: its rate, CPU and memory beside CivicPulse's
and its own client's ceiling, and whether the counts it wrote match the events' ground truth.

Called by bench/metrics.py (`run_metrics(..., alongside=quix_alongside)`) right after the raw consumer ceiling,
before CivicPulse reads the topic, so both read exactly the preloaded events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.progress import Progress

from bench.catch_up import decile_rates, steady_rate
from bench.infra import RESULTS, Infrastructure, RunScope
from bench.peers.venv import peer_python
from bench.procfs import cpu_seconds, peak_rss_mb
from services.metrics.core.counters import INDEX, aggregate
from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import pid_alive, spawn, stop_pid
from shared.events import parse_event

JOB = Path(__file__).with_name("quix_counts.py")
TABLE = "quix_counts_hourly"
COUNTERS = ("received", "received_online", "completed", "completed_on_time")
SAMPLE_S = 0.5
RUN_TIMEOUT_S = 1800
Key = tuple[datetime, str, str]


def ground_truth(records: Sequence[tuple[bytes, bytes]]) -> dict[Key, tuple[int, ...]]:
    """The four counters per hour x unit x procedure, as CivicPulse's core defines them, from the events produced."""
    rows = aggregate(parse_event(value) for _, value in records)
    picked = {(key.bucket, key.unit_code, key.procedure_code): tuple(row[INDEX[c]] for c in COUNTERS)
              for key, row in rows.items()}  # fmt: skip
    return {key: values for key, values in picked.items() if any(values)}


def compare(expected: dict[Key, tuple[int, ...]], written: dict[Key, tuple[int, ...]]) -> dict[str, Any]:
    """Whether the peer's rows are the ground truth, with totals per counter and how many rows differ."""
    keys = expected.keys() | written.keys()
    zero = (0,) * len(COUNTERS)
    differing = sum(1 for key in keys if expected.get(key, zero) != written.get(key, zero))
    totals = {name: {"expected": sum(v[i] for v in expected.values()), "written": sum(v[i] for v in written.values())}
              for i, name in enumerate(COUNTERS)}  # fmt: skip
    return {"match": differing == 0, "rows_expected": len(expected), "rows_written": len(written),
            "rows_differing": differing, "totals": totals}  # fmt: skip


async def _source_committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> int:
    offsets = await admin.list_consumer_group_offsets(group)
    return sum(max(0, meta.offset) for tp, meta in offsets.items() if tp.topic == topic)


async def _sink_total(connection: asyncpg.Connection) -> int:
    total = await connection.fetchval(
        f"SELECT coalesce(sum({' + '.join(COUNTERS)}), 0) FROM {TABLE}"  # noqa: S608 (our constant names)
        if await connection.fetchval("SELECT to_regclass($1)", TABLE)
        else "SELECT 0"
    )
    return int(total)


async def _written(connection: asyncpg.Connection) -> dict[Key, tuple[int, ...]]:
    rows = await connection.fetch(f"SELECT bucket, unit_code, procedure_code, {', '.join(COUNTERS)} FROM {TABLE}")  # noqa: S608
    return {(r["bucket"], r["unit_code"], r["procedure_code"]): tuple(r[c] for c in COUNTERS) for r in rows}


def _client_ceiling(python: Path, *, bootstrap: str, topic: str, total: int) -> int:
    """Events/s of a bare confluent-kafka consumer (Quix's client) reading the topic, in the peers' venv."""
    command = [str(python), str(JOB), "ceiling", "--bootstrap", bootstrap, "--topic", topic, "--total", str(total)]
    done = subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    return int(json.loads(done.stdout.strip().splitlines()[-1])["events_per_s"])


async def _drop_internal_topics(bootstrap: str, group: str) -> None:
    """Quix's repartition and changelog topics are named after the consumer group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [name for name in await admin.list_topics() if group in name]
        if names:
            await admin.delete_topics(names)
    finally:
        await admin.close()


async def run_quix_peer(
    infra: Infrastructure, scope: RunScope, records: Sequence[tuple[bytes, bytes]], *, grace_hours: float = 720
) -> dict[str, Any]:
    """The peer counting the scope's events topic into a database of its own; figures and the ground-truth check."""
    console = infra.console
    python = peer_python(console)
    with console.status("ground truth of the preloaded events"):
        expected = ground_truth(records)
    total, topic = len(records), scope.topics.topic_events
    with console.status("bare confluent-kafka consumer reading the topic"):
        ceiling = await asyncio.to_thread(_client_ceiling, python, bootstrap=scope.bootstrap, topic=topic, total=total)
    name, group = f"{scope.run_id}_quix", f"bench-quix-{scope.run_id}"
    dsn = await _create_database(infra, name)
    logs = infra.home / name
    try:
        result = await _count(infra, python=python, dsn=dsn, group=group, topic=topic, total=total, logs=logs,
                              grace_hours=grace_hours, console=console)  # fmt: skip
        connection = await asyncpg.connect(dsn)
        try:
            check = compare(expected, await _written(connection))
        finally:
            await connection.close()
        if not check["match"]:  # the servers' home goes at the end of the run: keep what the peer said
            kept = RESULTS / "quix-differ.log"
            shutil.copyfile(logs / "quix.log", kept)
            console.print(f"[yellow]the peer's counts differ from the ground truth; its log: {kept}[/]")
    finally:
        await _drop_database(infra, name)
        await _drop_internal_topics(scope.bootstrap, group)
    return {"peer": "quixstreams 3.28.1", "processing_guarantee": "exactly-once", "grace_hours": grace_hours,
            "client_ceiling_events_per_s": ceiling, **result, "ground_truth": check}  # fmt: skip


async def _count(
    infra: Infrastructure, *, python: Path, dsn: str, group: str, topic: str, total: int, logs: Path,
    grace_hours: float, console: Console,
) -> dict[str, Any]:  # fmt: skip
    command = [str(python), str(JOB), "run", "--bootstrap", infra.bootstrap, "--topic", topic, "--group", group,
               "--dsn", dsn, "--table", TABLE, "--state-dir", str(logs / "state"),
               "--first-message-file", str(logs / "first-message"), "--grace-hours", str(grace_hours)]  # fmt: skip
    servers = infra.server_cpu_seconds()
    started, started_wall = time.perf_counter(), time.time()
    process = spawn(command, log_file=logs / "quix.log", pid_file=logs / "quix.pid", cwd=REPO_ROOT)
    # (seconds, source events committed, sink total, peer CPU s, servers' CPU, peak RSS MB) per sample
    samples: list[tuple[float, int, int, float, dict[str, float], float]] = []
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.bootstrap)
    await admin.start()
    connection = await asyncpg.connect(dsn)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("Quix Streams peer counting", total=total)
            while process.poll() is None:
                if time.perf_counter() - started > RUN_TIMEOUT_S:
                    raise RuntimeError(f"the Quix peer did not finish within {RUN_TIMEOUT_S} s ({logs})")
                await asyncio.sleep(SAMPLE_S)
                if not pid_alive(process.pid):
                    break
                samples.append((time.perf_counter() - started, await _source_committed(admin, group, topic),
                                await _sink_total(connection), cpu_seconds(process.pid), infra.server_cpu_seconds(),
                                peak_rss_mb(process.pid)))  # fmt: skip
                progress.update(task, completed=samples[-1][1])
        final = await _sink_total(connection)
        exited_s = time.perf_counter() - started
    finally:
        await connection.close()
        await admin.close()
        if process.poll() is None:
            stop_pid(process.pid)
        process.wait(30)
    if process.returncode != 0:
        raise RuntimeError(f"the Quix peer exited with {process.returncode} ({logs / 'quix.log'})")
    if not samples:
        raise RuntimeError(f"the Quix peer exited before its first sample ({logs / 'quix.log'})")
    # Visible = the first moment PostgreSQL held the final sums (the job then idles until its stop timeout); if
    # only its last checkpoint, on the way out, wrote them: when it exited (CPU as last sampled).
    last = samples[-1]
    at, committed, _, cpu, servers_then, _ = next((s for s in samples if s[2] == final), (exited_s, *last[1:]))
    per_kilo = 1000 / total
    committed_samples = [(s[0], s[1]) for s in samples]
    start_up = float((logs / "first-message").read_text()) - started_wall
    # CPU from the last sample before the first record (start-up left out, as CivicPulse's is), else from spawn.
    before = [sample for sample in samples if sample[0] <= start_up]
    if before:
        cpu, servers = cpu - before[-1][3], before[-1][4]
    return {
        # From the first record done until PostgreSQL held the final sums (CivicPulse: from /readyz).
        "seconds": round(at - start_up, 2),
        "events_per_s": round(total / (at - start_up)),
        "start_up_s": round(start_up, 2),
        "source_committed_at_visible": committed,
        "steady_events_per_s": steady_rate(committed_samples) or None,  # None: all committed at once
        "decile_events_per_s": decile_rates(committed_samples, total),
        "cpu_ms_per_1k_events": {
            "quix": round(cpu * 1000 * per_kilo, 1),
            **{name: round((servers_then[name] - used) * 1000 * per_kilo, 1) for name, used in servers.items()},
        },
        "peak_rss_mb": round(max(s[5] for s in samples), 1),
    }


async def _create_database(infra: Infrastructure, name: str) -> str:
    server = await asyncpg.connect(infra.server_dsn)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    return urlunsplit(urlsplit(infra.server_dsn)._replace(path=f"/{name}"))


async def _drop_database(infra: Infrastructure, name: str) -> None:
    server = await asyncpg.connect(infra.server_dsn)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


async def _main(events: int, grace_hours: float, console: Console) -> dict[str, Any]:
    from bench.metrics import HISTORY
    from bench.raw_kafka import preload
    from bench.workload import dossier_events, encoded
    from shared.refdata import load_reference_data

    with Infrastructure(console=console) as infra:
        async with infra.run_scope("quix") as scope:
            records = encoded(dossier_events(events, refdata=load_reference_data(), seed=42,
                                             now=datetime.now(UTC), oldest=HISTORY[0], newest=HISTORY[1]))  # fmt: skip
            await preload(scope.bootstrap, scope.topics.topic_events, records, console=console)
            return await run_quix_peer(infra, scope, records, grace_hours=grace_hours)


def main() -> None:
    """`.venv/bin/python -m bench.peers.quix_bench [--events N] [--grace-hours H]`: the peer alone."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--grace-hours", type=float, default=720)
    args = parser.parse_args()
    console = Console()
    console.print_json(json.dumps(asyncio.run(_main(args.events, args.grace_hours, console)), default=str))


if __name__ == "__main__":
    main()
