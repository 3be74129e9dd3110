"""Operator commands: migrate, topics, reference data, contract schemas."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
import yaml
from rich.console import Console

from shared.alert_changes import alert_change_json_schema
from shared.events import event_json_schema
from shared.kpi_catalogue import catalogue_json_schema
from shared.migrations import migrate as apply_migrations
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, PostgresSettings, ReferenceDataSettings, TopicSettings
from shared.snapshots import snapshot_json_schema
from shared.topics import ensure_topics

console = Console(stderr=True)
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "schema"
CONTRACT_SCHEMAS: dict[str, Callable[[], Mapping[str, object]]] = {
    "events.schema.json": event_json_schema,
    "kpi_snapshot.schema.json": snapshot_json_schema,
    "alert_change.schema.json": alert_change_json_schema,
    "kpi_catalogue.schema.json": catalogue_json_schema,
}
"""Every wire contract in shared/ and the file its committed JSON Schema lives in."""
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
refdata_app = typer.Typer(no_args_is_help=True, help="Unit tree and procedure catalogue.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schemas of the wire contracts.")
docs_app = typer.Typer(no_args_is_help=True, help="Generated documentation.")
README = Path(__file__).resolve().parents[2] / "README.md"
ASYNCAPI_DIR = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
ASYNCAPI_FACTORIES = {
    "ingest": "services.ingest.asyncapi",
    "metrics": "services.metrics.asyncapi",
    "alerts": "services.alerts.asyncapi",
}
"""Each service's AsyncAPI factory (`app()`), built from its composition root with default settings."""


async def run_migrations(settings: PostgresSettings) -> list[str]:
    """Apply pending migrations; returns the names applied."""
    connection = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        return [f"{m.version:04d}_{m.name}" for m in await apply_migrations(connection)]
    finally:
        await connection.close()


async def load_refdata(settings: PostgresSettings, files: ReferenceDataSettings) -> tuple[int, int]:
    """Write the unit tree and catalogue to the database; returns (units, catalogue entries)."""
    data = load_reference_data(units_file=files.units_file, procedures_file=files.procedures_file)
    connection = await asyncpg.connect(settings.pg_dsn.get_secret_value())
    try:
        await sync_reference_data(connection, data)
    finally:
        await connection.close()
    return len(data.tree.units), len(data.catalogue.offered(data.tree))


def migrate() -> None:
    """Apply database migrations (safe to run twice, or from two processes at once)."""
    applied = asyncio.run(run_migrations(PostgresSettings()))
    console.print(f"migrations applied: {', '.join(applied) if applied else 'none (up to date)'}")


@topics_app.command("ensure")
def topics_ensure() -> None:
    """Create missing topics and report drift from the wanted partitions and retention."""
    reports = asyncio.run(ensure_topics(KafkaSettings(), TopicSettings()))
    for report in reports:
        state = "created" if report.created else "exists"
        drift = f"  [yellow]drift: {'; '.join(report.drift)}[/]" if report.drift else ""
        console.print(f"{report.name}: {state}{drift}")


@refdata_app.command("load")
def refdata_load() -> None:
    """Load the unit tree and procedure catalogue files into the database."""
    units, entries = asyncio.run(load_refdata(PostgresSettings(), ReferenceDataSettings()))
    console.print(f"reference data loaded: {units} units, {entries} catalogue entries")


def contract_schema_text(name: str) -> str:
    """The committed text of one contract's schema, as the models give it today."""
    return json.dumps(CONTRACT_SCHEMAS[name](), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@schema_app.command("export")
def schema_export(
    check: Annotated[bool, typer.Option(help="Fail if a committed schema differs from the models.")] = False,
) -> None:
    """Write (or check) shared/schema/*.schema.json: the event, snapshot, alert change and KPI catalogue."""
    stale = []
    for name in CONTRACT_SCHEMAS:
        path, text = SCHEMA_DIR / name, contract_schema_text(name)
        if check:
            if not path.exists() or path.read_text("utf-8") != text:
                stale.append(name)
            continue
        path.write_text(text, "utf-8")
        console.print(f"wrote {path}")
    if stale:
        console.print(f"[red]out of date: {', '.join(stale)}: run `civicpulse schema export`[/]")
        sys.exit(1)
    if check:
        console.print(f"contract schemas up to date: {', '.join(CONTRACT_SCHEMAS)}")


@docs_app.command("config")
def docs_config(
    check: Annotated[bool, typer.Option(help="Fail if the README's table differs from the settings.")] = False,
) -> None:
    """Write (or check) the README's configuration table from the settings classes."""
    from shared.settings_docs import config_table, replace_in

    current = README.read_text("utf-8")
    wanted = replace_in(current, config_table())
    if check:
        if wanted != current:
            console.print("[red]README configuration table is out of date: run `civicpulse docs config`[/]")
            sys.exit(1)
        console.print("README configuration table up to date")
        return
    README.write_text(wanted, "utf-8")
    console.print(f"wrote the configuration table of {README}")


def asyncapi_yaml(service: str) -> str:
    """The AsyncAPI document of one service's topics, as FastStream generates it (no Kafka connection)."""
    factory = importlib.import_module(ASYNCAPI_FACTORIES[service]).app
    text: str = factory().schema.to_specification().to_yaml()
    return text


@docs_app.command("asyncapi")
def docs_asyncapi(
    check: Annotated[bool, typer.Option(help="Fail if a committed document differs from the services.")] = False,
) -> None:
    """Write (or check) docs/asyncapi/{ingest,metrics,alerts}.yaml from each service's composition root."""
    stale = []
    for service in ASYNCAPI_FACTORIES:
        path, text = ASYNCAPI_DIR / f"{service}.yaml", asyncapi_yaml(service)
        if check:
            # Compared as data: FastStream keeps publishers in a WeakSet, so channel order varies between runs.
            if not path.exists() or yaml.safe_load(path.read_text("utf-8")) != yaml.safe_load(text):
                stale.append(path.name)
            continue
        path.write_text(text, "utf-8")
        console.print(f"wrote {path}")
    if stale:
        console.print(f"[red]out of date: {', '.join(stale)}: run `civicpulse docs asyncapi`[/]")
        sys.exit(1)
    if check:
        console.print("AsyncAPI documents up to date: " + ", ".join(f"{s}.yaml" for s in ASYNCAPI_FACTORIES))


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.command()(migrate)
    app.add_typer(topics_app, name="topics")
    app.add_typer(refdata_app, name="refdata")
    app.add_typer(schema_app, name="schema")
    app.add_typer(docs_app, name="docs")
