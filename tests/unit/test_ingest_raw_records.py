"""Raw-topic records in an upstream format, and what a dead letter keeps of a record holding personal data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from services.ingest.core.adapters import ADAPTERS, AdapterContext, ProcedureInfo
from services.ingest.core.personal_data import REDACTED, is_personal, redact
from services.ingest.core.raw_records import classify_upstream, dead_letter_value
from services.ingest.core.validation import Rejection
from shared.events import ServiceLevel
from shared.refdata import load_reference_data

pytestmark = pytest.mark.unit
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2025, 7, 25, 3, 0, tzinfo=UTC)
CONTEXT = AdapterContext(
    procedure_lookup={"1.001612": ProcedureInfo(service_level=ServiceLevel.PARTIAL_ONLINE, essential=True)}.get,
    unit_lookup=load_reference_data().tree.resolve,
)
HEADERS = [("x-upstream-format", b"dvcqg"), ("x-upstream-source", b"portal-h24")]


def classify(value: bytes | None, headers: list[tuple[str, bytes | None]]) -> object:
    return classify_upstream(
        value, headers, adapters=ADAPTERS, context=CONTEXT, max_bytes=1_000_000, now=NOW,
        future_tolerance=timedelta(hours=24),
    )  # fmt: skip


def history() -> bytes:
    return (FIXTURES / "dvcqg" / "history.json").read_bytes()


def test_an_upstream_record_becomes_the_same_events_as_over_http() -> None:
    events = classify(history(), HEADERS)

    assert isinstance(events, list)
    assert sorted(e.type for e in events) == [
        "dossier.completed", "dossier.paid", "dossier.paused", "dossier.received", "dossier.resumed",
    ]  # fmt: skip
    assert {e.source for e in events} == {"portal-h24"}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ([("x-upstream-format", b"xml")], "unknown_format"),
        ([("x-upstream-format", b"dvcqg")], "missing_source"),
    ],
)
def test_an_upstream_record_without_its_headers_is_rejected_with_the_reason(
    headers: list[tuple[str, bytes | None]], reason: str
) -> None:
    outcome = classify(history(), headers)

    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason


def test_an_unknown_unit_is_a_rejection_naming_it() -> None:
    record = {**json.loads(history())[0], "MaHoSo": "999.00.00.H24-1"}

    outcome = classify(json.dumps(record).encode(), HEADERS)

    assert isinstance(outcome, Rejection)
    assert outcome.reason == "invalid_record"
    assert "unknown unit: MaHoSo '999.00.00.H24'" in outcome.detail


def test_personal_fields_are_recognised_in_both_styles_and_addresses() -> None:
    assert all(map(is_personal, ["ChuHoSo", "chuHoSo", "SoDienThoai", "Email", "User", "user", "DiaChiThuongTru"]))
    assert not any(map(is_personal, ["MaHoSo", "MaTTHC", "MaDinhDanhDV", "SiteId", "DuocSoHoa"]))


def test_a_dead_letter_keeps_a_redacted_copy_and_says_so() -> None:
    value, note = dead_letter_value(history(), fmt="dvcqg")

    assert value is not None
    assert note is not None
    assert "Nguyễn Thị Mẫu" not in value.decode()
    first = orjson.loads(value)[0]
    assert (first["ChuHoSo"], first["MaHoSo"]) == (REDACTED, "100.00.00.H24-250715-0001")
    assert first["DanhSachHoSoBoSung"] == []
    assert redact(json.loads(history()))[1] > 0


def test_a_dead_letter_without_personal_data_keeps_the_original_bytes() -> None:
    original = b'{"type": "dossier.rated", "score": 9}'

    assert dead_letter_value(original, fmt=None) == (original, None)
    assert dead_letter_value(b"\x00\xffnot json", fmt=None) == (b"\x00\xffnot json", None)


def test_an_unparseable_record_naming_personal_fields_is_not_kept() -> None:
    value, note = dead_letter_value(history()[:-40], fmt="dvcqg")

    assert value == b""
    assert note is not None
    assert dead_letter_value(b"chuHoSo=Nguy%E1%BB%85n&&&\xff", fmt="emc")[0] == b""
