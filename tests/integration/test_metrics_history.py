"""KPIs across the 1 July 2025 merger, on real PostgreSQL: a new unit counts its predecessors' dossiers.

Hand-computed fixture. Phường Hải Dương (H24.148, valid from 2025-07-01) took over, among others, the Hải Dương
2024 wards Ngọc Châu (HD.HDG.05) and Nhị Châu (HD.HDG.06) of Thành phố Hải Dương (HD.HDG, valid until
2025-06-30). With `now` on 10 July 2025 the 30-day window runs from 11 June: it crosses the merger.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.metrics import store
from services.metrics.core.kpis import DEFAULT_KPIS
from shared.refdata import load_reference_data
from shared.refdata.store import sync_reference_data
from tests.support.factories import received

pytestmark = pytest.mark.integration
NOW = datetime(2025, 7, 10, 5, tzinfo=UTC)  # 12:00 in Vietnam
BEFORE = datetime(2025, 6, 20, 3, tzinfo=UTC)  # under the 2024 tree
AFTER = datetime(2025, 7, 5, 3, tzinfo=UTC)  # under today's tree
KPI = "online_submission_rate"


async def test_a_kpi_over_a_window_crossing_the_merger_sums_the_predecessors_and_the_unit(
    pg_conn: asyncpg.Connection[Any],
) -> None:
    data = load_reference_data()
    assert {"HD.HDG.05", "HD.HDG.06"} <= data.tree.predecessors("H24.148")
    await sync_reference_data(pg_conn, data)
    events = [
        *(received(unit="HD.HDG.05", at=BEFORE, channel="online") for _ in range(3)),  # 3 online of 4
        received(unit="HD.HDG.05", at=BEFORE, channel="in_person"),
        *(received(unit="HD.HDG.06", at=BEFORE + timedelta(days=2), channel="online") for _ in range(2)),  # 2 of 2
        *(received(unit="H24.148", at=AFTER, channel="online") for _ in range(4)),  # 4 online of 7
        *(received(unit="H24.148", at=AFTER, channel="postal") for _ in range(3)),
        received(unit="HD.HDG.01", at=BEFORE, channel="online"),  # Bình Hàn: another successor, not counted
    ]
    await store.record_batch(pg_conn, events)
    snapshots = await store.compute_snapshots(pg_conn, now=NOW, definitions=DEFAULT_KPIS)
    kpis = {s.scope: (s.numerator, s.denominator) for s in snapshots}

    # 30 days back from 10 July: 3 + 2 + 4 online of 4 + 2 + 7 received.
    assert kpis[(KPI, "30d", "H24.148")] == (9, 13)
    # 7 days back (from 4 July): only what the new ward itself received.
    assert kpis[(KPI, "7d", "H24.148")] == (4, 7)
    # The old wards still answer for their own past; the old city for its wards (Bình Hàn included).
    assert kpis[(KPI, "30d", "HD.HDG.05")] == (3, 4)
    assert kpis[(KPI, "30d", "HD.HDG.06")] == (2, 2)
    assert kpis[(KPI, "30d", "HD.HDG")] == (6, 7)
    # Today's city counts every dossier of both trees once.
    assert kpis[(KPI, "30d", "H24")] == (10, 14)
