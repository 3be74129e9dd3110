"""Ordered plain-SQL migrations, applied in one transaction under an advisory lock and recorded in a table."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib import resources
from typing import Any

import asyncpg

log = logging.getLogger(__name__)
# Any constant works; it only has to be the same in every process that migrates this database.
MIGRATION_LOCK_KEY = 0x43495643  # "CIVC"


@dataclass(frozen=True, slots=True)
class Migration:
    """One `NNNN_name.sql` file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The shipped migrations, in order."""
    folder = resources.files("shared") / "sql" / "migrations"
    migrations = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, rest = entry.name.partition("_")
            migrations.append(Migration(int(version), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration versions: {versions}")
    return migrations


async def migrate(connection: asyncpg.Connection[Any]) -> list[Migration]:
    """Apply pending migrations; safe to run twice or from two processes at once. Returns those applied."""
    applied: list[Migration] = []
    async with connection.transaction():
        # Transaction-scoped lock: a second migrator waits here, then finds nothing left to do.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
        await connection.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"]: r["checksum"] for r in await connection.fetch("SELECT * FROM schema_migrations")}
        for migration in load_migrations():
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    raise RuntimeError(f"migration {migration.version}_{migration.name} changed after it was applied")
                continue
            log.info("applying migration", extra={"version": migration.version, "migration": migration.name})
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                migration.checksum,
            )
            applied.append(migration)
    return applied
