"""`civicpulse simulate`: realistic province traffic to the ingest API, with a progress bar and a summary."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.simulator.generator import ProvinceWorld
from services.simulator.profile import PROFILES, parse_duration, parse_incident, parse_rate, rhythm
from services.simulator.sender import IngestClient, RejectedError, run_batches
from services.simulator.tally import KPI_TERMS, LIFECYCLE_TERMS, KpiTally
from shared.events import event_adapter
from shared.refdata import load_reference_data

console = Console(stderr=True)
DEV_TOKEN = "demo-token"  # noqa: S105 (the ingest service's documented development credential)


async def paced_batches(
    world: ProvinceWorld, *, rate: float, total: int | None, duration: float | None, batch: int, use_rhythm: bool,
    backfill: float, backfill_events: int,
) -> AsyncIterator[list[dict[str, Any]]]:  # fmt: skip
    """Backfilled history first (as fast as accepted), then live events paced to the rate."""
    started = datetime.now(UTC)
    for start in range(0, backfill_events, batch):
        count = min(batch, backfill_events - start)
        yield [world.next_event(_backfill_time(started, backfill, start + i, backfill_events)) for i in range(count)]
    produced, clock = 0, time.monotonic()
    deadline = clock + duration if duration is not None else None
    size = max(1, min(batch, int(rate / 2) or 1))
    while (total is None or produced < total) and (deadline is None or time.monotonic() < deadline):
        now = datetime.now(UTC)
        count = size if total is None else min(size, total - produced)
        yield [world.next_event(now) for _ in range(count)]
        produced += count
        clock += count / (rate * (rhythm(now) if use_rhythm else 1.0))
        await asyncio.sleep(max(0.0, clock - time.monotonic()))


def _backfill_time(started: datetime, span: float, index: int, total: int) -> datetime:
    return started - timedelta(seconds=span * (1 - index / total))


def simulate(
    profile: Annotated[str, typer.Option(help=f"Traffic profile: {', '.join(PROFILES)}.")] = "haiduong",
    rate: Annotated[str, typer.Option(help="Average event rate, e.g. 200/s.")] = "200/s",
    duration: Annotated[str | None, typer.Option(help="How long to run, e.g. 10m (default: until --events).")] = None,
    events: Annotated[int | None, typer.Option(help="Stop after this many live events.")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Same seed, same events, ids included (a replay); default: a new one.")
    ] = None,
    incident: Annotated[
        list[str] | None,
        typer.Option(
            help="A unit's subtree slipping, e.g. unit=H24.107,kpi=online_submission_rate,to=0.6,for=1h "
            "(kpi=backlog: the units get only `to` of their work done; district= is an alias of unit; repeatable)."
        ),
    ] = None,
    record: Annotated[Path | None, typer.Option(help="Append every acknowledged event (NDJSON) to this file.")] = None,
    url: Annotated[str, typer.Option(help="Ingest API base URL.")] = "http://127.0.0.1:8001",
    token: Annotated[str | None, typer.Option(help="Bearer token (default: $CIVICPULSE_SIMULATOR_TOKEN).")] = None,
    source: Annotated[str, typer.Option(help="Source the token belongs to.")] = "demo",
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Events per request.")] = 200,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests in flight.")] = 4,
    backfill: Annotated[str, typer.Option(help="Spread --backfill-events over this much past time first.")] = "0s",
    backfill_events: Annotated[int, typer.Option(min=0, help="History sent before live traffic.")] = 0,
    use_rhythm: Annotated[bool, typer.Option("--rhythm/--no-rhythm", help="Office-hour and month-end peaks.")] = True,
) -> None:
    """Send realistic dossier and feedback traffic for the sample province to the ingest API."""
    if duration is None and events is None:
        raise typer.BadParameter("give --duration or --events")
    if profile not in PROFILES:
        raise typer.BadParameter(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    try:
        incidents = [parse_incident(text) for text in incident or ()]
        per_second = parse_rate(rate)
        seconds = parse_duration(duration).total_seconds() if duration else None
        backfill_s = parse_duration(backfill).total_seconds()
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    token = token or os.environ.get("CIVICPULSE_SIMULATOR_TOKEN") or DEV_TOKEN
    if seed is None:
        # A fresh seed each run: the same ids again would be duplicates, silently dropped downstream.
        seed = secrets.randbits(31)
    console.print(f"simulate: seed {seed} (pass --seed {seed} to replay exactly these events)")
    chosen = PROFILES[profile]
    try:
        world = ProvinceWorld(refdata=load_reference_data(sample_units=chosen.units), profile=chosen, seed=seed,
                              source=source, incidents=incidents, started_at=datetime.now(UTC))  # fmt: skip
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    truth = KpiTally()
    started = time.monotonic()
    expected = (events or 0) + backfill_events if events is not None else None
    with Progress(TextColumn("[bold]simulate[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[status]}"), console=console) as progress:  # fmt: skip
        task = progress.add_task("events", total=expected, status="")

        async def main() -> IngestClient:
            client = IngestClient(
                url=url,
                token=token,
                record=record,
                on_accepted=lambda batch: truth.add(map(event_adapter.validate_python, batch)),
            )
            async with client:
                batches = paced_batches(
                    world,
                    rate=per_second,
                    total=events,
                    duration=seconds,
                    batch=batch,
                    use_rhythm=use_rhythm,
                    backfill=backfill_s,
                    backfill_events=backfill_events,
                )

                last_line = [time.monotonic()]

                def sent(n: int) -> None:
                    progress.update(task, advance=n, status=f"retries {client.stats.retries}")
                    # Without a terminal (make up, CI) the bar is invisible: a progress line every 10 s instead.
                    if not console.is_terminal and time.monotonic() - last_line[0] >= 10:
                        last_line[0] = time.monotonic()
                        stats = client.stats
                        console.print(f"simulate: {stats.accepted:,} events acknowledged, {stats.retries} retries, "
                                      f"{stats.accepted / (last_line[0] - started):,.0f} events/s")  # fmt: skip

                await run_batches(batches, client=client, concurrency=concurrency, on_sent=sent)
            return client

        try:
            client = asyncio.run(main())
        except* RejectedError as group:
            console.print(f"[red]stopped:[/] {group.exceptions[0]}")
            sys.exit(2)
    _summary(client, truth, time.monotonic() - started)


def _summary(client: IngestClient, truth: KpiTally, elapsed: float) -> None:
    stats = client.stats
    table = Table("", "value", title="simulation summary")
    table.add_row("events acknowledged (202)", f"{stats.accepted:,}")
    table.add_row("retried requests", f"{stats.retries:,}")
    table.add_row("responses by status", ", ".join(f"{k}: {v}" for k, v in sorted(stats.by_status.items())))
    table.add_row("elapsed", f"{elapsed:.1f}s ({stats.accepted / max(elapsed, 1e-9):,.0f} events/s)")
    for kpi in KPI_TERMS:
        numerator, denominator = truth.figure(kpi)
        figure = f"{numerator / denominator:.2%} ({numerator:,}/{denominator:,})" if denominator else "no data"
        table.add_row(kpi, figure)
    for label, name in LIFECYCLE_TERMS.items():
        table.add_row(label, truth.lifecycle(name))
    console.print(table)
