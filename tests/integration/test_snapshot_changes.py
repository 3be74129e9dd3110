"""Snapshots kept by change miss nothing: batches counted concurrently while the leader takes what they added (and
the marks of their usage) leave the leader's tree equal to a recompute from scratch."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.metrics import store
from services.metrics.core.kpis import DEFAULT_KPIS
from services.metrics.core.windows import all_windows
from shared.events import Event, event_adapter
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from tests.support.factories import random_events

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)  # rounds stay within one hour
REPLICAS = 3
BATCH = 40


def published(unit: str, procedure: str, level: str) -> Event:
    return event_adapter.validate_python({
        "event_id": str(uuid.uuid4()), "type": "procedure.published", "occurred_at": NOW.isoformat(), "source": "demo",
        "unit_code": unit, "procedure_code": procedure, "service_level": level,
    })  # fmt: skip


async def test_concurrent_batches_and_rounds_leave_the_tree_equal_to_a_full_recompute(pg_dsn: str) -> None:
    events = random_events(REPLICAS * 25 * BATCH, seed=7, now=NOW - timedelta(minutes=1), days=3)
    # Some batches also change the catalogue: the leader re-reads the usage above those units.
    units = sorted({e.unit_code for e in events})
    for i in range(0, len(events), 97):
        events.insert(i, published(units[i % len(units)], f"NEW.PROC.{i % 5}", "full_online" if i % 2 else "offline"))
    setup = await asyncpg.connect(pg_dsn)
    await sync_reference_data(setup, load_reference_data())
    tree, read = await store.read_tree(setup, now=NOW, definitions=DEFAULT_KPIS, claim=True)
    bounds = all_windows(now=NOW)
    tree.apply(read, bounds, now=NOW)
    rng = random.Random(3)

    async def replica(share: list[Event]) -> None:
        connection = await asyncpg.connect(pg_dsn)
        try:
            for i in range(0, len(share), BATCH):
                async with connection.transaction():
                    await store.record_batch(connection, share[i : i + BATCH], lifecycle=False)
                    await asyncio.sleep(rng.random() * 0.02)  # written, not yet committed: the leader may look now
        finally:
            await connection.close()

    rounds = 0

    async def leader_round() -> None:
        nonlocal rounds
        changed = await store.claim_changed_units(setup)
        read = await store.read_changes(setup, bounds, whole=set(), usage_of=tree.scopes_above(changed))
        tree.apply(read, bounds, now=NOW)
        rounds += 1

    counting = asyncio.gather(*(replica(events[r::REPLICAS]) for r in range(REPLICAS)))
    while not counting.done():
        await leader_round()
        await asyncio.sleep(rng.random() * 0.01)
    await counting
    await leader_round()

    from_scratch = await store.compute_snapshots(setup, now=NOW, definitions=DEFAULT_KPIS)
    expected = {s.scope: (s.numerator, s.denominator) for s in from_scratch}
    moved = {(w, code) for w in tree.windows() for code in tree.scopes(w)}
    kept = {s.scope: (s.numerator, s.denominator) for s in tree.snapshots_of(moved)}
    await setup.close()
    assert rounds > 10
    received = sum(d for (kpi, window, unit), (_, d) in expected.items()
                   if kpi == "online_submission_rate" and window == "30d" and unit == "HD")  # fmt: skip
    assert received > 0
    assert kept == expected
    assert any(kpi == "online_service_usage_rate" and n for (kpi, _, _), (n, _) in expected.items())
