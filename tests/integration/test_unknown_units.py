"""Events for unit codes the tree lacks: counted, visible as unknown, and rolled up once the tree gains them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.metrics import store, units
from services.metrics.core.kpis import DEFAULT_KPIS
from shared.kpi_catalogue import UNKNOWN_LEVEL
from shared.refdata import ReferenceData, Unit, UnitLevel, UnitTree, load_reference_data
from shared.refdata.store import sync_reference_data
from tests.support.factories import received

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 10, 12, 30, tzinfo=UTC)
NEW_COMMUNE = "NEW.1"
NEW_ALIAS = "emc-h24-107-bis"  # another SiteId of Phường Hồng Bàng, not yet in the tree
WARD = "H24.107"


def with_new_unit_and_alias(data: ReferenceData) -> ReferenceData:
    """The same tree plus a commune under H24 and one more alias of H24.107: what a later file adds."""
    new = Unit(code=NEW_COMMUNE, name="Xã Mới (sample)", level=UnitLevel.COMMUNE, parent_code="H24")

    def aliased(unit: Unit) -> Unit:
        return unit.model_copy(update={"aliases": (*unit.aliases, NEW_ALIAS)}) if unit.code == WARD else unit

    return ReferenceData(tree=UnitTree([*map(aliased, data.tree), new]), catalogue=data.catalogue)


async def received_1d(connection: asyncpg.Connection[Any]) -> dict[str, tuple[str, int]]:
    """Unit → (level, dossiers received over 1d)."""
    snapshots = await store.compute_snapshots(connection, now=NOW, definitions=DEFAULT_KPIS)
    return {
        s.unit_code: (s.unit_level, s.denominator)
        for s in snapshots
        if (s.kpi, s.window) == ("online_submission_rate", "1d")
    }


async def test_unknown_codes_are_counted_visible_and_roll_up_once_the_tree_gains_them(
    pg_conn: asyncpg.Connection[Any],
) -> None:
    data = load_reference_data()
    await sync_reference_data(pg_conn, data)
    at = NOW - timedelta(hours=1)
    events = [
        *(received(unit=NEW_COMMUNE, at=at, source="emc") for _ in range(3)),
        *(received(unit=NEW_ALIAS, at=at + timedelta(minutes=5), source="emc") for _ in range(2)),
        *(received(unit=WARD, at=at) for _ in range(4)),
    ]
    outcome = await store.record_batch(pg_conn, events)
    assert len(outcome.new) == len(events)

    # Counted under their own codes (nothing lost), and visible as unknown.
    before = await received_1d(pg_conn)
    assert before[NEW_COMMUNE] == (UNKNOWN_LEVEL, 3)
    assert before[NEW_ALIAS] == (UNKNOWN_LEVEL, 2)
    assert before[WARD] == ("commune", 4)
    assert before["H24"] == ("province", 4)
    assert await units.unknown_among(pg_conn, [NEW_COMMUNE, NEW_ALIAS, WARD, "emc-h24-107"]) == {
        NEW_COMMUNE,
        NEW_ALIAS,
    }
    listed, total = await units.unknown_units(pg_conn)
    assert (list(listed), total) == ([NEW_ALIAS, NEW_COMMUNE], 2)

    # The file gains the commune and the alias: one sync, no replay, and the counts roll up.
    await sync_reference_data(pg_conn, with_new_unit_and_alias(data))
    after = await received_1d(pg_conn)
    assert after[NEW_COMMUNE] == ("commune", 3)
    assert NEW_ALIAS not in after  # its dossiers are the ward's now
    assert after[WARD] == ("commune", 4 + 2)
    assert after["H24"] == ("province", 4 + 2 + 3)
    assert await units.unknown_among(pg_conn, [NEW_COMMUNE, NEW_ALIAS]) == set()
    assert await units.unknown_units(pg_conn) == ({}, 0)


async def test_unknown_units_lists_the_newest_first_and_counts_them_all(pg_conn: asyncpg.Connection[Any]) -> None:
    await sync_reference_data(pg_conn, load_reference_data())
    await store.record_batch(pg_conn, [received(unit=f"XX.{i}", at=NOW - timedelta(minutes=i)) for i in range(5)])
    listed, total = await units.unknown_units(pg_conn, limit=2)
    assert (list(listed), total) == (["XX.0", "XX.1"], 5)


async def test_nothing_is_unknown_before_the_first_reference_data_sync(pg_conn: asyncpg.Connection[Any]) -> None:
    await store.record_batch(pg_conn, [received(unit="XX.1", at=NOW)])
    assert await units.unknown_among(pg_conn, ["XX.1"]) == set()
    assert await units.unknown_units(pg_conn) == ({}, 0)
