"""The read model alerts reads from metrics: a migrated database's views are the ones shared/read_model.py declares."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.alerts import queries
from shared.read_model import READ_MODEL, SCHEMA

pytestmark = pytest.mark.integration
DOC = Path(__file__).resolve().parents[2] / "docs" / "read-model.md"
ALERTS_TABLES = {"alert_state", "alert_history", "notification_outbox", "silences", "alert_digest"}


async def test_the_views_have_the_declared_columns_and_types(pg_conn: asyncpg.Connection[Any]) -> None:
    rows = await pg_conn.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 "
        "ORDER BY table_name, ordinal_position",
        SCHEMA,
    )
    actual: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        actual.setdefault(row["table_name"], []).append((row["column_name"], row["data_type"]))
    declared = {view: [(c.name, c.type) for c in columns] for view, columns in READ_MODEL.items()}
    assert actual == declared


async def test_the_read_model_holds_views_only(pg_conn: asyncpg.Connection[Any]) -> None:
    kinds = await pg_conn.fetch(
        "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = $1", SCHEMA
    )
    assert {(r["table_name"], r["table_type"]) for r in kinds} == {(view, "VIEW") for view in READ_MODEL}


def test_the_documentation_lists_every_column_with_its_type() -> None:
    text = DOC.read_text("utf-8")
    for view, columns in READ_MODEL.items():
        section = text.split(f"## `{SCHEMA}.{view}`", 1)[1].split("\n## ", 1)[0]
        documented = re.findall(r"^\| `(\w+)` \| ([a-z ]+) \|", section, flags=re.MULTILINE)
        assert documented == [(c.name, c.type) for c in columns], view


def test_alerts_reads_of_other_services_go_through_the_read_model_only() -> None:
    statements = [v for k, v in vars(queries).items() if k.isupper() and isinstance(v, str)]
    relations = {m for sql in statements for m in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][a-z_.]*)\b(?!\s*\()", sql)}
    foreign = {r for r in relations if r not in ALERTS_TABLES and not r.startswith(f"{SCHEMA}.") and r != "due"}
    assert relations & {f"{SCHEMA}.{v}" for v in READ_MODEL}
    assert foreign == set()
