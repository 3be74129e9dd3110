"""Read the unit tree (YAML) and the procedure catalogue (CSV or YAML) from files or the shipped sample."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from shared.refdata.catalogue import Catalogue, Procedure
from shared.refdata.model import ReferenceDataError, Unit, UnitTree

SAMPLE_UNITS = "sample_units.yaml"
"""Today's Hải Phòng city (two tiers since 1 July 2025) with the Hải Dương 2024 tree as its predecessor."""
SAMPLE_UNITS_HAIDUONG_2024 = "sample_units_haiduong_2024.yaml"
"""Hải Dương province alone, as it was in 2024 (with districts): the tree behind the seed figures."""
SAMPLE_PROCEDURES = "sample_procedures.csv"
PROCEDURE_COLUMNS = ("code", "name", "unit_level", "department", "service_level", "essential")
PROCEDURE_FIELDS = frozenset({*PROCEDURE_COLUMNS, "department_code"})


@dataclass(frozen=True)
class ReferenceData:
    """A unit tree and a catalogue that agree with each other."""

    tree: UnitTree
    catalogue: Catalogue

    def __post_init__(self) -> None:
        self.catalogue.check_against(self.tree)


def load_reference_data(
    *, units_file: Path | None = None, procedures_file: Path | None = None, sample_units: str = SAMPLE_UNITS
) -> ReferenceData:
    """Load the given files, or a shipped sample for each one left as None (`sample_units` picks the tree)."""
    units_text, units_source = _read(units_file, sample_units)
    procedures_text, procedures_source = _read(procedures_file, SAMPLE_PROCEDURES)
    tree = parse_units_yaml(units_text, source=units_source)
    if procedures_source.endswith((".yaml", ".yml")):
        catalogue = parse_procedures_yaml(procedures_text, source=procedures_source)
    else:
        catalogue = parse_procedures_csv(procedures_text, source=procedures_source)
    try:
        return ReferenceData(tree=tree, catalogue=catalogue)
    except ReferenceDataError as exc:
        raise ReferenceDataError(f"{procedures_source}: {exc}") from exc


def _read(path: Path | None, sample: str) -> tuple[str, str]:
    if path is None:
        return (resources.files("shared.refdata") / sample).read_text("utf-8"), sample
    try:
        return path.read_text("utf-8-sig"), str(path)
    except OSError as exc:
        raise ReferenceDataError(f"cannot read {path}: {exc}") from exc


def parse_units_yaml(text: str, *, source: str = "<units>") -> UnitTree:
    """Parse a nested tree: a node `{code, name, level, children: [...]}` or a list of root nodes."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{source}: invalid YAML: {exc}") from exc
    roots = document if isinstance(document, list) else [document]
    units: list[Unit] = []
    # Iterative walk: (node, parent code, where) so an error can say which entry is wrong.
    stack: list[tuple[Any, str | None, str]] = []
    stack.extend((node, None, f"[{i}]") for i, node in reversed(list(enumerate(roots))))
    while stack:
        node, parent_code, where = stack.pop()
        if not isinstance(node, dict):
            raise ReferenceDataError(f"{source}: unit {where} is not a mapping")
        fields = {k: v for k, v in node.items() if k != "children"}
        fields.setdefault("parent_code", parent_code)
        try:
            unit = Unit.model_validate(fields)
        except ValidationError as exc:
            raise ReferenceDataError(f"{source}: unit {fields.get('code', where)!r}: {_errors(exc)}") from exc
        units.append(unit)
        children = node.get("children") or []
        if not isinstance(children, list):
            raise ReferenceDataError(f"{source}: unit {unit.code!r}: children must be a list")
        stack.extend((child, unit.code, f"{where}.children[{i}]") for i, child in reversed(list(enumerate(children))))
    try:
        return UnitTree(units)
    except ReferenceDataError as exc:
        raise ReferenceDataError(f"{source}: {exc}") from exc


def parse_procedures_csv(text: str, *, source: str = "<procedures>") -> Catalogue:
    """Parse `code,name,unit_level,department,service_level,essential` rows (department empty unless a sở)."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
    missing = set(PROCEDURE_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise ReferenceDataError(f"{source}: missing columns {sorted(missing)}")
    rows = [(f"line {reader.line_num}", row) for row in reader]
    return _catalogue(rows, source=source)


def parse_procedures_yaml(text: str, *, source: str = "<procedures>") -> Catalogue:
    """Parse a YAML list of mappings with the CSV's columns (`department` or `department_code`)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferenceDataError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(document, list) or not all(isinstance(item, dict) for item in document):
        raise ReferenceDataError(f"{source}: expected a list of procedures")
    return _catalogue([(f"item {i}", item) for i, item in enumerate(document)], source=source)


def _catalogue(rows: list[tuple[str, dict[str, Any]]], *, source: str) -> Catalogue:
    procedures: list[Procedure] = []
    for where, row in rows:
        # Unknown columns are ignored: catalogue exports tend to carry extra ones.
        fields = {k: v.strip() if isinstance(v, str) else v for k, v in row.items() if k in PROCEDURE_FIELDS}
        fields["department_code"] = fields.pop("department", None) or fields.get("department_code") or None
        try:
            procedures.append(Procedure.model_validate(fields))
        except ValidationError as exc:
            code = fields.get("code") or where
            raise ReferenceDataError(f"{source} {where}: procedure {code!r}: {_errors(exc)}") from exc
    try:
        return Catalogue(procedures)
    except ReferenceDataError as exc:
        raise ReferenceDataError(f"{source}: {exc}") from exc


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
