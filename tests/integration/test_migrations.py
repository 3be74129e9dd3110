"""Migrations: from zero, twice, concurrently; edited history is refused."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from shared.migrations import load_migrations, migrate

pytestmark = pytest.mark.integration


async def test_fresh_database_records_every_migration(pg_conn: asyncpg.Connection[Any]) -> None:
    rows = await pg_conn.fetch("SELECT version FROM schema_migrations ORDER BY version")
    assert [r["version"] for r in rows] == [m.version for m in load_migrations()]


async def test_second_run_applies_nothing(pg_conn: asyncpg.Connection[Any]) -> None:
    assert await migrate(pg_conn) == []


async def test_two_processes_migrating_at_once_apply_each_migration_once(pg_dsn: str) -> None:
    connections = [await asyncpg.connect(pg_dsn) for _ in range(2)]
    try:
        await connections[0].execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        results = await asyncio.gather(*(migrate(c) for c in connections))
    finally:
        for connection in connections:
            await connection.close()
    applied = sorted(m.version for result in results for m in result)
    assert applied == [m.version for m in load_migrations()]


async def test_changed_migration_is_refused(pg_conn: asyncpg.Connection[Any]) -> None:
    await pg_conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(pg_conn)
