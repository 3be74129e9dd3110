"""The unit tree, the procedure catalogue and the shipped Hai Duong-shaped sample."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from shared.events import ServiceLevel
from shared.refdata import (
    Catalogue,
    CatalogueEntry,
    Procedure,
    ReferenceDataError,
    Unit,
    UnitLevel,
    UnitTree,
    load_reference_data,
)
from shared.refdata.loader import parse_procedures_csv, parse_procedures_yaml, parse_units_yaml

pytestmark = pytest.mark.unit

P, D, DI, C = UnitLevel.PROVINCE, UnitLevel.DEPARTMENT, UnitLevel.DISTRICT, UnitLevel.COMMUNE


def unit(code: str, level: UnitLevel, parent: str | None = None) -> Unit:
    return Unit(code=code, name=f"Unit {code}", level=level, parent_code=parent)


def small_tree() -> UnitTree:
    return UnitTree(
        [
            unit("HD", P),
            unit("HD.STP", D, "HD"),
            unit("HD.CG", DI, "HD"),
            unit("HD.CG.01", C, "HD.CG"),
            unit("HD.CG.02", C, "HD.CG"),
            unit("HD.BG", DI, "HD"),
            unit("HD.BG.01", C, "HD.BG"),
        ]
    )


def procedure(code: str, level: UnitLevel, department: str | None = None, **extra: object) -> Procedure:
    fields: dict[str, object] = {
        "code": code,
        "name": f"Procedure {code}",
        "unit_level": level,
        "department_code": department,
        "service_level": ServiceLevel.PARTIAL_ONLINE,
        "essential": False,
    }
    return Procedure.model_validate(fields | extra)


# The shipped sample


def test_sample_has_one_province_twenty_departments_twelve_districts_235_communes() -> None:
    data = load_reference_data()
    counts = Counter(u.level for u in data.tree)
    assert counts == {P: 1, D: 20, DI: 12, C: 235}
    assert [u.code for u in data.tree.at_level(P)] == ["HD"]
    assert all(len(data.tree.children(d.code)) > 0 for d in data.tree.at_level(DI))


def test_sample_catalogue_spreads_service_levels_and_marks_25_essential() -> None:
    procedures = list(load_reference_data().catalogue.procedures.values())
    assert 150 <= len(procedures) <= 250
    shares = Counter(p.service_level for p in procedures)
    assert shares[ServiceLevel.FULL_ONLINE] / len(procedures) == pytest.approx(0.30, abs=0.03)
    assert shares[ServiceLevel.PARTIAL_ONLINE] / len(procedures) == pytest.approx(0.55, abs=0.03)
    assert shares[ServiceLevel.OFFLINE] / len(procedures) == pytest.approx(0.15, abs=0.03)
    assert sum(p.essential for p in procedures) == 25
    assert {p.unit_level for p in procedures} == {D, DI, C}


def test_sample_is_loaded_from_explicit_paths_too() -> None:
    folder = Path(__file__).resolve().parents[2] / "shared" / "refdata"
    data = load_reference_data(
        units_file=folder / "sample_units.yaml", procedures_file=folder / "sample_procedures.csv"
    )
    assert len(data.tree) == 268
    assert "TTHC.XA.001" in data.catalogue


# The tree


def test_ancestors_run_from_the_unit_up_to_the_root() -> None:
    tree = small_tree()
    assert tree.ancestors("HD.CG.01") == ["HD.CG.01", "HD.CG", "HD"]
    assert tree.ancestors("HD") == ["HD"]


def test_descendants_include_the_unit_itself() -> None:
    tree = small_tree()
    assert tree.descendants("HD.CG") == {"HD.CG", "HD.CG.01", "HD.CG.02"}
    assert tree.descendants("HD.CG.01") == {"HD.CG.01"}
    assert tree.descendants("HD") == set(tree.units)


def test_closure_has_a_row_per_ancestor_with_its_depth() -> None:
    closure = small_tree().closure()
    assert ("HD.CG.01", "HD.CG.01", 0) in closure
    assert ("HD.CG", "HD.CG.01", 1) in closure
    assert ("HD", "HD.CG.01", 2) in closure
    assert len(closure) == 1 + 2 * 3 + 3 * 3  # root, 3 level-1 units, 3 communes
    assert len({(a, d) for a, d, _ in closure}) == len(closure)


def test_membership_and_levels() -> None:
    tree = small_tree()
    assert "HD.BG.01" in tree
    assert "HD.XX" not in tree
    assert [u.code for u in tree.at_level(DI)] == ["HD.BG", "HD.CG"]


def test_asking_about_an_unknown_unit_names_it() -> None:
    with pytest.raises(ReferenceDataError, match=re.escape("HD.XX")):
        small_tree().ancestors("HD.XX")


def test_duplicate_code_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match=re.escape("duplicate unit code 'HD.CG'")):
        UnitTree([unit("HD", P), unit("HD.CG", DI, "HD"), unit("HD.CG", DI, "HD")])


def test_unknown_parent_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match=re.escape("'HD.CG.01' has unknown parent 'HD.NOPE'")):
        UnitTree([unit("HD", P), unit("HD.CG.01", C, "HD.NOPE")])


def test_cycle_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match="own ancestor") as info:
        UnitTree([unit("HD", P), unit("A", DI, "B"), unit("B", DI, "A")])
    assert "A -> B -> A" in str(info.value) or "B -> A -> B" in str(info.value)


def test_self_parent_is_a_cycle() -> None:
    with pytest.raises(ReferenceDataError, match="'HD' is its own ancestor"):
        UnitTree([unit("HD", P, "HD")])


@pytest.mark.parametrize(
    ("units", "offender"),
    [
        ([unit("HD", P), unit("HD.X", C, "HD")], "HD.X"),  # commune straight under the province
        ([unit("HD", P), unit("HD.D", D, "HD"), unit("HD.D.1", C, "HD.D")], "HD.D.1"),  # commune under a sở
        ([unit("HD", P), unit("HD.CG", DI, "HD"), unit("HD.CG.D", DI, "HD.CG")], "HD.CG.D"),
        ([unit("HD", P), unit("HN", P, "HD")], "HN"),  # province must be a root
        ([unit("HD.CG", DI)], "HD.CG"),  # district without a province
    ],
)
def test_inconsistent_levels_are_rejected(units: list[Unit], offender: str) -> None:
    with pytest.raises(ReferenceDataError, match=re.escape(f"'{offender}'")):
        UnitTree(units)


def test_invalid_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="code"):
        Unit(code="bad code", name="x", level=P)


# The catalogue


def test_catalogue_expands_to_the_units_offering_each_procedure() -> None:
    catalogue = Catalogue(
        [
            procedure("P.DEPT", D, "HD.STP", service_level=ServiceLevel.FULL_ONLINE),
            procedure("P.DIST", DI),
            procedure("P.COMM", C, service_level=ServiceLevel.OFFLINE),
        ]
    )
    entries = set(catalogue.offered(small_tree()))
    assert entries == {
        CatalogueEntry("HD.STP", "P.DEPT", ServiceLevel.FULL_ONLINE),
        CatalogueEntry("HD.CG", "P.DIST", ServiceLevel.PARTIAL_ONLINE),
        CatalogueEntry("HD.BG", "P.DIST", ServiceLevel.PARTIAL_ONLINE),
        CatalogueEntry("HD.CG.01", "P.COMM", ServiceLevel.OFFLINE),
        CatalogueEntry("HD.CG.02", "P.COMM", ServiceLevel.OFFLINE),
        CatalogueEntry("HD.BG.01", "P.COMM", ServiceLevel.OFFLINE),
    }


def test_sample_catalogue_expansion_counts() -> None:
    data = load_reference_data()
    levels = Counter(p.unit_level for p in data.catalogue.procedures.values())
    expected = levels[D] + levels[DI] * 12 + levels[C] * 235
    entries = data.catalogue.offered(data.tree)
    assert len(entries) == expected
    assert len({(e.unit_code, e.procedure_code) for e in entries}) == expected


def test_department_procedure_must_name_a_known_department() -> None:
    with pytest.raises(ReferenceDataError, match=re.escape("'P.1' names unknown department 'HD.NOPE'")):
        Catalogue([procedure("P.1", D, "HD.NOPE")]).offered(small_tree())
    with pytest.raises(ReferenceDataError, match=re.escape("'HD.CG' is not a department")):
        Catalogue([procedure("P.1", D, "HD.CG")]).offered(small_tree())


def test_department_code_is_required_exactly_for_department_procedures() -> None:
    with pytest.raises(ValueError, match="department code is required"):
        procedure("P.1", D)
    with pytest.raises(ValueError, match="department code is required"):
        procedure("P.1", C, "HD.STP")


def test_duplicate_procedure_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match=re.escape("duplicate procedure code 'P.1'")):
        Catalogue([procedure("P.1", C), procedure("P.1", DI)])


# The file formats

UNITS_YAML = """
code: HD
name: Tỉnh Hải Dương
level: province
children:
  - {code: HD.STP, name: Sở Tư pháp, level: department}
  - code: HD.CG
    name: Huyện Cẩm Giàng
    level: district
    children:
      - {code: HD.CG.01, name: Thị trấn Cẩm Giang, level: commune}
