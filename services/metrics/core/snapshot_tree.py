"""Snapshots kept current by change: per window, every unit's own totals and their sums up the tree, in memory.

A round takes what the counting batches added since the last one (their sums per unit and hour), adds each to the
windows holding its hour and to the scopes above its unit, and re-reads the usage of the scopes whose online use
moved; snapshots are built from the totals when read. So a round costs what changed, not the tree. A window whose
bounds moved (the hour turned) is read again whole, since then every scope's figures and bounds move; so is
everything when the tree changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.metrics.core.counters import COUNTERS, roll_up
from services.metrics.core.kpis import USAGE_RATE, KpiDefinition
from services.metrics.core.snapshots import one_snapshot
from services.metrics.core.windows import HOUR, WindowBounds
from shared.kpi_catalogue import UNKNOWN_LEVEL, WindowName
from shared.snapshots import KpiSnapshot, SnapshotScope

Delta = tuple[str, datetime, Sequence[int]]
"""What a batch added to one unit code's hour: (code, hourly bucket, `COUNTERS` values)."""
Usage = tuple[int, tuple[datetime, ...]]
"""Of a scope: how many procedures its subtree offers online, and the newest online use of each that was used."""


@dataclass(slots=True)
class _Window:
    bounds: WindowBounds
    own: dict[str, list[int]]
    """Per counted unit code (a unit, an alias or a code the tree lacks): its own rows, not rolled up."""
    rolled: dict[str, list[int]]
    """Per scope: its own totals plus those of every code below it."""


@dataclass(frozen=True, slots=True)
class TreeRead:
    """What a round read from PostgreSQL (one repeatable-read view).

    `totals[window]` holds every code's own totals of each window in `whole`; `deltas`, what the batches that view
    includes added since the last round (already in those totals: added to the other windows). `usage` holds the
    rows of every scope when `usage_scopes` is None, else only of those scopes; `changed`, the codes whose usage
    moved.
    """

    totals: Mapping[WindowName, Mapping[str, Sequence[int]]]
    whole: frozenset[WindowName]
    deltas: Sequence[Delta]
    changed: frozenset[str]
    usage: Mapping[str, Usage]
    usage_scopes: frozenset[str] | None


