"""The benchmark's bigger unit trees (bench/scale.py) and the peer's ground-truth check (bench/peers/quix_bench.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from bench.peers.quix_bench import compare, ground_truth
from bench.scale import NATIONAL, NATIONAL_HISTORY, national_reference_files, scaled_reference_files
from shared.refdata import ReferenceData, UnitLevel

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> ReferenceData:
    return national_reference_files(NATIONAL, tmp_path_factory.mktemp("national")).load()


@pytest.fixture(scope="module")
def national_history(tmp_path_factory: pytest.TempPathFactory) -> ReferenceData:
    return national_reference_files(NATIONAL_HISTORY, tmp_path_factory.mktemp("history")).load()


def test_national_tree_has_34_two_tier_provinces_and_3321_communes(national: ReferenceData) -> None:
    tree = national.tree
    levels = Counter(unit.level for unit in tree.units.values())
    assert levels == {UnitLevel.PROVINCE: 34, UnitLevel.DEPARTMENT: 34 * 16, UnitLevel.COMMUNE: 3321}
    assert len(tree) == 3899
    assert all(tree.units[str(u.parent_code)].level is UnitLevel.PROVINCE for u in tree.at_level(UnitLevel.COMMUNE))


def test_national_tree_spreads_communes_unevenly(national: ReferenceData) -> None:
    per_province = Counter(u.parent_code for u in national.tree.at_level(UnitLevel.COMMUNE))
    assert min(per_province.values()) < 70
    assert max(per_province.values()) > 130


def test_department_procedures_are_offered_in_their_own_province_only(national: ReferenceData) -> None:
    for entry in national.catalogue.offered(national.tree):
        procedure = national.catalogue.procedures[entry.procedure_code]
        if procedure.department_code is not None:
            assert entry.unit_code.split(".")[0] == procedure.code.rsplit(".", 1)[1]


def test_history_gives_23_provinces_a_2024_predecessor_within_the_same_province(
    national_history: ReferenceData,
) -> None:
    tree = national_history.tree
    assert len(tree) == 10_063
    past = [u for u in tree.units.values() if u.code.split(".")[0].endswith("O")]
    assert len({u.code.split(".")[0] for u in past}) == 23
    for unit in past:
        if unit.successor is not None:
            assert unit.successor.split(".")[0] == unit.code.split(".")[0].removesuffix("O")
    # A commune of today answers for the old communes it took over.
    old = next(u for u in past if u.level is UnitLevel.COMMUNE)
    assert old.successor is not None
    assert (old.successor, old.code) in {(a, d) for a, d, _ in tree.closure()}


def test_copies_of_the_sample_multiply_units_and_offerings(tmp_path: Path) -> None:
    one = scaled_reference_files(1, tmp_path / "one").load()
    three = scaled_reference_files(3, tmp_path / "three").load()
    assert len(three.tree) == 3 * len(one.tree)
    assert len(three.catalogue.offered(three.tree)) == 3 * len(one.catalogue.offered(one.tree))


def _event(kind: str, *, at: str, **fields: object) -> tuple[bytes, bytes]:
    base = {"event_id": f"00000000-0000-4000-8000-{abs(hash((kind, at, tuple(fields)))) % 10**12:012d}",
            "type": kind, "occurred_at": at, "source": "bench", "unit_code": "H24.101", "dossier_id": "d1",
            "procedure_code": "P1"}  # fmt: skip
    return b"d1", orjson.dumps({**base, **fields})


def test_ground_truth_counts_received_online_completed_and_on_time_per_hour() -> None:
    received = _event("dossier.received", at="2026-11-02T08:10:00+07:00", channel="online",
                      service_level="full_online", essential=False, digitized=True)  # fmt: skip
    # Completed late in the evening of the due day (Vietnam time): still on time.
    completed = _event("dossier.completed", at="2026-11-05T23:30:00+07:00", due_at="2026-11-05T09:00:00+07:00",
                       outcome="approved", result_channel="online", electronic_result=True)  # fmt: skip
    truth = ground_truth([received, completed])
    assert truth == {
        (datetime(2026, 11, 2, 1, tzinfo=UTC), "H24.101", "P1"): (1, 1, 0, 0),
        (datetime(2026, 11, 5, 16, tzinfo=UTC), "H24.101", "P1"): (0, 0, 1, 1),
    }
    assert compare(truth, truth)["match"] is True
    short = compare(truth, {key: value for key, value in truth.items() if value[0] == 0})
    assert short["match"] is False
    assert short["rows_differing"] == 1
    assert short["totals"]["received"] == {"expected": 1, "written": 0}
