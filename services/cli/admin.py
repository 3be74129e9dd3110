"""Operator commands: migrate, topics, reference data, event schema."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from rich.console import Console

from shared.events import event_json_schema
from shared.migrations import migrate as apply_migrations
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from shared.settings import KafkaSettings, PostgresSettings, ReferenceDataSettings, TopicSettings
from shared.topics import ensure_topics

console = Console(stderr=True)
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "shared" / "schema" / "events.schema.json"
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
refdata_app = typer.Typer(no_args_is_help=True, help="Unit tree and procedure catalogue.")
schema_app = typer.Typer(no_args_is_help=True, help="JSON Schema of the canonical event.")
docs_app = typer.Typer(no_args_is_help=True, help="Generated documentation.")
README = Path(__file__).resolve().parents[2] / "README.md"


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


@schema_app.command("export")
def schema_export(
    check: Annotated[bool, typer.Option(help="Fail if the committed schema differs from the models.")] = False,
) -> None:
    """Write (or check) shared/schema/events.schema.json from the pydantic models."""
    text = json.dumps(event_json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if check:
        if not SCHEMA_FILE.exists() or SCHEMA_FILE.read_text("utf-8") != text:
            console.print(f"[red]{SCHEMA_FILE} is out of date: run `civicpulse schema export`[/]")
            sys.exit(1)
        console.print("event schema up to date")
        return
    SCHEMA_FILE.write_text(text, "utf-8")
    console.print(f"wrote {SCHEMA_FILE}")


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


def register(app: typer.Typer) -> None:
    """Attach these commands to the root app."""
    app.command()(migrate)
    app.add_typer(topics_app, name="topics")
    app.add_typer(refdata_app, name="refdata")
    app.add_typer(schema_app, name="schema")
    app.add_typer(docs_app, name="docs")
