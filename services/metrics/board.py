"""What a replica serves from memory: the current snapshot of every scope, the unit directory, the newest event
per source and the counted unit codes the tree lacks."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from shared.kpi_catalogue import VIETNAM
from shared.snapshots import KpiSnapshot, SnapshotScope


@dataclass(frozen=True, slots=True)
class UnitEntry:
    """A unit of the tree as served: its name, level and the Vietnam days it exists (bounds inclusive)."""

    name: str
    level: str
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        """Whether the unit exists on that day (a missing bound is open)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(slots=True)
class SnapshotBoard:
    """The current snapshot of every scope and what a replica knows besides, as this replica knows them."""

    current: dict[SnapshotScope, KpiSnapshot] = field(default_factory=dict)
    source_activity: dict[str, datetime] = field(default_factory=dict)
    units: dict[str, UnitEntry] = field(default_factory=dict)
    unknown_units: dict[str, datetime] = field(default_factory=dict)
    """The most recently seen counted unit codes the tree lacks (neither a code nor an alias), newest event each."""
    unknown_units_total: int = 0
    """How many distinct counted unit codes the tree lacks (`unknown_units` may list only the newest of them)."""

    views: dict[tuple[str, str], dict[str, KpiSnapshot]] = field(default_factory=dict)
    """The same snapshots by (kpi, window), then unit code: what a filtered request reads."""

    def replace(self, snapshots: Sequence[KpiSnapshot]) -> None:
        """Swap in a complete new set (readers see the old one or the new one, never a mix)."""
        current = {s.scope: s for s in snapshots}
        views: dict[tuple[str, str], dict[str, KpiSnapshot]] = {}
        for s in current.values():
            views.setdefault((s.kpi, s.window), {})[s.unit_code] = s
        self.current, self.views = current, views

    def update(self, snapshots: Sequence[KpiSnapshot], *, whole: Collection[str] = ()) -> None:
        """Merge changed snapshots in; a window in `whole` was recomputed entirely, so its scopes missing from
        `snapshots` leave. Runs on the event loop without awaiting: a request sees the board before or after."""
        if whole:
            fresh = {s.scope for s in snapshots}
            for scope in [scope for scope in self.current if scope[1] in whole and scope not in fresh]:
                del self.current[scope]
                self.views.get((scope[0], scope[1]), {}).pop(scope[2], None)
        for s in snapshots:
            self.current[s.scope] = s
            self.views.setdefault((s.kpi, s.window), {})[s.unit_code] = s

    def is_current(self, snapshot: KpiSnapshot) -> bool:
        """Whether the snapshot's unit exists on the Vietnam day it was computed (a unit not listed has no bounds)."""
        unit = self.units.get(snapshot.unit_code)
        return unit is None or unit.valid_on(snapshot.computed_at.astimezone(VIETNAM).date())
