"""Snapshots kept current by change: per window, every scope's totals (its own and those below it), in memory.

A round takes what the counting batches added since the last one (their sums per unit and hour), adds each to the
windows holding its hour and to the scopes above its unit, and re-reads the usage of the scopes whose online use
moved; snapshots are built from the totals when read. So a round costs what changed, not the tree. A window whose
bounds moved (the hour turned) is read again whole, since then every scope's figures and bounds move; so is
everything when the tree changes.

A round also says which KPIs of a scope may have moved: those reading a counter its additions changed (the usage
rate: when its online use or catalogue moved; every KPI: when its window was read whole). Publishing sends those
alone, so a scope that gained one rating sends its satisfaction rate, not its twelve KPIs.
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
from shared.snapshots import KpiSnapshot

Delta = tuple[str, datetime, Sequence[int]]
"""What a batch added to one unit code's hour: (code, hourly bucket, `COUNTERS` values)."""
Usage = tuple[frozenset[str], dict[str, datetime]]
"""Of a scope: the procedures its subtree offers online, and the newest online use of those used (equal sets may be
one object: the reader shares them, communes offer the same)."""
UsageDelta = tuple[str, str, datetime]
"""A (unit code, procedure) pair's newest online use, as a batch moved it."""
Moved = dict[tuple[str, str], int]
"""(window, scope) → the KPIs that may have moved there: bit i for the tree's `definitions[i]`."""


@dataclass(slots=True)
class _Window:
    bounds: WindowBounds
    rolled: dict[str, list[int]]
    """Per scope: its own totals plus those of every code below it."""


