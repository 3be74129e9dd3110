"""`civicpulse dev`: the local stack of real Kafka, PostgreSQL and the services, without Docker."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.alerts.settings import DEFAULT_RULES_FILE
from services.cli.admin import load_refdata, run_migrations
from shared.devstack.kafka import REPO_ROOT
from shared.devstack.processes import StartError, StopError
from shared.devstack.stack import DevStack, ServiceProcess
from shared.settings import KafkaSettings, PostgresSettings, ReferenceDataSettings, TopicSettings
from shared.topics import ensure_topics

app = typer.Typer(no_args_is_help=True, help=__doc__)
console = Console()


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"CIVICPULSE_DEV_{name.upper()}_PORT", default))


INGEST_PORT = _port("ingest", 8001)
SERVICES: list[ServiceProcess] = [
    ServiceProcess("ingest", ("ingest", "serve"), INGEST_PORT),
    # The board's alerts panel reads the alerts API wherever CIVICPULSE_DEV_ALERTS_PORT put it.
    ServiceProcess(
        "metrics",
        ("metrics", "serve"),
        _port("metrics", 8002),
        env=(("CIVICPULSE_METRICS_BOARD_ALERTS_URL", f"http://127.0.0.1:{_port('alerts', 8003)}"),),
    ),
    ServiceProcess("alerts", ("alerts", "serve"), _port("alerts", 8003)),
]
"""Project processes the stack runs, in start order (ports: CIVICPULSE_DEV_<NAME>_PORT)."""
DEMO_RULES = REPO_ROOT / "deploy" / "demo" / "alert_rules.yaml"
"""With demo traffic, alerts use short windows so the simulator's incident shows within minutes."""
DEMO_PROMETHEUS_RULES = REPO_ROOT / "deploy" / "demo" / "prometheus_rules.yml"
"""The same short-window rules for Prometheus: with demo traffic, in place of the shipped KPI alerting rules."""
DEMO: list[ServiceProcess] = [
    # A week of history first, so every window has data at once; then live traffic for today's Hải Phòng with
    # one ward (H24.107, Phường Hồng Bàng) slipping. A flat 100/s (no daily rhythm), so the incident shows within
    # minutes at any hour (at 50/s the ward's 1-day figure took 4-7 minutes to cross its threshold).
    ServiceProcess("simulator", (
        "simulate", "--profile", "haiphong", "--rate", "100/s", "--no-rhythm", "--duration", "24h", "--backfill", "7d",
        "--backfill-events", "60000", "--url", f"http://127.0.0.1:{INGEST_PORT}",
        "--incident", "unit=H24.107,kpi=online_submission_rate,to=0.4,for=2h",
    ), optional=True),
]  # fmt: skip
"""Processes that produce demo traffic."""


def build_stack() -> DevStack:
    """The stack with every service that has landed."""
    return DevStack(services=[*SERVICES, *DEMO])


@app.command()
def up(demo: Annotated[bool, typer.Option(help="Also start demo traffic.")] = True) -> None:
    """Start Kafka, PostgreSQL, migrations, topics, reference data and the services."""
    stack = build_stack()

    def progress(line: str) -> None:
        console.print(f"[cyan]•[/] {line}")

    try:
        stack.start_infrastructure(progress=progress)
        env = stack.environment()
        pg = PostgresSettings(pg_dsn=env["CIVICPULSE_PG_DSN"])
        applied = asyncio.run(run_migrations(pg))
        progress(f"migrations: {len(applied)} applied")
        reports = asyncio.run(ensure_topics(KafkaSettings(kafka_bootstrap=stack.bootstrap), TopicSettings()))
        progress(f"topics: {', '.join(r.name for r in reports)}")
        units, entries = asyncio.run(load_refdata(pg, ReferenceDataSettings()))
        progress(f"reference data: {units} units, {entries} catalogue entries")
        stack.start_alertmanager(progress=progress)
        # The alerts service notifies the stack's Alertmanager as well as what its rules file names.
        rules_file = stack.alerts_rules_file(
            DEMO_RULES if demo else Path(os.environ.get("CIVICPULSE_ALERTS_RULES_FILE", DEFAULT_RULES_FILE))
        )
        for service in SERVICES + (DEMO if demo else []):
            progress(f"{service.name}: starting")
            if service.name == "alerts":
                stack.start_service(replace(service, env=(("CIVICPULSE_ALERTS_RULES_FILE", str(rules_file)),)))
            else:
                stack.start_service(service)
        stack.start_prometheus(demo_rules=DEMO_PROMETHEUS_RULES if demo else None, progress=progress)
    except StartError as exc:
        console.print(f"[red]start failed:[/] {exc}")
        sys.exit(1)
    env_file = stack.write_env_file()
    console.print("\n[bold green]CivicPulse is up.[/]")
    _print_status(stack)
    console.print(
        f"\nPrometheus:   [bold]{stack.prometheus_url}/alerts[/]\nAlertmanager: [bold]{stack.alertmanager_url}[/]"
        f"\nBoard:        [bold]{stack.service_url('metrics')}/board/[/]"
    )
    console.print(f"\nPoint the CLI at it: [bold]source {env_file}[/]   Stop it: [bold]make down[/]")


@app.command()
def down() -> None:
    """Stop everything `dev up` started."""
    try:
        stopped = build_stack().stop()
    except StopError as exc:
        console.print(f"[red]stop failed:[/] {exc}")
        sys.exit(1)
    console.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")


@app.command()
def status() -> None:
    """Health of each component."""
    healthy = _print_status(build_stack())
    sys.exit(0 if healthy else 1)


def _print_status(stack: DevStack) -> bool:
    table = Table("component", "health", "where")
    all_ok = True
    for name, ok, where in stack.status():
        all_ok &= ok is not False
        shown = {True: "[green]healthy[/]", False: "[red]down[/]", None: "[dim]not running[/]"}[ok]
        table.add_row(name, shown, where)
    console.print(table)
    return all_ok
