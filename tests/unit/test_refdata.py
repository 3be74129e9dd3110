"""The unit tree (levels, history, aliases, rollup closure), the procedure catalogue and the shipped samples."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared.events import ServiceLevel
from shared.refdata import (
    SAMPLE_UNITS_HAIDUONG_2024,
    Catalogue,
    CatalogueEntry,
    CommuneKind,
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
REPO = Path(__file__).resolve().parents[2]
MERGER = date(2025, 7, 1)


def unit(code: str, level: UnitLevel, parent: str | None = None, **extra: object) -> Unit:
    return Unit.model_validate({"code": code, "name": f"Unit {code}", "level": level, "parent_code": parent} | extra)


def merged_tree() -> UnitTree:
    """A 2024 province with one district of three communes, merged on 1 July 2025 into a two-tier province."""
    old = {"valid_to": date(2025, 6, 30)}
    return UnitTree(
        [
            unit("HD", P, **old, successor="H24", aliases=["H23"]),
            unit("HD.STP", D, "HD", successor="H24.09"),
            unit("HD.CG", DI, "HD"),
            unit("HD.CG.01", C, "HD.CG", successor="H24.101"),
            unit("HD.CG.02", C, "HD.CG", successor="H24.101", kind="township"),
            unit("HD.CG.03", C, "HD.CG", successor="H24.102"),
            unit("H24", P, valid_from=MERGER, aliases=["000.00.00.H24"]),
            unit("H24.09", D, "H24", aliases=["000.00.09.H24"]),
            unit("H24.101", C, "H24", kind="ward", aliases=["101.00.00.H24", "emc-h24-101"]),
            unit("H24.102", C, "H24"),
        ]
    )


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


def test_haiduong_2024_sample_has_one_province_twenty_departments_twelve_districts_235_communes() -> None:
    data = load_reference_data(sample_units=SAMPLE_UNITS_HAIDUONG_2024)
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


def test_default_sample_is_todays_haiphong_with_its_16_bodies_and_114_commune_level_units() -> None:
    tree = load_reference_data().tree
    today = tree.current(date(2025, 8, 1))
    assert Counter(u.level for u in today) == {P: 1, D: 16, C: 114}
    assert Counter(u.kind for u in today if u.level == C) == {
        CommuneKind.COMMUNE: 67,
        CommuneKind.WARD: 45,
        CommuneKind.SPECIAL_ZONE: 2,
    }
    assert all(tree.units[u.code].parent_code == "H24" for u in today if u.code != "H24")
    assert {u.name for u in today} >= {"Đặc khu Cát Hải", "Đặc khu Bạch Long Vĩ", "Phường Hải Dương", "Xã Nam Sách"}
    assert {u.valid_from for u in today} == {MERGER}


def test_default_sample_keeps_the_haiduong_2024_tree_as_the_predecessor() -> None:
    tree = load_reference_data().tree
    before = tree.current(date(2025, 6, 30))
    assert len(before) == 268
    assert {u.code for u in before} == tree.descendants("HD")
    assert tree.resolve("H23") == "HD"
    assert tree.units["HD"].successor == "H24"
    # Every old commune and department hands over to a current unit of the same level the next day.
    for old in before:
        if old.level in (C, D):
            assert old.successor is not None, old.code
            assert tree.units[old.successor].level == old.level
            assert tree.units[old.successor].valid_on(MERGER)
    assert tree.predecessors("H24.07") == {"HD.STNMT", "HD.SNNPTNT"}  # Nông nghiệp và Môi trường
    assert tree.units[tree.units["HD.STTTT"].successor or ""].name == "Sở Khoa học và Công nghệ"
    # 64 of the 114 commune-level units lie on Hải Dương's old territory.
    assert sum(1 for u in tree.current(MERGER) if u.level == C and tree.predecessors(u.code)) == 64


def test_default_sample_aliases_resolve_to_current_units() -> None:
    tree = load_reference_data().tree
    communes = [u for u in tree.current(MERGER) if u.level == C]
    assert all(len(u.aliases) == 2 for u in communes)
    assert tree.resolve("000.00.00.H24") == "H24"
    assert tree.resolve("000.00.09.H24") == "H24.09"
    assert tree.resolve(communes[0].aliases[0]) == communes[0].code


def test_sample_is_loaded_from_explicit_paths_too() -> None:
    folder = REPO / "shared" / "refdata"
    data = load_reference_data(
        units_file=folder / "sample_units_haiduong_2024.yaml", procedures_file=folder / "sample_procedures.csv"
    )
    assert len(data.tree) == 268
    assert "TTHC.XA.001" in data.catalogue
    assert len(load_reference_data(units_file=folder / "sample_units.yaml").tree) == 268 + 131


def test_generator_reproduces_the_committed_samples(tmp_path: Path) -> None:
    script = REPO / "deploy" / "refdata" / "generate_sample.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True, timeout=60)
    for name in ("sample_units.yaml", "sample_units_haiduong_2024.yaml", "sample_procedures.csv"):
        committed = (REPO / "shared" / "refdata" / name).read_text("utf-8")
        assert (tmp_path / name).read_text("utf-8") == committed, name


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
        ([unit("HD", P), unit("HD.D", D, "HD"), unit("HD.D.1", C, "HD.D")], "HD.D.1"),  # commune under a sở
        ([unit("HD", P), unit("HD.CG", DI, "HD"), unit("HD.CG.D", DI, "HD.CG")], "HD.CG.D"),
        ([unit("HD", P), unit("HN", P, "HD")], "HN"),  # province must be a root
        ([unit("HD.CG", DI)], "HD.CG"),  # district without a province
    ],
)
def test_inconsistent_levels_are_rejected(units: list[Unit], offender: str) -> None:
    with pytest.raises(ReferenceDataError, match=re.escape(f"'{offender}'")):
        UnitTree(units)


def test_commune_directly_under_a_province_is_accepted_as_a_commune_by_default() -> None:
    tree = UnitTree([unit("H24", P), unit("H24.100", C, "H24"), unit("H24.200", C, "H24", kind="special_zone")])
    assert tree.units["H24.100"].kind == CommuneKind.COMMUNE
    assert tree.units["H24.200"].kind == CommuneKind.SPECIAL_ZONE
    assert tree.ancestors("H24.200") == ["H24.200", "H24"]


def test_kind_is_only_for_commune_level_units() -> None:
    with pytest.raises(ValueError, match="only a commune-level unit has a kind"):
        unit("H24.01", D, "H24", kind="ward")


def test_invalid_code_is_rejected() -> None:
    with pytest.raises(ValueError, match="code"):
        Unit(code="bad code", name="x", level=P)


# History: validity, successors, aliases, the rollup closure


def test_validity_is_inherited_from_the_parent_and_current_lists_the_units_of_a_day() -> None:
    tree = merged_tree()
    assert tree.units["HD.CG.01"].valid_to == date(2025, 6, 30)
    assert tree.units["H24.101"].valid_from == MERGER
    assert {u.code for u in tree.current(date(2025, 6, 30))} == tree.descendants("HD")
    assert {u.code for u in tree.current(MERGER)} == tree.descendants("H24")


def test_unit_outliving_its_parent_is_rejected() -> None:
    with pytest.raises(ReferenceDataError, match=r"'HD\.CG' .* within the validity of its parent 'HD'"):
        UnitTree([unit("HD", P, valid_to=date(2025, 6, 30)), unit("HD.CG", DI, "HD", valid_to=date(2025, 12, 31))])


def test_codes_and_aliases_resolve_and_unknown_identifiers_do_not() -> None:
    tree = merged_tree()
    assert tree.resolve("H24.101") == "H24.101"
    assert tree.resolve("emc-h24-101") == "H24.101"
    assert tree.resolve("101.00.00.H24") == "H24.101"
    assert tree.resolve("H23") == "HD"
    assert tree.resolve("000.00.01.H99") is None


def test_duplicate_alias_is_refused_naming_both_units() -> None:
    units = [
        unit("H24", P),
        unit("H24.100", C, "H24", aliases=["site-7"]),
        unit("H24.101", C, "H24", aliases=["site-7"]),
    ]
    with pytest.raises(
        ReferenceDataError, match=re.escape("duplicate alias 'site-7': listed by unit 'H24.100' and unit 'H24.101'")
    ):
        UnitTree(units)


def test_alias_equal_to_another_units_code_is_refused() -> None:
    with pytest.raises(
        ReferenceDataError, match=re.escape("alias 'H24.100' of unit 'H24.101' is the code of another unit")
    ):
        UnitTree([unit("H24", P), unit("H24.100", C, "H24"), unit("H24.101", C, "H24", aliases=["H24.100"])])


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ([unit("A", P, valid_to=date(2025, 6, 30), successor="B")], "unit 'A' has unknown successor 'B'"),
        ([unit("A", P, successor="B"), unit("B", P)], "unit 'A' has a successor, so it needs a valid_to"),
        (
            [unit("A", P, valid_to=date(2025, 6, 30), successor="B"), unit("B", P, valid_from=date(2025, 8, 1))],
            "successor 'B' of unit 'A' must be valid on 2025-07-01",
        ),
        (
            [unit("A", P, valid_to=date(2025, 6, 30), successor="B"), unit("B", P, valid_to=date(2025, 6, 30))],
            "successor 'B' of unit 'A' must be valid on 2025-07-01",
        ),
        (
            [
                unit("A", P, valid_to=date(2025, 6, 30), successor="B"),
                unit("B", P, valid_to=date(2025, 6, 30), successor="A"),
            ],
            "succeeds itself",
        ),
        (
            [unit("A", P, valid_to=date(2025, 6, 30), successor="A.1"), unit("A.1", D, "A")],
            "would roll up into themselves",
        ),
    ],
)
def test_inconsistent_successors_are_rejected(units: list[Unit], message: str) -> None:
    with pytest.raises(ReferenceDataError, match=re.escape(message)):
        UnitTree(units)


def test_successor_may_be_a_unit_that_already_existed() -> None:
    # "nhập xã A vào xã B": B goes on, A ends and names it.
    tree = UnitTree(
        [unit("P", P), unit("P.A", C, "P", valid_to=date(2024, 12, 31), successor="P.B"), unit("P.B", C, "P")]
    )
    assert tree.predecessors("P.B") == {"P.A"}


def test_predecessors_are_transitive() -> None:
    tree = UnitTree(
        [
            unit("P", P),
            unit("P.A", C, "P", valid_to=date(2019, 12, 31), successor="P.B"),
            unit("P.B", C, "P", valid_from=date(2020, 1, 1), valid_to=date(2025, 6, 30), successor="P.C"),
            unit("P.C", C, "P", valid_from=date(2025, 7, 1)),
        ]
    )
    assert tree.predecessors("P.C") == {"P.A", "P.B"}
    assert tree.predecessors("P.A") == set()


def test_closure_includes_predecessors_and_their_descendants_but_old_units_keep_their_own() -> None:
    tree = merged_tree()
    closure = tree.closure()
    assert len({(a, d) for a, d, _ in closure}) == len(closure)
    assert ("H24.101", "HD.CG.01", 1) in closure
    assert ("H24.101", "HD.CG.02", 1) in closure
    assert ("H24.09", "HD.STP", 1) in closure
    assert ("H24", "HD", 1) in closure
    assert ("H24", "HD.CG.01", 2) in closure  # via H24.101 (depth 2), not via HD and HD.CG (depth 3)
    assert tree.rollup("H24.101") == {"H24.101", "HD.CG.01", "HD.CG.02"}
    assert tree.rollup("H24") == set(tree.units)
    # An old unit still answers for its own past: its closure is its own subtree.
    assert tree.rollup("HD.CG.01") == {"HD.CG.01"}
    assert tree.rollup("HD") == tree.descendants("HD")
    assert {d for a, d, _ in closure if a == "HD.CG"} == {"HD.CG", "HD.CG.01", "HD.CG.02", "HD.CG.03"}


def test_kpi_over_a_window_crossing_the_merger_sums_the_predecessors_and_the_unit() -> None:
    tree = merged_tree()
    # Dossiers received per unit and day, around 1 July 2025.
    received = {
        ("HD.CG.01", date(2025, 6, 28)): 4,
        ("HD.CG.01", date(2025, 6, 30)): 3,
        ("HD.CG.02", date(2025, 6, 29)): 5,
        ("HD.CG.03", date(2025, 6, 30)): 7,  # goes to H24.102, not H24.101
        ("HD.CG.01", date(2025, 6, 10)): 100,  # before the window
        ("H24.101", date(2025, 7, 1)): 6,
        ("H24.101", date(2025, 7, 3)): 2,
        ("H24.102", date(2025, 7, 2)): 9,
        ("H24.101", date(2025, 7, 20)): 50,  # after the window
    }
    window = [date(2025, 6, 27) + timedelta(days=i) for i in range(10)]  # 27 June to 6 July

    def kpi(code: str) -> int:
        members = {d for a, d, _ in tree.closure() if a == code}
        return sum(received.get((member, day), 0) for member in members for day in window)

    assert kpi("H24.101") == 4 + 3 + 5 + 6 + 2 == 20
    assert kpi("H24.102") == 7 + 9 == 16
    assert kpi("H24") == 20 + 16
    assert kpi("HD.CG.01") == 4 + 3  # the old commune's own past
    assert kpi("HD.CG") == 4 + 3 + 5 + 7


def test_catalogue_in_a_two_tier_province_with_history() -> None:
    catalogue = Catalogue(
        [
            procedure("P.DEPT", D, "HD.STP"),
            procedure("P.DIST", DI),
            procedure("P.COMM", C, service_level=ServiceLevel.OFFLINE),
        ]
    )
    offered = {(e.unit_code, e.procedure_code) for e in catalogue.offered(merged_tree())}
    assert offered == {
        ("HD.STP", "P.DEPT"),
        ("H24.09", "P.DEPT"),  # the successor department takes the procedure over
        ("HD.CG", "P.DIST"),
        ("H24.101", "P.DIST"),  # communes directly under a province took over the district tier
        ("H24.102", "P.DIST"),
        ("HD.CG.01", "P.COMM"),
        ("HD.CG.02", "P.COMM"),
        ("HD.CG.03", "P.COMM"),
        ("H24.101", "P.COMM"),
        ("H24.102", "P.COMM"),
    }


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
    data = load_reference_data(sample_units=SAMPLE_UNITS_HAIDUONG_2024)
    levels = Counter(p.unit_level for p in data.catalogue.procedures.values())
    expected = levels[D] + levels[DI] * 12 + levels[C] * 235
    entries = data.catalogue.offered(data.tree)
    assert len(entries) == expected
    assert len({(e.unit_code, e.procedure_code) for e in entries}) == expected


def test_default_sample_catalogue_is_offered_by_old_and_current_units() -> None:
    data = load_reference_data()
    levels = Counter(p.unit_level for p in data.catalogue.procedures.values())
    # Each department procedure: its Hải Dương department and the Hải Phòng body that took it over.
    # District procedures: the 12 old districts and the 114 commune-level units that took them over.
    expected = levels[D] * 2 + levels[DI] * (12 + 114) + levels[C] * (235 + 114)
    entries = data.catalogue.offered(data.tree)
    assert len({(e.unit_code, e.procedure_code) for e in entries}) == len(entries) == expected
    assert CatalogueEntry("H24.09", "TTHC.STP.001", ServiceLevel.FULL_ONLINE) in entries


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


HISTORY_YAML = """
- code: H24
  name: Thành phố Hải Phòng
  level: province
  valid_from: 2025-07-01
  aliases: [000.00.00.H24]
  children:
    - {code: H24.101, name: Phường Hải Dương, level: commune, kind: ward, aliases: [emc-h24-101]}
- code: HD
  name: Tỉnh Hải Dương
  level: province
  valid_to: 2025-06-30
  successor: H24
  aliases: [H23]
  children:
    - code: HD.HDG
      name: Thành phố Hải Dương
      level: district
      children:
        - {code: HD.HDG.01, name: Phường Bình Hàn, level: commune, kind: ward, successor: H24.101}
"""


def test_units_yaml_reads_history_keys() -> None:
    tree = parse_units_yaml(HISTORY_YAML)
    assert tree.units["HD.HDG.01"] == Unit(
        code="HD.HDG.01",
        name="Phường Bình Hàn",
        level=C,
        parent_code="HD.HDG",
        kind=CommuneKind.WARD,
        valid_to=date(2025, 6, 30),
        successor="H24.101",
    )
    assert tree.units["H24.101"].valid_from == MERGER
    assert tree.resolve("emc-h24-101") == "H24.101"
    assert tree.rollup("H24") == {"H24", "H24.101", "HD", "HD.HDG", "HD.HDG.01"}


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
