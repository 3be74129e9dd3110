"""The KPI snapshot: one KPI value per (kpi, window, unit), the message on `civicpulse.kpi.snapshots`.

Key = `kpi|window|unit_code`, value = this dataclass as JSON (`snapshot_adapter`); JSON Schema in
`shared/schema/kpi_snapshot.schema.json`. Metrics produces it; alerts consumes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, TypeAdapter

from shared.kpi_catalogue import KPI_NAMES, UNKNOWN_LEVEL, WindowName

SnapshotScope = tuple[str, str, str]
"""(kpi, window, unit_code): what one snapshot is the current value of."""


@dataclass(frozen=True, slots=True)
class KpiSnapshot:
    """One KPI value, as stored, served and published to `civicpulse.kpi.snapshots`.

    A plain dataclass: a refresh builds one per (kpi, window, unit), tens of thousands, and pydantic
    models cost ten times more to create. `snapshot_adapter` validates and serialises them.
    """

    kpi: Annotated[str, Field(description="A KPI of the catalogue.", json_schema_extra={"enum": list(KPI_NAMES)})]
    window: Annotated[
        str, Field(description="A window of the catalogue.", json_schema_extra={"enum": [w.value for w in WindowName]})
    ]
    unit_code: str
    unit_level: Annotated[
        str, Field(description=f"The unit's level in the tree; `{UNKNOWN_LEVEL}` if the tree lacks it.")
    ]
    numerator: int
    denominator: int
    ratio: Annotated[
        float | None, Field(description="numerator / denominator; null when the denominator is 0 (no data).")
    ]
    window_start: Annotated[datetime, Field(description="First hourly bucket of the window (inclusive).")]
    window_end: Annotated[datetime, Field(description="End of the window's last hourly bucket (exclusive).")]
    computed_at: datetime

    @property
    def scope(self) -> SnapshotScope:
        """(kpi, window, unit_code): what this snapshot is the current value of."""
        return (self.kpi, self.window, self.unit_code)

    @property
    def key(self) -> bytes:
        """The Kafka key: one scope's snapshots stay in order on one partition."""
        return "|".join(self.scope).encode()


snapshot_adapter: TypeAdapter[KpiSnapshot] = TypeAdapter(KpiSnapshot)


def snapshot_json_schema() -> dict[str, Any]:
    """JSON Schema of the snapshot message."""
    schema = snapshot_adapter.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "CivicPulse KPI snapshot"
    return schema
