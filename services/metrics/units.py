"""The unit tree as the metrics service serves it: names and validity, and the counted codes the tree lacks.

Events for a unit code the tree lacks are counted like any other (under that code, level `unknown`); once the
tree gains the unit or an alias for it, the next reference-data sync puts the code in `unit_closure` and its
counts roll up with no replay. Until then these functions make such codes visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from services.metrics import queries
from services.metrics.board import UnitEntry

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]

UNKNOWN_LISTED = 1000
"""Most unknown codes a replica keeps in memory to list (the total is always exact)."""


async def unit_directory(connection: Connection) -> dict[str, UnitEntry]:
    """Every unit of the tree by code: name, level and validity."""
    rows = await connection.fetch(queries.UNIT_DIRECTORY)
    return {r["code"]: UnitEntry(r["name"], r["level"], r["valid_from"], r["valid_to"]) for r in rows}


async def unknown_among(connection: Connection, codes: Iterable[str]) -> set[str]:
    """Those of `codes` that are neither a unit nor an alias of the tree."""
    rows = await connection.fetch(queries.UNKNOWN_AMONG, sorted(set(codes)))
    return {r["code"] for r in rows}


async def unknown_units(connection: Connection, *, limit: int = UNKNOWN_LISTED) -> tuple[dict[str, datetime], int]:
    """The counted unit codes the tree lacks, newest event first (at most `limit`), and how many there are."""
    rows = await connection.fetch(queries.UNKNOWN_UNITS, limit)
    return {r["unit_code"]: r["last_occurred_at"] for r in rows}, (rows[0]["total"] if rows else 0)
