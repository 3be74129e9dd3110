"""Syncing reference data into PostgreSQL: counts, history columns, aliases, refresh, and event catalogue rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
import pytest

from shared.events import ServiceLevel
from shared.refdata import (
    SAMPLE_UNITS_HAIDUONG_2024,
    Catalogue,
    ReferenceData,
    Unit,
    UnitLevel,
    UnitTree,
    load_reference_data,
)
from shared.refdata.store import closure_rows, sync_reference_data

pytestmark = pytest.mark.integration

REMOVED = "HD.CG.17"  # the last commune of Huyện Cẩm Giàng in the sample


def haiduong_2024() -> ReferenceData:
    """The Hải Dương 2024 tree alone (the counts below are its own)."""
    return load_reference_data(sample_units=SAMPLE_UNITS_HAIDUONG_2024)


def without_unit(data: ReferenceData, code: str) -> ReferenceData:
    """The same data with one leaf unit dropped."""
    tree = UnitTree(u for u in data.tree if u.code != code)
    return ReferenceData(tree=tree, catalogue=data.catalogue)


async def count(connection: asyncpg.Connection[Any], query: str, *args: object) -> int:
    value = await connection.fetchval(query, *args)
    assert isinstance(value, int)
    return value


async def closure_table(connection: asyncpg.Connection[Any]) -> set[tuple[str, str, int]]:
    rows = await connection.fetch("SELECT ancestor_code, descendant_code, depth FROM unit_closure")
    return {(r["ancestor_code"], r["descendant_code"], r["depth"]) for r in rows}


async def test_sync_writes_every_unit_closure_row_procedure_and_catalogue_entry(
    pg_conn: asyncpg.Connection[Any],
) -> None:
    data = haiduong_2024()
    await sync_reference_data(pg_conn, data)

    assert await count(pg_conn, "SELECT count(*) FROM units") == 268
    assert await count(pg_conn, "SELECT count(*) FROM units WHERE level = 'commune'") == 235
    assert await closure_table(pg_conn) == set(closure_rows(data.tree)) >= set(data.tree.closure())
    assert await count(pg_conn, "SELECT count(*) FROM unit_closure") == len(closure_rows(data.tree))
    assert await count(pg_conn, "SELECT count(*) FROM procedures") == len(data.catalogue)
    assert await count(pg_conn, "SELECT count(*) FROM procedure_catalogue WHERE origin = 'file'") == len(
        data.catalogue.offered(data.tree)
    )
    descendants = await pg_conn.fetch(
        "SELECT descendant_code FROM unit_closure WHERE ancestor_code = 'HD.CG' ORDER BY depth, descendant_code"
    )
    assert {r["descendant_code"] for r in descendants} == data.tree.descendants("HD.CG")
    row = await pg_conn.fetchrow("SELECT * FROM units WHERE code = 'HD.CG.01'")
    assert row is not None
    assert (row["level"], row["parent_code"]) == ("commune", "HD.CG")


async def test_sync_twice_changes_nothing(pg_conn: asyncpg.Connection[Any]) -> None:
    data = haiduong_2024()
    await sync_reference_data(pg_conn, data)
    before = await pg_conn.fetch("SELECT unit_code, procedure_code, updated_at FROM procedure_catalogue")
    await sync_reference_data(pg_conn, data)
    after = await pg_conn.fetch("SELECT unit_code, procedure_code, updated_at FROM procedure_catalogue")
    assert sorted(map(tuple, before)) == sorted(map(tuple, after))


async def test_resync_deletes_a_removed_unit_but_keeps_rows_published_by_events(
    pg_conn: asyncpg.Connection[Any],
) -> None:
    data = haiduong_2024()
    await sync_reference_data(pg_conn, data)
    # What the metrics service writes on `procedure.published`: one row for the unit about to disappear, one
    # overriding a file row, one for a procedure the file does not know.
    await pg_conn.execute(
        """INSERT INTO procedure_catalogue (unit_code, procedure_code, service_level, origin)
           VALUES ($1, 'TTHC.LOCAL.001', 'full_online', 'event'),
                  ('HD.CG.01', 'TTHC.XA.003', 'full_online', 'event'),
                  ('HD.CG.01', 'TTHC.LOCAL.002', 'offline', 'event')
           ON CONFLICT (unit_code, procedure_code)
           DO UPDATE SET service_level = EXCLUDED.service_level, origin = 'event', updated_at = now()""",
        REMOVED,
    )
    assert data.catalogue.procedures["TTHC.XA.003"].service_level == ServiceLevel.PARTIAL_ONLINE

    smaller = without_unit(data, REMOVED)
    await sync_reference_data(pg_conn, smaller)

    assert await count(pg_conn, "SELECT count(*) FROM units WHERE code = $1", REMOVED) == 0
    assert await count(pg_conn, "SELECT count(*) FROM units") == 267
    assert (
        await count(pg_conn, "SELECT count(*) FROM unit_closure WHERE $1 IN (ancestor_code, descendant_code)", REMOVED)
        == 0
    )
    assert await closure_table(pg_conn) == set(closure_rows(smaller.tree)) >= set(smaller.tree.closure())
    file_rows = await count(pg_conn, "SELECT count(*) FROM procedure_catalogue WHERE origin = 'file'")
    assert file_rows == len(smaller.catalogue.offered(smaller.tree)) - 1  # HD.CG.01/TTHC.XA.003 is an event row
    kept = await pg_conn.fetch(
        "SELECT unit_code, procedure_code, service_level FROM procedure_catalogue WHERE origin = 'event'"
    )
    assert {tuple(r) for r in kept} == {
        (REMOVED, "TTHC.LOCAL.001", "full_online"),
        ("HD.CG.01", "TTHC.XA.003", "full_online"),
        ("HD.CG.01", "TTHC.LOCAL.002", "offline"),
    }
    assert (
        await count(
            pg_conn, "SELECT count(*) FROM procedure_catalogue WHERE unit_code = $1 AND origin = 'file'", REMOVED
        )
        == 0
    )


async def test_resync_applies_renames_and_removed_procedures(pg_conn: asyncpg.Connection[Any]) -> None:
    data = haiduong_2024()
    await sync_reference_data(pg_conn, data)
    units = [u.model_copy(update={"name": "Xã Mới"}) if u.code == "HD.CG.01" else u for u in data.tree]
    procedures = [p for p in data.catalogue.procedures.values() if p.code != "TTHC.HUYEN.001"]
    changed = ReferenceData(tree=UnitTree(units), catalogue=Catalogue(procedures))
    await sync_reference_data(pg_conn, changed)

    assert await pg_conn.fetchval("SELECT name FROM units WHERE code = 'HD.CG.01'") == "Xã Mới"
    assert await count(pg_conn, "SELECT count(*) FROM procedures WHERE code = 'TTHC.HUYEN.001'") == 0
    assert await count(pg_conn, "SELECT count(*) FROM procedure_catalogue WHERE procedure_code = 'TTHC.HUYEN.001'") == 0
    assert await count(pg_conn, "SELECT count(*) FROM units WHERE level = $1", UnitLevel.DISTRICT.value) == 12


async def test_sync_of_the_default_sample_writes_history_columns_and_aliases(pg_conn: asyncpg.Connection[Any]) -> None:
    data = load_reference_data()
    await sync_reference_data(pg_conn, data)

    assert await count(pg_conn, "SELECT count(*) FROM units") == len(data.tree) == 268 + 131
    today = dt.date(2025, 8, 1)
    current = await pg_conn.fetch(
        """SELECT level, kind, count(*) AS n FROM units
           WHERE (valid_from IS NULL OR valid_from <= $1) AND (valid_to IS NULL OR $1 <= valid_to)
           GROUP BY 1, 2""",
        today,
    )
    assert {(r["level"], r["kind"]): r["n"] for r in current} == {
        ("province", None): 1,
        ("department", None): 16,
        ("commune", "commune"): 67,
        ("commune", "ward"): 45,
        ("commune", "special_zone"): 2,
    }
    old = await pg_conn.fetchrow("SELECT * FROM units WHERE code = 'HD.HDG.01'")
    assert old is not None
    assert (old["kind"], old["valid_from"], old["valid_to"]) == ("ward", None, dt.date(2025, 6, 30))
    assert old["successor_code"] == data.tree.units["HD.HDG.01"].successor
    assert await pg_conn.fetchval("SELECT successor_code FROM units WHERE code = 'HD'") == "H24"

    aliases = {tuple(r) for r in await pg_conn.fetch("SELECT alias, unit_code FROM unit_aliases")}
    assert aliases == set(data.tree.aliases.items())
    assert ("H23", "HD") in aliases
    assert ("000.00.00.H24", "H24") in aliases

    # The closure rolls a new commune's predecessors up into it.
    successor = data.tree.units["HD.HDG.01"].successor
    rolled = await pg_conn.fetch("SELECT descendant_code FROM unit_closure WHERE ancestor_code = $1", successor)
    rollup = data.tree.rollup(successor or "")
    aliases = {alias for alias, code in data.tree.aliases.items() if code in rollup and alias != code}
    assert {r["descendant_code"] for r in rolled} == rollup | aliases
    assert rollup >= {"HD.HDG.01"}
    assert await closure_table(pg_conn) == set(closure_rows(data.tree)) >= set(data.tree.closure())


async def test_resync_moves_and_removes_aliases_and_twice_changes_nothing(pg_conn: asyncpg.Connection[Any]) -> None:
    data = load_reference_data()
    await sync_reference_data(pg_conn, data)
    await sync_reference_data(pg_conn, data)
    assert await count(pg_conn, "SELECT count(*) FROM unit_aliases") == len(data.tree.aliases)

    # H23 moves from the province to its first department; the departments lose their agency codes.
    def moved(u: Unit) -> Unit:
        if u.code == "HD.STP":
            return u.model_copy(update={"aliases": ("H23",)})
        if u.code == "HD" or (u.code.startswith("HD.") and u.level == UnitLevel.DEPARTMENT):
            return u.model_copy(update={"aliases": ()})
        return u

    changed = ReferenceData(tree=UnitTree(map(moved, data.tree)), catalogue=data.catalogue)
    await sync_reference_data(pg_conn, changed)

    assert await pg_conn.fetchval("SELECT unit_code FROM unit_aliases WHERE alias = 'H23'") == "HD.STP"
    assert await count(pg_conn, "SELECT count(*) FROM unit_aliases WHERE alias LIKE '%.H23'") == 0
    rows = {tuple(r) for r in await pg_conn.fetch("SELECT alias, unit_code FROM unit_aliases")}
    assert rows == set(changed.tree.aliases.items())
