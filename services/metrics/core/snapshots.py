"""KPI snapshots: the value of every (kpi, window, unit), built from window totals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import TypeAdapter

from services.metrics.core.counters import COUNTERS
from services.metrics.core.kpis import USAGE_RATE, KpiDefinition, ratio
from services.metrics.core.windows import HOUR, WindowBounds

UNKNOWN_LEVEL = "unknown"
"""Level of a unit that events name but the unit tree lacks."""


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """One KPI value, as stored, served and published to `civicpulse.kpi.snapshots`.

    A plain dataclass: a refresh builds one per (kpi, window, unit), tens of thousands, and pydantic
    models cost ten times more to create. `snapshot_adapter` validates and serialises them.
    """

    kpi: str
    window: str
    unit_code: str
    unit_level: str
    numerator: int
    denominator: int
    ratio: float | None
    window_start: datetime
    window_end: datetime
    computed_at: datetime

    @property
    def scope(self) -> tuple[str, str, str]:
        return (self.kpi, self.window, self.unit_code)

    def same_value(self, other: KpiSnapshot) -> bool:
        """Whether two snapshots of a scope carry the same figures (ignoring when they were computed)."""
        return (self.numerator, self.denominator, self.window_start) == (
            other.numerator,
            other.denominator,
            other.window_start,
        )


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


snapshot_adapter: TypeAdapter[KpiSnapshot] = TypeAdapter(KpiSnapshot)
