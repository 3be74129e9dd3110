"""The unit tree as plain values, validated when built: levels, validity dates, successors and aliases.

Since 1 July 2025 a province has two tiers: departments and commune-level units (communes, wards, special
zones) sit directly under it. Older trees keep their districts (`province → district → commune`). A unit that
ceased to exist names its `successor`; a KPI of the successor over a window crossing the change includes the
predecessor's dossiers, because the closure used for rollups (`closure()`, `rollup()`) follows both the tree
and the predecessor links, while a predecessor's own closure stays its own subtree.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Code


class ReferenceDataError(ValueError):
    """The unit tree or the catalogue is inconsistent; the message names the offending code."""


class UnitLevel(StrEnum):
    """Where a unit sits in the administrative tree; `district` exists only in trees before 1 July 2025."""

    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"


class CommuneKind(StrEnum):
    """What a commune-level unit is: xã, phường, đặc khu, or (before 1 July 2025 only) thị trấn."""

    COMMUNE = "commune"
    WARD = "ward"
    SPECIAL_ZONE = "special_zone"
    TOWNSHIP = "township"


# The levels a unit's parent may have; an empty set means the unit is a root.
PARENT_LEVELS: dict[UnitLevel, frozenset[UnitLevel]] = {
    UnitLevel.PROVINCE: frozenset(),
    UnitLevel.DEPARTMENT: frozenset({UnitLevel.PROVINCE}),
    UnitLevel.DISTRICT: frozenset({UnitLevel.PROVINCE}),
    UnitLevel.COMMUNE: frozenset({UnitLevel.PROVINCE, UnitLevel.DISTRICT}),
}

Name = Annotated[str, Field(min_length=1, max_length=500)]


class Unit(BaseModel):
    """A province, department, district or commune-level unit, valid from/to two Vietnam calendar days."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Name
    level: UnitLevel
    parent_code: Code | None = None
    kind: CommuneKind | None = Field(default=None, description="Commune-level units only; default commune.")
    valid_from: date | None = Field(default=None, description="First day the unit exists; inherited if unset.")
    valid_to: date | None = Field(default=None, description="Last day the unit exists; inherited if unset.")
    successor: Code | None = Field(default=None, description="The unit that took it over the day after valid_to.")
    aliases: tuple[Code, ...] = Field(
        default=(), description="Other identifiers upstream systems use: portal agency code, EMC SiteId, ..."
    )

    @model_validator(mode="before")
    @classmethod
    def _commune_kind_defaults_to_commune(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("level") == UnitLevel.COMMUNE and data.get("kind") is None:
            return {**data, "kind": CommuneKind.COMMUNE}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Unit:
        if self.kind is not None and self.level != UnitLevel.COMMUNE:
            raise ValueError(f"unit {self.code!r}: only a commune-level unit has a kind")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError(f"unit {self.code!r}: valid_from {self.valid_from} is after valid_to {self.valid_to}")
        if self.successor == self.code:
            raise ValueError(f"unit {self.code!r} cannot be its own successor")
        return self

    def valid_on(self, day: date) -> bool:
        """Whether the unit exists on that day (bounds inclusive, a missing bound is open)."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class UnitTree:
    """Units by code, checked for unique codes and aliases, known parents and successors, no cycles, levels."""

    def __init__(self, units: Iterable[Unit]) -> None:
        given: dict[str, Unit] = {}
        for unit in units:
            if unit.code in given:
                raise ReferenceDataError(f"duplicate unit code {unit.code!r}")
            given[unit.code] = unit
        self._children: dict[str, list[str]] = {code: [] for code in given}
        for unit in given.values():
            if unit.parent_code is not None:
                if unit.parent_code not in given:
                    raise ReferenceDataError(f"unit {unit.code!r} has unknown parent {unit.parent_code!r}")
                self._children[unit.parent_code].append(unit.code)
        _check_no_cycles(given)
        self.units = given
        self._check_levels()
        self.units = _inherit_validity(given)
        self.aliases = self._index_aliases()
        self._predecessors: dict[str, list[str]] = {code: [] for code in self.units}
        self._check_successors()

    def _check_levels(self) -> None:
        for unit in self.units.values():
            allowed = PARENT_LEVELS[unit.level]
            parent = self.units[unit.parent_code] if unit.parent_code is not None else None
            if not allowed and parent is not None:
                raise ReferenceDataError(f"{unit.level} {unit.code!r} must be a root, not under {parent.code!r}")
            if allowed and (parent is None or parent.level not in allowed):
                where = f"under {parent.level} {parent.code!r}" if parent else "a root"
                expected = " or ".join(sorted(allowed))
                raise ReferenceDataError(f"{unit.level} {unit.code!r} must be under a {expected}, not {where}")

    def _index_aliases(self) -> dict[str, str]:
        aliases: dict[str, str] = {}
        for unit in self.units.values():
            for alias in unit.aliases:
                if alias in self.units and alias != unit.code:
                    raise ReferenceDataError(f"alias {alias!r} of unit {unit.code!r} is the code of another unit")
                if alias in aliases and aliases[alias] != unit.code:
                    raise ReferenceDataError(
                        f"duplicate alias {alias!r}: listed by unit {aliases[alias]!r} and unit {unit.code!r}"
                    )
                aliases[alias] = unit.code
        return aliases

    def _check_successors(self) -> None:
        for unit in self.units.values():
            if unit.successor is None:
                continue
            if unit.successor not in self.units:
                raise ReferenceDataError(f"unit {unit.code!r} has unknown successor {unit.successor!r}")
            self._predecessors[unit.successor].append(unit.code)
        self._check_successor_chains()
        self._check_rollup_is_acyclic()
        for unit in self.units.values():
            if unit.successor is None:
                continue
            if unit.valid_to is None:
                raise ReferenceDataError(f"unit {unit.code!r} has a successor, so it needs a valid_to")
            handover = unit.valid_to + timedelta(days=1)
            if not self.units[unit.successor].valid_on(handover):
                raise ReferenceDataError(
                    f"successor {unit.successor!r} of unit {unit.code!r} must be valid on {handover}, the day after "
                    f"{unit.code!r} ends"
                )

    def _check_successor_chains(self) -> None:
        for start in self.units:
            seen = [start]
            code = self.units[start].successor
            while code is not None:
                if code in seen:
                    cycle = [*seen[seen.index(code) :], code]
                    raise ReferenceDataError(f"unit {code!r} succeeds itself: {' -> '.join(cycle)}")
                seen.append(code)
                code = self.units[code].successor

    def _check_rollup_is_acyclic(self) -> None:
        # Kahn's algorithm over child and predecessor links: a unit succeeded by one of its own descendants (or
        # any such loop) would roll up into itself.
        incoming = dict.fromkeys(self.units, 0)
        for code in self.units:
            for edge in self._rollup_edges(code):
                incoming[edge] += 1
        ready = [code for code, count in incoming.items() if count == 0]
        while ready:
            for edge in self._rollup_edges(ready.pop()):
                incoming[edge] -= 1
                if incoming[edge] == 0:
                    ready.append(edge)
        looping = sorted(code for code, count in incoming.items() if count > 0)
        if looping:
            raise ReferenceDataError(f"units {', '.join(map(repr, looping))} would roll up into themselves")

    def __contains__(self, code: object) -> bool:
        return code in self.units

    def __len__(self) -> int:
        return len(self.units)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.units.values())

    def _get(self, code: str) -> Unit:
        try:
            return self.units[code]
        except KeyError:
            raise ReferenceDataError(f"unknown unit {code!r}") from None

    def resolve(self, identifier: str) -> str | None:
        """The code of the unit with this code or alias, or None if the tree has neither."""
        if identifier in self.units:
            return identifier
        return self.aliases.get(identifier)

    def current(self, on: date) -> list[Unit]:
        """Units valid on that day, sorted by code."""
        return sorted((u for u in self.units.values() if u.valid_on(on)), key=lambda u: u.code)

    def children(self, code: str) -> list[str]:
        """Codes of the unit's direct children."""
        self._get(code)
        return list(self._children[code])

    def ancestors(self, code: str) -> list[str]:
        """The unit itself, then its parent, and so on up to the root."""
        chain = [self._get(code).code]
        parent = self.units[code].parent_code
        while parent is not None:
            chain.append(parent)
            parent = self.units[parent].parent_code
        return chain

    def descendants(self, code: str) -> set[str]:
        """The unit itself and every unit below it in the tree (predecessors not included)."""
        self._get(code)
        found: set[str] = set()
        stack = [code]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(self._children[current])
        return found

    def predecessors(self, code: str) -> set[str]:
        """Every unit whose chain of successors leads to this one (not the unit itself)."""
        self._get(code)
        found: set[str] = set()
        stack = list(self._predecessors[code])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self._predecessors[current])
        return found

    def _rollup_edges(self, code: str) -> list[str]:
        return [*self._children[code], *self._predecessors[code]]

    def _reachable(self, code: str) -> dict[str, int]:
        """Shortest distance from `code` to every unit whose dossiers count towards it."""
        depth = {code: 0}
        queue = deque([code])
        while queue:
            current = queue.popleft()
            for edge in self._rollup_edges(current):
                if edge not in depth:
                    depth[edge] = depth[current] + 1
                    queue.append(edge)
        return depth

    def rollup(self, code: str) -> set[str]:
        """The units whose dossiers count towards this unit's KPIs: its subtree, its predecessors and theirs."""
        self._get(code)
        return set(self._reachable(code))

    def closure(self) -> list[tuple[str, str, int]]:
        """Every (ancestor, descendant, depth) of `rollup()`, once each, depth the shortest path (0 for itself)."""
        return [(code, descendant, depth) for code in self.units for descendant, depth in self._reachable(code).items()]

    def at_level(self, level: UnitLevel) -> list[Unit]:
        """Units of one level, sorted by code."""
        return sorted((u for u in self.units.values() if u.level == level), key=lambda u: u.code)


