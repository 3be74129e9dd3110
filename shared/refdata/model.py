"""The unit tree and the procedure catalogue as plain values, validated when built."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Code, ServiceLevel


class ReferenceDataError(ValueError):
    """The unit tree or the catalogue is inconsistent; the message names the offending code."""


class UnitLevel(StrEnum):
    """Where a unit sits in the administrative tree."""

    PROVINCE = "province"
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"


# The level a unit's parent must have; None means the unit is a root.
PARENT_LEVEL: dict[UnitLevel, UnitLevel | None] = {
    UnitLevel.PROVINCE: None,
    UnitLevel.DEPARTMENT: UnitLevel.PROVINCE,
    UnitLevel.DISTRICT: UnitLevel.PROVINCE,
    UnitLevel.COMMUNE: UnitLevel.DISTRICT,
}

Name = Annotated[str, Field(min_length=1, max_length=500)]


class Unit(BaseModel):
    """A province, department, district or commune."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Name
    level: UnitLevel
    parent_code: Code | None = None


class UnitTree:
    """Units by code, checked for unique codes, known parents, no cycles and consistent levels."""

    def __init__(self, units: Iterable[Unit]) -> None:
        self.units: dict[str, Unit] = {}
        for unit in units:
            if unit.code in self.units:
                raise ReferenceDataError(f"duplicate unit code {unit.code!r}")
            self.units[unit.code] = unit
        self._children: dict[str, list[str]] = {code: [] for code in self.units}
        for unit in self.units.values():
            if unit.parent_code is not None:
                if unit.parent_code not in self.units:
                    raise ReferenceDataError(f"unit {unit.code!r} has unknown parent {unit.parent_code!r}")
                self._children[unit.parent_code].append(unit.code)
        self._check_no_cycles()
        self._check_levels()

    def _check_no_cycles(self) -> None:
        acyclic: set[str] = set()
        for start in self.units:
            path: list[str] = []
            code: str | None = start
            while code is not None and code not in acyclic:
                if code in path:
                    cycle = [*path[path.index(code) :], code]
                    raise ReferenceDataError(f"unit {code!r} is its own ancestor: {' -> '.join(cycle)}")
                path.append(code)
                code = self.units[code].parent_code
            acyclic.update(path)

    def _check_levels(self) -> None:
        for unit in self.units.values():
            expected = PARENT_LEVEL[unit.level]
            parent = self.units[unit.parent_code] if unit.parent_code is not None else None
            if expected is None and parent is not None:
                raise ReferenceDataError(f"{unit.level} {unit.code!r} must be a root, not under {parent.code!r}")
            if expected is not None and (parent is None or parent.level != expected):
                where = f"under {parent.level} {parent.code!r}" if parent else "a root"
                raise ReferenceDataError(f"{unit.level} {unit.code!r} must be under a {expected}, not {where}")

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
        """The unit itself and every unit below it."""
        self._get(code)
        found: set[str] = set()
        stack = [code]
        while stack:
            current = stack.pop()
            found.add(current)
            stack.extend(self._children[current])
        return found

    def closure(self) -> list[tuple[str, str, int]]:
        """Every (ancestor, descendant, depth) pair, depth 0 for a unit with itself."""
        return [(ancestor, code, depth) for code in self.units for depth, ancestor in enumerate(self.ancestors(code))]

    def at_level(self, level: UnitLevel) -> list[Unit]:
        """Units of one level, sorted by code."""
        return sorted((u for u in self.units.values() if u.level == level), key=lambda u: u.code)


class Procedure(BaseModel):
    """An administrative procedure (thủ tục hành chính) and which level of unit handles it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: Code
    name: Name
    unit_level: UnitLevel
    department_code: Code | None = None
    service_level: ServiceLevel
    essential: bool = Field(description="One of Project 06's 25 essential services.")

    @model_validator(mode="after")
    def _department_iff_department_level(self) -> Procedure:
        if self.unit_level == UnitLevel.PROVINCE:
            raise ValueError(f"procedure {self.code!r}: unit_level must be department, district or commune")
        if (self.unit_level == UnitLevel.DEPARTMENT) != (self.department_code is not None):
            raise ValueError(f"procedure {self.code!r}: a department code is required iff unit_level=department")
        return self


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One unit offering one procedure at a service level."""

    unit_code: str
    procedure_code: str
    service_level: ServiceLevel


class Catalogue:
    """Procedures by code, expanded to the units that offer them."""

    def __init__(self, procedures: Iterable[Procedure]) -> None:
        self.procedures: dict[str, Procedure] = {}
        for procedure in procedures:
            if procedure.code in self.procedures:
                raise ReferenceDataError(f"duplicate procedure code {procedure.code!r}")
            self.procedures[procedure.code] = procedure

    def __contains__(self, code: object) -> bool:
        return code in self.procedures

    def __len__(self) -> int:
        return len(self.procedures)

    def check_against(self, tree: UnitTree) -> None:
        """Raise if a department-level procedure names a unit that is not a department of the tree."""
        for procedure in self.procedures.values():
            code = procedure.department_code
            if code is None:
                continue
            if code not in tree:
                raise ReferenceDataError(f"procedure {procedure.code!r} names unknown department {code!r}")
            if tree.units[code].level != UnitLevel.DEPARTMENT:
                raise ReferenceDataError(f"procedure {procedure.code!r}: {code!r} is not a department")

    def offered(self, tree: UnitTree) -> list[CatalogueEntry]:
        """One entry per unit offering a procedure: its department, every district or every commune."""
        self.check_against(tree)
        by_level = {level: [u.code for u in tree.at_level(level)] for level in (UnitLevel.DISTRICT, UnitLevel.COMMUNE)}
        entries: list[CatalogueEntry] = []
        for procedure in self.procedures.values():
            if procedure.department_code is not None:
                units = [procedure.department_code]
            else:
                units = by_level[procedure.unit_level]
            entries.extend(CatalogueEntry(unit, procedure.code, procedure.service_level) for unit in units)
        return entries
