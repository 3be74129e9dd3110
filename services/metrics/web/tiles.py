"""A unit's KPI tiles: each KPI's current value beside its target, and whether it meets it (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.kpi_catalogue import KPI_NAMES
from shared.snapshots import KpiSnapshot, SnapshotScope
from shared.targets import Targets


class TileStatus(StrEnum):
    """How a KPI stands against its target."""

    MET = "met"
    BELOW = "below"
    LOW_SAMPLE = "low_sample"
    """Under the rule's minimum denominator: noise, as the alert rules treat it."""
    NO_DATA = "no_data"
    NO_TARGET = "no_target"


class KpiTile(BaseModel):
    """One KPI of a unit over a window."""

    kpi: str
    value: float | None = Field(description="numerator / denominator, as in /v1/kpis; null: no data.")
    numerator: int
    denominator: int
    target: float | None
    direction: str | None
    min_denominator: int | None
    status: TileStatus


def kpi_tiles(
    current: Mapping[SnapshotScope, KpiSnapshot], *, unit: str, level: str, window: str, targets: Targets
) -> list[KpiTile]:
    """Every KPI of the catalogue for a unit, in catalogue order; a KPI never computed shows as no data."""
    tiles = []
    for kpi in KPI_NAMES:
        snapshot = current.get((kpi, window, unit))
        rule = targets.lookup(kpi=kpi, level=level)
        numerator = snapshot.numerator if snapshot else 0
        denominator = snapshot.denominator if snapshot else 0
        value = snapshot.ratio if snapshot else None
        if value is None:
            status = TileStatus.NO_DATA
        elif rule is None:
            status = TileStatus.NO_TARGET
        elif denominator < rule.min_denominator:
            status = TileStatus.LOW_SAMPLE
        else:
            status = TileStatus.MET if rule.met(value) else TileStatus.BELOW
        tiles.append(
            KpiTile(
                kpi=kpi,
                value=value,
                numerator=numerator,
                denominator=denominator,
                target=rule.target if rule else None,
                direction=rule.direction if rule else None,
                min_denominator=rule.min_denominator if rule else None,
                status=status,
            )
        )
    return tiles
