"""The procedure catalogue as plain values, and which units of a tree offer each procedure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Code, ServiceLevel
from shared.refdata.model import Name, ReferenceDataError, UnitLevel, UnitTree


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
        """One entry per unit offering a procedure, past units included (they answer for their own past).

        A department-level procedure is offered by its department and every successor of it (the body that
        took the department over keeps its procedures). A district-level one by every district and, in a
        two-tier province, by every commune-level unit directly under the province, which took over the
        district tier's procedures on 1 July 2025. A commune-level one by every commune-level unit.
        """
        self.check_against(tree)
        districts = [u.code for u in tree.at_level(UnitLevel.DISTRICT)]
        communes = tree.at_level(UnitLevel.COMMUNE)
        two_tier = [
            u.code
            for u in communes
            if u.parent_code is not None and tree.units[u.parent_code].level == UnitLevel.PROVINCE
        ]
        by_level = {UnitLevel.DISTRICT: districts + two_tier, UnitLevel.COMMUNE: [u.code for u in communes]}
        entries: list[CatalogueEntry] = []
        for procedure in self.procedures.values():
            if procedure.department_code is not None:
                units = _with_successors(tree, procedure.department_code)
            else:
                units = by_level[procedure.unit_level]
            entries.extend(CatalogueEntry(unit, procedure.code, procedure.service_level) for unit in units)
        return entries


def _with_successors(tree: UnitTree, code: str) -> list[str]:
    chain = [code]
    successor = tree.units[code].successor
    while successor is not None:
        chain.append(successor)
        successor = tree.units[successor].successor
    return chain
