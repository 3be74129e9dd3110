"""Write reference data to PostgreSQL: upsert what the files hold and delete what they no longer hold."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg

from shared.refdata.loader import ReferenceData
from shared.refdata.model import UnitTree

log = logging.getLogger(__name__)

# Each statement takes whole columns as arrays (one round trip per table) and only touches rows that changed,
# so a periodic refresh of an unchanged file writes nothing.
UPSERT_UNITS = """
INSERT INTO units (code, name, level, parent_code, kind, valid_from, valid_to, successor_code)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::date[], $8::text[])
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, level = EXCLUDED.level, parent_code = EXCLUDED.parent_code, kind = EXCLUDED.kind,
    valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, successor_code = EXCLUDED.successor_code
WHERE (units.name, units.level, units.parent_code, units.kind, units.valid_from, units.valid_to,
       units.successor_code)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.level, EXCLUDED.parent_code, EXCLUDED.kind, EXCLUDED.valid_from,
                        EXCLUDED.valid_to, EXCLUDED.successor_code)
"""
DELETE_UNITS = """
DELETE FROM units t WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(code) WHERE n.code = t.code)
"""

UPSERT_ALIASES = """
INSERT INTO unit_aliases (alias, unit_code)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (alias) DO UPDATE
SET unit_code = EXCLUDED.unit_code
WHERE unit_aliases.unit_code <> EXCLUDED.unit_code
"""
DELETE_ALIASES = """
DELETE FROM unit_aliases a WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(alias) WHERE n.alias = a.alias)
"""

UPSERT_CLOSURE = """
INSERT INTO unit_closure (ancestor_code, descendant_code, depth)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[])
ON CONFLICT (ancestor_code, descendant_code) DO UPDATE
SET depth = EXCLUDED.depth
WHERE unit_closure.depth <> EXCLUDED.depth
"""
DELETE_CLOSURE = """
DELETE FROM unit_closure c
WHERE NOT EXISTS (
    SELECT 1 FROM unnest($1::text[], $2::text[]) AS n(ancestor_code, descendant_code)
    WHERE n.ancestor_code = c.ancestor_code AND n.descendant_code = c.descendant_code)
"""

UPSERT_PROCEDURES = """
INSERT INTO procedures (code, name, unit_level, department_code, service_level, essential)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[])
ON CONFLICT (code) DO UPDATE
SET name = EXCLUDED.name, unit_level = EXCLUDED.unit_level, department_code = EXCLUDED.department_code,
    service_level = EXCLUDED.service_level, essential = EXCLUDED.essential
WHERE (procedures.name, procedures.unit_level, procedures.department_code, procedures.service_level,
       procedures.essential)
      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.unit_level, EXCLUDED.department_code, EXCLUDED.service_level,
                        EXCLUDED.essential)
"""
DELETE_PROCEDURES = """
DELETE FROM procedures t WHERE NOT EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(code) WHERE n.code = t.code)
"""

# A row published by an event is newer than the file: the file neither overwrites nor deletes it.
UPSERT_CATALOGUE = """
INSERT INTO procedure_catalogue (unit_code, procedure_code, service_level, origin)
SELECT u, p, s, 'file' FROM unnest($1::text[], $2::text[], $3::text[]) AS n(u, p, s)
ON CONFLICT (unit_code, procedure_code) DO UPDATE
SET service_level = EXCLUDED.service_level, updated_at = now()
WHERE procedure_catalogue.origin = 'file'
  AND procedure_catalogue.service_level <> EXCLUDED.service_level
"""
DELETE_CATALOGUE = """
DELETE FROM procedure_catalogue c
WHERE c.origin = 'file'
  AND NOT EXISTS (
      SELECT 1 FROM unnest($1::text[], $2::text[]) AS n(unit_code, procedure_code)
      WHERE n.unit_code = c.unit_code AND n.procedure_code = c.procedure_code)
"""


def closure_rows(tree: UnitTree) -> list[tuple[str, str, int]]:
    """The tree's closure, plus each alias as a descendant of everything its unit counts towards.

    Events counted under an alias (or under a code the tree gained later) then roll up like their unit's, with
    no replay: rollups join counts to `unit_closure` at read time.
    """
    closure = tree.closure()
    by_descendant: dict[str, list[tuple[str, int]]] = {}
    for ancestor, descendant, depth in closure:
        by_descendant.setdefault(descendant, []).append((ancestor, depth))
    aliased = [
        (ancestor, alias, depth)
        for alias, code in sorted(tree.aliases.items())
        if alias != code
        for ancestor, depth in by_descendant[code]
    ]
    return [*closure, *aliased]


async def sync_reference_data(connection: asyncpg.Connection[Any], data: ReferenceData) -> None:
    """Make the reference tables match `data` in one transaction, keeping catalogue rows published by events."""
    units = list(data.tree)
    closure = closure_rows(data.tree)
    procedures = list(data.catalogue.procedures.values())
    entries = data.catalogue.offered(data.tree)

    unit_codes = [u.code for u in units]
    aliases = sorted(data.tree.aliases.items())
    closure_columns = ([a for a, _, _ in closure], [d for _, d, _ in closure], [n for _, _, n in closure])
    procedure_codes = [p.code for p in procedures]
    entry_units = [e.unit_code for e in entries]
    entry_procedures = [e.procedure_code for e in entries]

    async with connection.transaction():
        await connection.execute(
            UPSERT_UNITS,
            unit_codes,
            [u.name for u in units],
            [u.level.value for u in units],
            [u.parent_code for u in units],
            [u.kind.value if u.kind else None for u in units],
            [u.valid_from for u in units],
            [u.valid_to for u in units],
            [u.successor for u in units],
        )
        await connection.execute(DELETE_ALIASES, [a for a, _ in aliases])
        await connection.execute(UPSERT_ALIASES, [a for a, _ in aliases], [c for _, c in aliases])
        await connection.execute(DELETE_UNITS, unit_codes)
        await connection.execute(UPSERT_CLOSURE, *closure_columns)
        await connection.execute(DELETE_CLOSURE, *closure_columns[:2])
        await connection.execute(
            UPSERT_PROCEDURES,
            procedure_codes,
            [p.name for p in procedures],
            [p.unit_level.value for p in procedures],
            [p.department_code for p in procedures],
            [p.service_level.value for p in procedures],
            [p.essential for p in procedures],
        )
        await connection.execute(DELETE_PROCEDURES, procedure_codes)
        await connection.execute(
            UPSERT_CATALOGUE, entry_units, entry_procedures, [e.service_level.value for e in entries]
        )
        await connection.execute(DELETE_CATALOGUE, entry_units, entry_procedures)
    log.info(
        "reference data synced",
        extra={
            "units": len(units),
            "aliases": len(aliases),
            "procedures": len(procedures),
            "catalogue_entries": len(entries),
        },
    )