@dataclass(frozen=True, slots=True)
class TreeRead:
    """What a round read from PostgreSQL (one repeatable-read view).

    `totals[window]` holds every code's own totals of each window in `whole`; `deltas`, what the batches that view
    includes added since the last round (already in those totals: added to the other windows). `usage` holds the
    rows of every scope when `usage_scopes` is None, else only of those scopes (those above a changed catalogue);
    `usage_deltas`, the newest online uses those batches moved (a maximum: already in `usage` or not, keeping the
    newest gives the same).
    """

    totals: Mapping[WindowName, Mapping[str, Sequence[int]]]
    whole: frozenset[WindowName]
    deltas: Sequence[Delta]
    usage_deltas: Sequence[UsageDelta]
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
    _offered: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per scope: the procedures its subtree offers online (equal sets are one object: communes share theirs)."""
    _last_online: dict[str, dict[str, datetime]] = field(default_factory=dict)
    """Per scope: the newest online use of each offered procedure used in its subtree."""
    _built: dict[tuple[str, str], dict[str, KpiSnapshot]] = field(default_factory=dict)
    """(window, scope) → KPI → its snapshot, as built when read (dropped when the pair moves)."""
    _by_name: dict[str, KpiDefinition] = field(init=False)
    _every: int = field(init=False)
    """Every KPI's bit."""
    _usage: int = field(init=False)
    """The usage rate's bit."""
    _reads: list[int] = field(init=False)
    """Per KPI: the counters it reads, a bit per `COUNTERS` index."""
    _moved_by: dict[int, int] = field(init=False)
    """Counters that changed (bits) → the KPIs reading any of them (bits), as met."""

    def __post_init__(self) -> None:
        self._by_name = {d.name: d for d in self.definitions}
        self._every = (1 << len(self.definitions)) - 1
        self._usage = sum(1 << i for i, d in enumerate(self.definitions) if d.name == USAGE_RATE)
        self._reads = [sum(1 << c for c in d.counter_indices) for d in self.definitions]
        self._moved_by = {}

    def stale(self, bounds: Iterable[WindowBounds]) -> list[WindowBounds]:
        """The windows to read whole: never read, or their bounds moved since."""
        return [b for b in bounds if (held := self._windows.get(b.name)) is None or held.bounds != b]

    def scopes_above(self, codes: Iterable[str]) -> set[str]:
        """Every scope whose figures include one of these codes."""
        return {scope for code in codes for scope in self.ancestors.get(code, (code,))}

    def apply(self, read: TreeRead, bounds: Sequence[WindowBounds], *, now: datetime) -> Moved:
        """Take a round's read; the (window, scope) pairs whose snapshots may have moved, with those KPIs."""
        usage_scopes = self._take_usage(read)
        moved: Moved = {}
        partial = []
        for window in bounds:
            if window.name in read.whole or window.name not in self._windows:
                totals = read.totals.get(window.name, {})
                self._windows[window.name] = _Window(window, roll_up(totals, self.ancestors))
                for pair in [pair for pair in self._built if pair[0] == window.name.value]:
                    del self._built[pair]
                moved.update(((window.name.value, code), self._every) for code in self.scopes(window.name.value))
            else:
                partial.append(self._windows[window.name])
        counted = self._add(partial, read.deltas)
        for held in partial:
            name = held.bounds.name.value
            scopes = counted.get(name, {})
            for code, counters in scopes.items():
                self._built.pop((name, code), None)
                if kpis := self._kpis_reading(counters):
                    moved[name, code] = moved.get((name, code), 0) | kpis
            for code in usage_scopes:
                if code not in scopes and (built := self._built.get((name, code))) is not None:
                    built.pop(USAGE_RATE, None)
                moved[name, code] = moved.get((name, code), 0) | self._usage
        self.as_of = now
        return moved

    def advance(self, read: TreeRead, bounds: Sequence[WindowBounds], *, now: datetime) -> list[KpiSnapshot]:
        """`apply`, then the snapshots it may have moved."""
        return self.moved_snapshots(self.apply(read, bounds, now=now), keep=True)

    def moved_snapshots(self, moved: Moved, *, keep: bool = False) -> list[KpiSnapshot]:
        """The snapshots of these scopes' KPIs that may have moved (see `snapshots_of` for `keep`)."""
        definitions = list(enumerate(self.definitions))
        return [
            built
            for (window, code), kpis in moved.items()
            for i, definition in definitions
            if kpis >> i & 1 and (built := self.snapshot(definition.name, window, code, keep=keep)) is not None
        ]

    def snapshots_of(self, moved: Iterable[tuple[str, str]], *, keep: bool = True) -> list[KpiSnapshot]:
        """The snapshots of these (window, scope) pairs, every KPI (a scope no longer shown gives none); without
        `keep`, those not built yet are not kept (publishing every scope need not hold them all)."""
        return self.moved_snapshots(dict.fromkeys(moved, self._every), keep=keep)

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
        if (kept := self._built.get((window, code))) is not None and (built := kept.get(kpi)) is not None:
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
            times = self._last_online.get(code, {}).values()
            usage = (sum(1 for t in times if start <= t < end), len(self._offered.get(code, ())))
        built = one_snapshot(
            definition, held.bounds, code=code, level=self.units.get(code, UNKNOWN_LEVEL),
            counters=held.rolled.get(code, _ZERO), usage=usage, computed_at=self.as_of,
        )  # fmt: skip
        if keep:
            self._built.setdefault((window, code), {})[kpi] = built
        return built

    def _take_usage(self, read: TreeRead) -> set[str]:
        """Take the usage rows read and the online uses moved; the scopes whose usage may have moved."""
        if read.usage_scopes is None:
            self._offered, self._last_online = {}, {}
        for scope in read.usage_scopes or ():
            self._offered.pop(scope, None)
            self._last_online.pop(scope, None)
        for scope, (offered, used) in read.usage.items():
            self._offered[scope] = offered
            if used:
                self._last_online[scope] = used
        moved = set(read.usage_scopes or ())
        for code, procedure, at in read.usage_deltas:
            for scope in self.ancestors.get(code, (code,)):
                if procedure not in self._offered.get(scope, ()):
                    continue  # as the read: only procedures the scope offers online count
                used = self._last_online.setdefault(scope, {})
                if (held := used.get(procedure)) is None or at > held:
                    used[procedure] = at
                    moved.add(scope)
        return moved

    def _kpis_reading(self, counters: int) -> int:
        """The KPIs (bits) reading any of these counters (bits); every KPI of a scope that just appeared."""
        kpis = self._moved_by.get(counters)
        if kpis is None:
            kpis = sum(1 << i for i, reads in enumerate(self._reads) if reads & counters)
            self._moved_by[counters] = kpis = self._every if counters & _APPEARED else kpis
        return kpis

    def _add(self, windows: Sequence[_Window], deltas: Iterable[Delta]) -> dict[str, dict[str, int]]:
        """Add each delta to the windows holding its hour, at its code and the scopes above it; per window, the
        scopes that moved and the counters (bits) that did there. Deltas are summed per code and set of windows
        first, then rolled up once per set."""
        grouped: dict[tuple[int, ...], dict[str, list[int]]] = {}
        for code, bucket, values in deltas:
            holding = tuple(i for i, w in enumerate(windows) if w.bounds.first_bucket <= bucket <= w.bounds.last_bucket)
            if not holding:
                continue
            summed = grouped.setdefault(holding, {})
            held = summed.get(code)
            summed[code] = list(values) if held is None else [a + b for a, b in zip(held, values, strict=True)]
        moved: dict[str, dict[str, int]] = {}
        for holding, summed in grouped.items():
            nonzero = {code: delta for code, delta in summed.items() if any(delta)}
            rolled = roll_up(nonzero, self.ancestors)
            counters: dict[str, int] = {}  # an ancestor's: what moved below it (a sum netting to 0 moves it too)
            for code, delta in nonzero.items():
                bits = sum(1 << i for i, value in enumerate(delta) if value)
                for scope in self.ancestors.get(code, (code,)):
                    counters[scope] = counters.get(scope, 0) | bits
            for i in holding:
                window = windows[i]
                at = moved.setdefault(window.bounds.name.value, {})
                for scope, delta in rolled.items():
                    row = window.rolled.get(scope)
                    bits = counters[scope] if row is not None or scope in self.units else _APPEARED
                    row = delta if row is None else [a + b for a, b in zip(row, delta, strict=True)]
                    if scope not in self.units and not any(row):
                        window.rolled.pop(scope, None)  # a code the tree lacks shows only while it has counts
                    else:
                        window.rolled[scope] = row
                    at[scope] = at.get(scope, 0) | bits
        return moved


_ZERO = (0,) * len(COUNTERS)
_APPEARED = 1 << len(COUNTERS)
"""Beside the counter bits: a code the tree lacks that has counts again, so every KPI of it shows."""
_WINDOW_VALUES = frozenset(w.value for w in WindowName)