def _check_no_cycles(units: dict[str, Unit]) -> None:
    acyclic: set[str] = set()
    for start in units:
        path: list[str] = []
        code: str | None = start
        while code is not None and code not in acyclic:
            if code in path:
                cycle = [*path[path.index(code) :], code]
                raise ReferenceDataError(f"unit {code!r} is its own ancestor: {' -> '.join(cycle)}")
            path.append(code)
            code = units[code].parent_code
        acyclic.update(path)


def _inherit_validity(units: dict[str, Unit]) -> dict[str, Unit]:
    """Fill each unit's missing valid_from/valid_to from its parent's and refuse a unit outliving its parent."""
    resolved: dict[str, Unit] = {}

    def resolve(code: str) -> Unit:
        if code in resolved:
            return resolved[code]
        unit = units[code]
        if unit.parent_code is not None:
            parent = resolve(unit.parent_code)
            valid_from = unit.valid_from or parent.valid_from
            valid_to = unit.valid_to or parent.valid_to
            if (parent.valid_from and valid_from and valid_from < parent.valid_from) or (
                parent.valid_to and valid_to and valid_to > parent.valid_to
            ):
                raise ReferenceDataError(
                    f"unit {code!r} ({valid_from or '…'} to {valid_to or '…'}) must lie within the validity of its"
                    f" parent {parent.code!r} ({parent.valid_from or '…'} to {parent.valid_to or '…'})"
                )
            if valid_from and valid_to and valid_from > valid_to:
                raise ReferenceDataError(f"unit {code!r}: valid_from {valid_from} is after valid_to {valid_to}")
            if (valid_from, valid_to) != (unit.valid_from, unit.valid_to):
                unit = unit.model_copy(update={"valid_from": valid_from, "valid_to": valid_to})
        resolved[code] = unit
        return unit

    # Parents before children; the recursion is as deep as the tree (at most 3, the levels were checked).
    return {code: resolve(code) for code in units}
