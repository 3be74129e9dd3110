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
    snapshots = []
    for code, level in levels.items():
        counters = totals.get(code, zero)
        for definition in definitions:
            used = usage.get(code, (0, 0)) if definition.name == USAGE_RATE else None
            snapshots.append(
                one_snapshot(
                    definition, window, code=code, level=level, counters=counters, usage=used, computed_at=computed_at
                )
            )
    return snapshots


def one_snapshot(
    definition: KpiDefinition,
    window: WindowBounds,
    *,
    code: str,
    level: str,
    counters: Sequence[int],
    usage: tuple[int, int] | None,
    computed_at: datetime,
) -> KpiSnapshot:
    """One KPI of one scope in one window: from its summed counters, or for the usage rate from `usage`
    ((numerator, denominator))."""
    numerator, denominator = usage if usage is not None else definition.evaluate_row(counters)
    return KpiSnapshot(
        kpi=definition.name,
        window=window.name.value,
        unit_code=code,
        unit_level=level,
        numerator=numerator,
        denominator=denominator,
        ratio=ratio(numerator, denominator),
        window_start=window.first_bucket,
        window_end=window.last_bucket + HOUR,
        computed_at=computed_at,
    )
