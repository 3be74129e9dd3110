"""What a replica serves from memory: the current snapshot of every scope, the unit directory, the newest event
per source and the counted unit codes the tree lacks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from services.metrics.core.snapshot_tree import SnapshotTree
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

    current: Mapping[SnapshotScope, KpiSnapshot] = field(default_factory=dict)
    """Every scope's snapshot: the leader's are built from its snapshot tree when read, a follower's are loaded."""
    source_activity: dict[str, datetime] = field(default_factory=dict)
    units: dict[str, UnitEntry] = field(default_factory=dict)
    unknown_units: dict[str, datetime] = field(default_factory=dict)
    """The most recently seen counted unit codes the tree lacks (neither a code nor an alias), newest event each."""
    unknown_units_total: int = 0
    """How many distinct counted unit codes the tree lacks (`unknown_units` may list only the newest of them)."""

    views: Mapping[tuple[str, str], Mapping[str, KpiSnapshot]] = field(default_factory=dict)
    """The same snapshots by (kpi, window), then unit code: what a filtered request reads."""
    computed_at: datetime | None = None
    """When the newest snapshot was computed."""

    def serve(self, tree: SnapshotTree) -> None:
        """Serve the leader's tree: each snapshot built when first read, and again once its scope moves."""
        self.current, self.views, self.computed_at = _TreeScopes(tree), _TreeViews(tree), tree.as_of

    def replace(self, snapshots: Sequence[KpiSnapshot]) -> None:
        """Swap in a complete new set (readers see the old one or the new one, never a mix)."""
        current = {s.scope: s for s in snapshots}
        views: dict[tuple[str, str], dict[str, KpiSnapshot]] = {}
        for s in current.values():
            views.setdefault((s.kpi, s.window), {})[s.unit_code] = s
        self.current, self.views = current, views
        self.computed_at = max((s.computed_at for s in snapshots), default=None)

    def update(self, snapshots: Sequence[KpiSnapshot]) -> None:
        """Merge snapshots loaded from the table into a loaded board (a follower's; the leader serves its tree).
        Runs on the event loop without awaiting: a request sees the board before or after."""
        current, views = self.current, self.views
        assert isinstance(current, dict)
        assert isinstance(views, dict)
        for s in snapshots:
            current[s.scope] = s
            views.setdefault((s.kpi, s.window), {})[s.unit_code] = s
            if self.computed_at is None or s.computed_at > self.computed_at:
                self.computed_at = s.computed_at

    def is_current(self, snapshot: KpiSnapshot) -> bool:
        """Whether the snapshot's unit exists on the Vietnam day it was computed (a unit not listed has no bounds)."""
        unit = self.units.get(snapshot.unit_code)
        return unit is None or unit.valid_on(snapshot.computed_at.astimezone(VIETNAM).date())


class _TreeScopes(Mapping[SnapshotScope, KpiSnapshot]):
    def __init__(self, tree: SnapshotTree) -> None:
        self._tree = tree

    def __getitem__(self, scope: SnapshotScope) -> KpiSnapshot:
        if (built := self._tree.snapshot(*scope)) is None:
            raise KeyError(scope)
        return built

    def __iter__(self) -> Iterator[SnapshotScope]:
        names = [d.name for d in self._tree.definitions]
        for window in self._tree.windows():
            for code in self._tree.scopes(window):
                for kpi in names:
                    yield (kpi, window, code)

    def __len__(self) -> int:
        return len(self._tree.definitions) * sum(len(self._tree.scopes(w)) for w in self._tree.windows())


class _TreeViews(Mapping[tuple[str, str], Mapping[str, KpiSnapshot]]):
    def __init__(self, tree: SnapshotTree) -> None:
        self._tree = tree

    def __getitem__(self, view: tuple[str, str]) -> Mapping[str, KpiSnapshot]:
        kpi, window = view
        if window not in self._tree.windows() or kpi not in {d.name for d in self._tree.definitions}:
            raise KeyError(view)
        return _TreeView(self._tree, kpi, window)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        for window in self._tree.windows():
            for definition in self._tree.definitions:
                yield (definition.name, window)

    def __len__(self) -> int:
        return len(self._tree.windows()) * len(self._tree.definitions)


class _TreeView(Mapping[str, KpiSnapshot]):
    def __init__(self, tree: SnapshotTree, kpi: str, window: str) -> None:
        self._tree, self._kpi, self._window = tree, kpi, window

    def __getitem__(self, code: str) -> KpiSnapshot:
        if (built := self._tree.snapshot(self._kpi, self._window, code)) is None:
            raise KeyError(code)
        return built

    def __iter__(self) -> Iterator[str]:
        return iter(self._tree.scopes(self._window))

    def __len__(self) -> int:
        return len(self._tree.scopes(self._window))