@dataclass(slots=True)
class SnapshotTree:
    """The leader's memory of every window's totals, and the snapshots it serves, built when first asked for.

    `apply` takes a round's read (on the event loop, without awaiting: a reader sees the tree before or after a
    round, never halfway); a snapshot is built from the rolled totals when read and kept until its scope moves.
    So a round costs what changed in the database, and serving costs what is read.
    """

    units: Mapping[str, str]
    """Code → level, for every unit of the tree."""
    ancestors: Mapping[str, Sequence[str]]
    """Code → itself and every scope above it (aliases map to their unit's); a code missing counts as itself."""
    definitions: Sequence[KpiDefinition]
    as_of: datetime | None = None
    """When the last round read the database."""
    _windows: dict[WindowName, _Window] = field(default_factory=dict)
    _usage: dict[str, Usage] = field(default_factory=dict)
    _built: dict[SnapshotScope, KpiSnapshot] = field(default_factory=dict)
    _by_name: dict[str, KpiDefinition] = field(init=False)

    def __post_init__(self) -> None:
        self._by_name = {d.name: d for d in self.definitions}

    def stale(self, bounds: Iterable[WindowBounds]) -> list[WindowBounds]:
        """The windows to read whole: never read, or their bounds moved since."""
        return [b for b in bounds if (held := self._windows.get(b.name)) is None or held.bounds != b]

    def scopes_above(self, codes: Iterable[str]) -> set[str]:
        """Every scope whose figures include one of these codes."""
        return {scope for code in codes for scope in self.ancestors.get(code, (code,))}

    def apply(self, read: TreeRead, bounds: Sequence[WindowBounds], *, now: datetime) -> set[tuple[str, str]]:
        """Take a round's read; the (window, scope) pairs whose snapshots may have moved."""
        if read.usage_scopes is None:
            self._usage = dict(read.usage)
        else:
            for scope in read.usage_scopes:
                if scope in read.usage:
                    self._usage[scope] = read.usage[scope]
                else:
                    self._usage.pop(scope, None)
        usage_scopes = self.scopes_above(read.changed) | (read.usage_scopes or set())
        moved: set[tuple[str, str]] = set()
        for window in bounds:
            if window.name in read.whole or window.name not in self._windows:
                totals = read.totals.get(window.name, {})
                own = {code: list(row) for code, row in totals.items()}
                self._windows[window.name] = _Window(window, own, roll_up(own, self.ancestors))
                for built_scope in [s for s in self._built if s[1] == window.name.value]:
                    del self._built[built_scope]
                moved.update((window.name.value, code) for code in self.scopes(window.name.value))
            else:
                scopes = usage_scopes | self._add(self._windows[window.name], read.deltas)
                for code in scopes:
                    for definition in self.definitions:
                        self._built.pop((definition.name, window.name.value, code), None)
                moved.update((window.name.value, code) for code in scopes)
        self.as_of = now
        return moved

    def advance(self, read: TreeRead, bounds: Sequence[WindowBounds], *, now: datetime) -> list[KpiSnapshot]:
        """`apply`, then the snapshots of every scope it may have moved."""
        return self.snapshots_of(self.apply(read, bounds, now=now))

    def snapshots_of(self, moved: Iterable[tuple[str, str]], *, keep: bool = True) -> list[KpiSnapshot]:
        """The snapshots of these (window, scope) pairs, every KPI (a scope no longer shown gives none); without
        `keep`, those not built yet are not kept (publishing every scope need not hold them all)."""
        return [
            built
            for window, code in moved
            for definition in self.definitions
            if (built := self.snapshot(definition.name, window, code, keep=keep)) is not None
        ]

    def scopes(self, window: str) -> list[str]:
        """Every scope a window shows: the units of the tree, and codes it lacks that have counts."""
        held = self._windows.get(WindowName(window))
        if held is None:
            return []
        return [*self.units, *(code for code in held.rolled if code not in self.units)]

    def windows(self) -> list[str]:
        """The windows read so far."""
        return [name.value for name in self._windows]

    def snapshot(self, kpi: str, window: str, code: str, *, keep: bool = True) -> KpiSnapshot | None:
        """One scope's snapshot, built from the rolled totals (and kept, unless not `keep`) if not already; None if
        not shown."""
        scope = (kpi, window, code)
        if (built := self._built.get(scope)) is not None:
            return built
        held = self._windows.get(WindowName(window)) if window in _WINDOW_VALUES else None
        definition = self._by_name.get(kpi)
        if held is None or definition is None or self.as_of is None:
            return None
        if code not in self.units and code not in held.rolled:
            return None
        usage = None
        if kpi == USAGE_RATE:
            start, end = held.bounds.first_bucket, held.bounds.last_bucket + HOUR
            offered, times = self._usage.get(code, (0, ()))
            usage = (sum(1 for t in times if start <= t < end), offered)
        built = one_snapshot(
            definition, held.bounds, code=code, level=self.units.get(code, UNKNOWN_LEVEL),
            counters=held.rolled.get(code, _ZERO), usage=usage, computed_at=self.as_of,
        )  # fmt: skip
        if keep:
            self._built[scope] = built
        return built

    def _add(self, held: _Window, deltas: Iterable[Delta]) -> set[str]:
        """Add the deltas of the window's hours to its codes and the scopes above them; the scopes that moved."""
        first, last = held.bounds.first_bucket, held.bounds.last_bucket
        summed: dict[str, list[int]] = {}
        for code, bucket, values in deltas:
            if first <= bucket <= last:
                if (row := summed.get(code)) is None:
                    summed[code] = list(values)
                else:
                    for i, value in enumerate(values):
                        row[i] += value
        moved: set[str] = set()
        for code, delta in summed.items():
            if not any(delta):
                continue
            own = held.own.setdefault(code, [0] * len(COUNTERS))
            for i, d in enumerate(delta):
                own[i] += d
            if not any(own):
                del held.own[code]
            for scope in self.ancestors.get(code, (code,)):
                row = held.rolled.setdefault(scope, [0] * len(COUNTERS))
                for i, d in enumerate(delta):
                    row[i] += d
                if scope not in self.units and not any(row):
                    del held.rolled[scope]  # a code the tree lacks shows only while it has counts
                moved.add(scope)
        return moved


_ZERO = (0,) * len(COUNTERS)
_WINDOW_VALUES = frozenset(w.value for w in WindowName)
