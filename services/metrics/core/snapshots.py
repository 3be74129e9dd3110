"""Builds KPI snapshots (the `shared.snapshots` contract) for every (kpi, window, unit) from window totals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from services.metrics.core.counters import COUNTERS
from services.metrics.core.kpis import USAGE_RATE, KpiDefinition, ratio
from services.metrics.core.windows import HOUR, WindowBounds
from shared.kpi_catalogue import UNKNOWN_LEVEL
from shared.snapshots import KpiSnapshot


def build_snapshots(
    *,
    window: WindowBounds,
    totals: Mapping[str, Sequence[int]],
    usage: Mapping[str, tuple[int, int]],
    units: Mapping[str, str],
    definitions: Sequence[KpiDefinition],
    computed_at: datetime,
) -> list[KpiSnapshot]:
    """Every KPI for every unit (those of the tree, plus unknown ones with data) in one window.

    `totals` maps unit → summed counters (in `COUNTERS` order); `usage` maps unit → (numerator, denominator)
    of the usage rate; `units` maps code → level. A unit without data gets 0/0: "no data", never 0% or 100%.
    """
    zero = [0] * len(COUNTERS)
    levels = dict(units)
    for code in totals:
        levels.setdefault(code, UNKNOWN_LEVEL)
    window_end = window.last_bucket + HOUR
    snapshots = []
    for code, level in levels.items():
        counters = totals.get(code, zero)
        for definition in definitions:
            if definition.name == USAGE_RATE:
                numerator, denominator = usage.get(code, (0, 0))
            else:
                numerator, denominator = definition.evaluate_row(counters)
            snapshots.append(
                KpiSnapshot(
                    kpi=definition.name,
                    window=window.name.value,
                    unit_code=code,
                    unit_level=level,
                    numerator=numerator,
                    denominator=denominator,
                    ratio=ratio(numerator, denominator),
                    window_start=window.first_bucket,
                    window_end=window_end,
                    computed_at=computed_at,
                )
            )
    return snapshots