"""

PROCEDURES_CSV = """\ufeffcode,name,unit_level,department,service_level,essential,notes
TTHC.STP.001,Cấp Phiếu lý lịch tư pháp,department,HD.STP,full_online,true,ignored
TTHC.XA.001,Đăng ký khai sinh,commune,,full_online,TRUE,
TTHC.HUYEN.001,"Cấp giấy phép xây dựng nhà ở riêng lẻ",district,,partial_online,false,
"""


def test_units_yaml_nests_children_under_their_parent() -> None:
    tree = parse_units_yaml(UNITS_YAML)
    assert tree.units["HD.CG.01"] == Unit(code="HD.CG.01", name="Thị trấn Cẩm Giang", level=C, parent_code="HD.CG")
    assert tree.units["HD"].parent_code is None


def test_units_yaml_error_names_the_unit_and_the_file() -> None:
    bad = UNITS_YAML.replace("level: commune", "level: hamlet")
    with pytest.raises(ReferenceDataError, match=r"units\.yaml: unit 'HD\.CG\.01': level"):
        parse_units_yaml(bad, source="units.yaml")


def test_procedures_csv_reads_rows_and_ignores_extra_columns() -> None:
    catalogue = parse_procedures_csv(PROCEDURES_CSV)
    assert catalogue.procedures["TTHC.STP.001"].department_code == "HD.STP"
    assert catalogue.procedures["TTHC.XA.001"].department_code is None
    assert catalogue.procedures["TTHC.XA.001"].essential is True
    assert catalogue.procedures["TTHC.HUYEN.001"].service_level == ServiceLevel.PARTIAL_ONLINE


def test_procedures_csv_error_names_the_line_and_code() -> None:
    bad = PROCEDURES_CSV.replace("partial_online", "level_3")
    with pytest.raises(ReferenceDataError, match=r"line 4: procedure 'TTHC.HUYEN.001': service_level"):
        parse_procedures_csv(bad)


def test_procedures_csv_missing_column_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match="missing columns"):
        parse_procedures_csv("code,name\nA,B\n")


def test_procedures_yaml_list_is_accepted(tmp_path: Path) -> None:
    units = tmp_path / "units.yaml"
    units.write_text(UNITS_YAML, encoding="utf-8")
    procedures = tmp_path / "procedures.yaml"
    procedures.write_text(
        "- {code: P.1, name: Đăng ký khai tử, unit_level: commune, service_level: full_online, essential: true}\n"
        "- {code: P.2, name: Lý lịch tư pháp, unit_level: department, department_code: HD.STP,"
        " service_level: offline, essential: false}\n",
        encoding="utf-8",
    )
    data = load_reference_data(units_file=units, procedures_file=procedures)
    assert set(data.catalogue.offered(data.tree)) == {
        CatalogueEntry("HD.CG.01", "P.1", ServiceLevel.FULL_ONLINE),
        CatalogueEntry("HD.STP", "P.2", ServiceLevel.OFFLINE),
    }
    assert parse_procedures_yaml(procedures.read_text("utf-8")).procedures["P.2"].department_code == "HD.STP"


def test_files_that_disagree_are_rejected(tmp_path: Path) -> None:
    units = tmp_path / "units.yaml"
    units.write_text(UNITS_YAML, encoding="utf-8")
    procedures = tmp_path / "procedures.csv"
    procedures.write_text(PROCEDURES_CSV.replace("HD.STP,full", "HD.SXD,full"), encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=re.escape("unknown department 'HD.SXD'")):
        load_reference_data(units_file=units, procedures_file=procedures)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError, match="cannot read"):
        load_reference_data(units_file=tmp_path / "nope.yaml")
