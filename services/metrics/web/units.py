"""The unit tree as the board walks it: a unit, the chain of its parents, its children that exist today."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from pydantic import BaseModel

if TYPE_CHECKING:
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]

# Parent links, not unit_closure: the closure also follows predecessor links, a drill-down follows the tree.
PARENT_CHAIN = """
WITH RECURSIVE chain AS (
    SELECT code, name, level, parent_code, 0 AS depth FROM units WHERE code = $1
    UNION ALL
    SELECT u.code, u.name, u.level, u.parent_code, chain.depth + 1
    FROM units u JOIN chain ON u.code = chain.parent_code
    WHERE chain.depth < 10
)
SELECT code, name, level FROM chain ORDER BY depth DESC
"""

CURRENT_CHILDREN = """
SELECT code, name, level FROM units
WHERE parent_code = $1 AND (valid_from IS NULL OR valid_from <= $2) AND (valid_to IS NULL OR valid_to >= $2)
ORDER BY level, code
"""

LEVEL_ORDER = {"province": 0, "department": 1, "district": 2, "commune": 3}


class UnitRef(BaseModel):
    """A unit by code, name and level."""

    code: str
    name: str
    level: str


class UnitPlace(BaseModel):
    """Where a unit sits: the chain from the root down to it, and the units directly under it today."""

    unit: UnitRef
    chain: list[UnitRef]
    children: list[UnitRef]


async def unit_place(connection: Connection, *, code: str, today: date) -> UnitPlace | None:
    """The unit's chain and children, or None if the tree lacks it."""
    chain = [
        UnitRef(code=r["code"], name=r["name"], level=r["level"]) for r in await connection.fetch(PARENT_CHAIN, code)
    ]
    if not chain:
        return None
    rows = await connection.fetch(CURRENT_CHILDREN, code, today)
    children = [UnitRef(code=r["code"], name=r["name"], level=r["level"]) for r in rows]
    children.sort(key=lambda u: (LEVEL_ORDER.get(u.level, 9), u.code))
    return UnitPlace(unit=chain[-1], chain=chain, children=children)
