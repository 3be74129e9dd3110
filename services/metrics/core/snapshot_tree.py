"""Snapshots kept current by change: per window, every unit's own totals and their sums up the tree, in memory.

A round reads only the units whose counts changed, adds the difference to the scopes above them and builds the
snapshots of those scopes: its cost grows with what changed, not with the tree. A window whose bounds moved (the
hour turned) is read again whole, since then every scope's figures and bounds move; so is everything when the
tree changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from services.metrics.core.counters import COUNTERS, roll_up
from services.metrics.core.kpis import KpiDefinition
from services.metrics.core.snapshots import build_snapshots
from services.metrics.core.windows import HOUR, WindowBounds
from shared.kpi_catalogue import UNKNOWN_LEVEL, WindowName
from shared.snapshots import KpiSnapshot

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

    `totals[window]` holds own totals per unit code: of every code for a window in `whole`, else only of
    `changed` (a changed code absent from it now has nothing in the window). `usage` holds the rows of every scope
    when `usage_scopes` is None, else only of those scopes.
    """

    totals: Mapping[WindowName, Mapping[str, Sequence[int]]]
    whole: frozenset[WindowName]
    changed: frozenset[str]
    usage: Mapping[str, Usage]
    usage_scopes: frozenset[str] | None


@dataclass(slots=True)
class SnapshotTree:
    """The leader's memory of every window's totals; `advance` turns a read into the snapshots that changed."""

    units: Mapping[str, str]
    """Code → level, for every unit of the tree."""
    ancestors: Mapping[str, Sequence[str]]
    """Code → itself and every scope above it (aliases map to their unit's); a code missing counts as itself."""
    definitions: Sequence[KpiDefinition]
    _windows: dict[WindowName, _Window] = field(default_factory=dict)
    _usage: dict[str, Usage] = field(default_factory=dict)

    def stale(self, bounds: Iterable[WindowBounds]) -> list[WindowBounds]:
        """The windows to read whole: never read, or their bounds moved since."""
        return [b for b in bounds if (held := self._windows.get(b.name)) is None or held.bounds != b]

    def scopes_above(self, codes: Iterable[str]) -> set[str]:
        """Every scope whose figures include one of these codes."""
        return {scope for code in codes for scope in self.ancestors.get(code, (code,))}

    def advance(self, read: TreeRead, bounds: Sequence[WindowBounds], *, now: datetime) -> list[KpiSnapshot]:
        """Apply a read; the snapshots of every scope it may have changed (all of a window read whole)."""
        if read.usage_scopes is None:
            self._usage = dict(read.usage)
        else:
            for scope in read.usage_scopes:
                if scope in read.usage:
                    self._usage[scope] = read.usage[scope]
                else:
                    self._usage.pop(scope, None)
        changed_scopes = self.scopes_above(read.changed) | (read.usage_scopes or set())
        snapshots: list[KpiSnapshot] = []
        for window in bounds:
            totals = read.totals.get(window.name, {})
            if window.name in read.whole or window.name not in self._windows:
                own = {code: list(row) for code, row in totals.items()}
                self._windows[window.name] = _Window(window, own, roll_up(own, self.ancestors))
                snapshots.extend(self._build(window, None, now=now))
            else:
                self._apply(self._windows[window.name], totals, read.changed)
                if changed_scopes:
                    snapshots.extend(self._build(window, changed_scopes, now=now))
        return snapshots

    def _apply(self, held: _Window, totals: Mapping[str, Sequence[int]], changed: Collection[str]) -> None:
        zero = [0] * len(COUNTERS)
        for code in changed:
            new = totals.get(code, zero)
            old = held.own.get(code, zero)
            if new == old:
                continue
            delta = [n - o for n, o in zip(new, old, strict=True)]
            for scope in self.ancestors.get(code, (code,)):
                row = held.rolled.setdefault(scope, [0] * len(COUNTERS))
                for i, d in enumerate(delta):
                    row[i] += d
                if scope not in self.units and not any(row):
                    del held.rolled[scope]  # a code the tree lacks shows only while it has counts
            if any(new):
                held.own[code] = list(new)
            else:
                held.own.pop(code, None)

    def _build(self, window: WindowBounds, scopes: Collection[str] | None, *, now: datetime) -> list[KpiSnapshot]:
        held = self._windows[window.name]
        codes = set(self.units) | set(held.rolled) if scopes is None else scopes
        levels = {c: self.units.get(c, UNKNOWN_LEVEL) for c in codes if c in self.units or c in held.rolled}
        start, end = window.first_bucket, window.last_bucket + HOUR
        usage = {}
        for code in levels:
            if (row := self._usage.get(code)) is not None:
                usage[code] = (sum(1 for t in row[1] if start <= t < end), row[0])
        return build_snapshots(
            window=window,
            totals={c: held.rolled[c] for c in levels if c in held.rolled},
            usage=usage,
            units=levels,
            definitions=self.definitions,
            computed_at=now,
        )
