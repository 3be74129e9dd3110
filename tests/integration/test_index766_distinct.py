"""The 766 index's distinct-procedure inputs, counted per scope by PostgreSQL, equal the same sets built in Python
from the raw rows: fee-bearing and paid-online procedures, those used online that the scope offers online, and
those offered online, over a unit's subtree and predecessors (and a code the tree lacks, as itself)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bench.metrics import HISTORY
from bench.workload import dossier_events, encoded
from services.metrics import index766, store
from services.metrics.core.windows import day_start
from services.metrics.index766_queries import DISTINCT_INPUTS
from shared.events import Event, event_adapter, parse_event
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)
UNKNOWN = "ZZ.NOWHERE"


def published(unit: str, procedure: str, level: str) -> Event:
    return event_adapter.validate_python({
        "event_id": str(uuid.uuid4()), "type": "procedure.published", "occurred_at": NOW.isoformat(), "source": "demo",
        "unit_code": unit, "procedure_code": procedure, "service_level": level,
    })  # fmt: skip


async def reference(connection: asyncpg.Connection[Any], first_day: date, last_day: date) -> dict[str, list[int]]:
    """The sets of the raw rows, rolled up through the closure in Python (as the index did before)."""
    ancestors: dict[str, list[str]] = {}
    for r in await connection.fetch("SELECT ancestor_code, descendant_code FROM unit_closure"):
        ancestors.setdefault(r["descendant_code"], []).append(r["ancestor_code"])
    per: dict[str, dict[str, set[str]]] = {}

    def mark(unit: str, name: str, procedure: str) -> None:
        for scope in ancestors.get(unit, [unit]):
            per.setdefault(scope, {n: set() for n in DISTINCT_INPUTS})[name].add(procedure)

    offered = await connection.fetch("SELECT unit_code, procedure_code FROM procedure_catalogue "
                                     "WHERE service_level <> 'offline'")  # fmt: skip
    for r in offered:
        mark(r["unit_code"], "procedures_offered_online", r["procedure_code"])
    rows = await connection.fetch(
        "SELECT unit_code, procedure_code, sum(received_fee_bearing) AS fee, sum(paid) AS paid, "
        "sum(paid_online) AS paid_online, sum(received_online) AS online FROM kpi_counts_hourly "
        "WHERE bucket >= $1 AND bucket < $2 AND procedure_code <> '' GROUP BY 1, 2",
        day_start(first_day),
        day_start(last_day + timedelta(days=1)),
    )
    for r in rows:
        if r["fee"] > 0 or r["paid"] > 0:
            mark(r["unit_code"], "fee_procedures", r["procedure_code"])
            if r["paid_online"] > 0:
                mark(r["unit_code"], "fee_procedures_paid_online", r["procedure_code"])
        if r["online"] > 0:
            mark(r["unit_code"], "procedures_used_online", r["procedure_code"])
    for sets in per.values():
        sets["procedures_used_online"] &= sets["procedures_offered_online"]
    return {scope: [len(sets[n]) for n in DISTINCT_INPUTS] for scope, sets in per.items()}


async def test_distinct_procedures_per_scope_equal_the_sets_of_the_raw_rows(pg_conn: asyncpg.Connection[Any]) -> None:
    refdata = load_reference_data()
    await sync_reference_data(pg_conn, refdata)
    events = dossier_events(6000, refdata=refdata, seed=5, now=NOW, oldest=HISTORY[0], newest=HISTORY[1])
    parsed = [parse_event(value) for _, value in encoded(events)]
    # A code the tree lacks counts as itself; the catalogue changes by events (offline ones offer nothing online).
    parsed = [e.model_copy(update={"unit_code": UNKNOWN}) if i % 50 == 0 else e for i, e in enumerate(parsed)]
    units = sorted({e.unit_code for e in parsed})
    parsed += [published(units[i % len(units)], f"NEW.{i % 7}", ["offline", "full_online"][i % 2]) for i in range(40)]
    parsed.append(published(UNKNOWN, "NEW.UNKNOWN", "full_online"))
    for i in range(0, len(parsed), 500):
        await store.record_batch(pg_conn, parsed[i : i + 500])
    last_day = NOW.date()
    for first_day in (last_day - timedelta(days=400), last_day - timedelta(days=20), last_day):
        rows = await index766.read_period(pg_conn, first_day=first_day, last_day=last_day)
        expected = await reference(pg_conn, first_day, last_day)
        assert rows.distinct == expected
    assert any(counts[0] for counts in expected.values())  # fee-bearing procedures were counted
    assert any(counts[2] for counts in expected.values())  # and procedures used online
    assert expected[UNKNOWN][3] == 1
