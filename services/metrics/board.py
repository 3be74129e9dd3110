"""What a replica serves from memory: the current snapshot of every scope and the newest event per source."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from shared.snapshots import KpiSnapshot, SnapshotScope


@dataclass(slots=True)
class SnapshotBoard:
    """The current snapshot of every scope and the newest event per source, as this replica knows them."""

    current: dict[SnapshotScope, KpiSnapshot] = field(default_factory=dict)
    source_activity: dict[str, datetime] = field(default_factory=dict)

    def replace(self, snapshots: Sequence[KpiSnapshot]) -> None:
        """Swap in a complete new set (readers see the old one or the new one, never a mix)."""
        self.current = {s.scope: s for s in snapshots}
