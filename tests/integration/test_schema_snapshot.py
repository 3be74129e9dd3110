"""A database migrated from zero matches the committed schema (shared/sql/schema.sql).

After adding a migration: run this test once; it writes schema.sql.new beside the committed file: review and move it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from shared.devstack.postgres import postgres_bindir

pytestmark = pytest.mark.integration
SKIPPED_PREFIXES = ("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")
"""Comments, session settings and pg_dump's per-run random restrict keys."""
COMMITTED = Path(__file__).resolve().parents[2] / "shared" / "sql" / "schema.sql"


def normalised_dump(dsn: str) -> str:
    dump = subprocess.run(
        [str(postgres_bindir() / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
         "--exclude-table=schema_migrations", dsn],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    lines = [
        line for line in dump.splitlines()
        if line.strip() and not line.startswith(SKIPPED_PREFIXES)
    ]  # fmt: skip
    return re.sub(r"\n{2,}", "\n", "\n".join(lines)) + "\n"


def test_fresh_database_migrated_from_zero_matches_the_committed_schema(pg_dsn: str) -> None:
    actual = normalised_dump(pg_dsn)
    if not COMMITTED.exists() or COMMITTED.read_text("utf-8") != actual:
        COMMITTED.with_suffix(".sql.new").write_text(actual, "utf-8")
        pytest.fail(f"schema differs from {COMMITTED.name}: review {COMMITTED.name}.new and move it over")
