"""Upstream-format adapters: national-portal sync ("dvcqg") and EMC pushes ("emc") to canonical events."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.ingest.core.adapters import ADAPTERS, AdapterContext, AdapterError, Problem, ProcedureInfo
from services.ingest.core.adapters.common import parse_vn_timestamp
from shared.events import (
    Channel,
    DossierCompleted,
    DossierReceived,
    Event,
    Outcome,
    ServiceLevel,
    dump_event,
    parse_event,
)

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCE = "portal-h23"
CATALOGUE = {
    "1.001612": ProcedureInfo(service_level=ServiceLevel.PARTIAL_ONLINE, essential=True),
    "2.000123": ProcedureInfo(service_level=ServiceLevel.FULL_ONLINE, essential=False),
    "1.000456": ProcedureInfo(service_level=ServiceLevel.OFFLINE, essential=False),
}
CONTEXT = AdapterContext.from_mapping(CATALOGUE)


def vn(text: str) -> datetime:
    """A Vietnam wall-clock time written `2024-04-15 08:30` as an aware datetime."""
    return datetime.fromisoformat(f"{text}+07:00")


def load(fmt: str, name: str) -> Any:
    return json.loads((FIXTURES / fmt / name).read_text(encoding="utf-8"))


def translate(fmt: str, payload: object, *, source: str = SOURCE) -> list[Event]:
    return ADAPTERS[fmt].translate(payload, source=source, context=CONTEXT)


def problems_of(fmt: str, payload: object) -> list[tuple[int | None, tuple[str | int, ...], str]]:
    with pytest.raises(AdapterError) as caught:
        translate(fmt, payload)
    return [(p.index, p.path, p.message) for p in caught.value.problems]


def by_dossier(events: list[Event]) -> dict[tuple[str, str], Event]:
    return {(e.key, e.type): e for e in events}


# --- Vietnam time ---------------------------------------------------------------------------------------


def test_vietnam_timestamp_is_utc_plus_seven() -> None:
    parsed = parse_vn_timestamp("20240415083000", field="NgayTiepNhan")

    assert parsed == datetime(2024, 4, 15, 1, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=7)


def test_vietnam_timestamp_just_after_local_midnight_is_the_previous_utc_day() -> None:
    assert parse_vn_timestamp("20240101003000", field="x").astimezone(UTC) == datetime(2023, 12, 31, 17, 30, tzinfo=UTC)


FULLWIDTH_DIGITS = "".join(chr(0xFF10 + int(digit)) for digit in "20240415083000")


@pytest.mark.parametrize("value", ["2024041508300", "2024-04-15T08:30", "20240230083000", FULLWIDTH_DIGITS, ""])
def test_malformed_timestamp_names_the_field(value: str) -> None:
    with pytest.raises(ValueError, match=r"^NgayHenTra: "):
        parse_vn_timestamp(value, field="NgayHenTra")


# --- dvcqg ----------------------------------------------------------------------------------------------


def test_dvcqg_records_translate_field_by_field() -> None:
    events = translate("dvcqg", load("dvcqg", "valid_records.json"))

    assert [(e.key, e.type) for e in events] == [
        ("000.00.20.H23-240415-0001", "dossier.received"),
        ("000.00.20.H23-240415-0002", "dossier.received"),
        ("000.00.20.H23-240415-0002", "dossier.completed"),
        ("000.00.20.H23-240415-0003", "dossier.received"),
        ("000.00.20.H23-240415-0003", "dossier.completed"),
        ("000.00.20.H23-240415-0005", "dossier.received"),
        ("000.00.20.H23-240415-0005", "dossier.completed"),
        ("000.00.20.H23-240415-0006", "dossier.received"),
    ]
    found = by_dossier(events)

    online = found["000.00.20.H23-240415-0001", "dossier.received"]
    assert isinstance(online, DossierReceived)
    assert online.occurred_at == datetime(2024, 4, 15, 1, 30, tzinfo=UTC)
    assert online.source == SOURCE
    assert online.unit_code == "000.00.20.H23"
    assert online.procedure_code == "1.001612"
    assert online.channel is Channel.ONLINE
    assert online.service_level is ServiceLevel.PARTIAL_ONLINE
    assert online.essential is True
    assert online.digitized is True
    assert online.due_at == vn("2024-04-18 17:00")

    returned = found["000.00.20.H23-240415-0002", "dossier.completed"]
    assert isinstance(returned, DossierCompleted)
    assert returned.occurred_at == vn("2024-04-16 09:00")  # NgayKetThucXuLy, not NgayTra
    assert returned.outcome is Outcome.APPROVED
    assert returned.result_channel is Channel.IN_PERSON
    assert returned.electronic_result is True  # in person, but a result file link was synced
    assert returned.due_at == vn("2024-04-16 17:00")
    in_person = found["000.00.20.H23-240415-0002", "dossier.received"]
    assert isinstance(in_person, DossierReceived)
    assert (in_person.channel, in_person.service_level, in_person.digitized) == (
        Channel.IN_PERSON,
        ServiceLevel.OFFLINE,
        False,
    )

    refused = found["000.00.20.H23-240415-0003", "dossier.completed"]
    assert isinstance(refused, DossierCompleted)
    assert refused.outcome is Outcome.REJECTED  # status 10 with NgayTuChoi
    assert refused.result_channel is Channel.POSTAL
    assert refused.electronic_result is False
    assert refused.due_at is None

    withdrawn = found["000.00.20.H23-240415-0005", "dossier.completed"]
    assert isinstance(withdrawn, DossierCompleted)
    assert withdrawn.outcome is Outcome.WITHDRAWN
    assert withdrawn.unit_code == "000.00.21.H23"

    from_papers = found["000.00.20.H23-240415-0006", "dossier.received"]
    assert isinstance(from_papers, DossierReceived)
    assert from_papers.digitized is True  # no HoSoCoThanhPhanSoHoa: one TaiLieuNop has DuocSoHoa = 1
    assert from_papers.occurred_at == datetime(2024, 4, 15, 16, 30, tzinfo=UTC)


def test_dvcqg_newly_registered_dossier_yields_nothing() -> None:
    record = load("dvcqg", "valid_records.json")[3]
    assert record["TrangThaiHoSo"] == "1"

    assert translate("dvcqg", [record]) == []


def test_dvcqg_envelope_and_bare_record_match_the_array() -> None:
    enveloped = translate("dvcqg", load("dvcqg", "valid_envelope.json"))
    record = load("dvcqg", "valid_envelope.json")["data"][0]

    assert enveloped == translate("dvcqg", [record]) == translate("dvcqg", record)
    assert enveloped == translate("dvcqg", {"HoSo": [record]})


def test_dvcqg_events_are_valid_canonical_events() -> None:
    for event in translate("dvcqg", load("dvcqg", "valid_records.json")):
        assert parse_event(dump_event(event)) == event


def test_dvcqg_unknown_procedure_is_a_problem_not_a_guess() -> None:
    record = {**load("dvcqg", "valid_envelope.json")["data"][0], "MaTTHC": "3.000001"}

    assert problems_of("dvcqg", [record]) == [(0, ("MaTTHC",), "unknown procedure code 3.000001")]


def test_dvcqg_invalid_records_list_every_problem() -> None:
    assert problems_of("dvcqg", load("dvcqg", "invalid_records.json")) == [
        (0, ("KenhThucHien",), "unknown code 7 (expected one of 1, 2, 3)"),
        (1, ("TrangThaiHoSo",), "unknown code 11 (expected one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"),
        (2, ("NgayTiepNhan",), "expected yyyyMMddHHmmss, got '15/04/2024 08:30:00'"),
        (2, ("NgayHenTra",), "not a valid date and time: '20240231170000'"),
        (3, ("NgayKetThucXuLy",), "missing required field"),
        (3, ("MaTTHC",), "unknown procedure code 9.999999"),
        (4, (), "expected a JSON object"),
        (5, ("MaHoSo",), "missing required field"),
        (5, ("DonViXuLy",), "not a valid code: 'UBND xã Tân Hưng'"),
        (5, ("HoSoCoThanhPhanSoHoa",), "expected 0 or 1, got '2'"),
    ]


def test_dvcqg_invalid_envelope_is_one_problem_without_index() -> None:
    assert problems_of("dvcqg", load("dvcqg", "invalid_envelope.json")) == [
        (None, (), "expected a JSON array of records or an object with one of: data, HoSo, hoSo, DanhSachHoSo")
    ]


# --- deterministic ids ----------------------------------------------------------------------------------


def test_same_record_sent_twice_gets_the_same_event_ids() -> None:
    payload = load("dvcqg", "valid_records.json")

    first = [e.event_id for e in translate("dvcqg", payload)]
    second = [e.event_id for e in translate("dvcqg", payload)]

    assert first == second
    assert len(set(first)) == len(first)


def test_later_status_repeats_the_received_id_and_adds_a_completed_id() -> None:
    processing = load("dvcqg", "valid_envelope.json")["data"][0]
    returned = {**processing, "TrangThaiHoSo": "10", "NgayKetThucXuLy": "20240417100000"}

    (received_early,) = translate("dvcqg", [processing])
    received_late, completed = translate("dvcqg", [returned])

    assert received_late.event_id == received_early.event_id
    assert completed.event_id != received_late.event_id


def test_event_ids_depend_on_source_and_format() -> None:
    record = load("dvcqg", "valid_envelope.json")["data"][0]

    (ours,) = translate("dvcqg", [record])
    (theirs,) = translate("dvcqg", [record], source="portal-h24")

    assert ours.event_id != theirs.event_id


def test_emc_received_and_returned_statuses_get_different_ids() -> None:
    push = load("emc", "valid_pushes.json")[0]
    returned = {**push, "Status": "3", "NgayKetThucXuLy": push["NgayTiepNhan"]}

    (received,) = translate("emc", [push])
    (completed,) = translate("emc", [returned])

    assert received.event_id != completed.event_id
    assert received.event_id == translate("emc", [push])[0].event_id


# --- emc ------------------------------------------------------------------------------------------------


def test_emc_pushes_translate_field_by_field() -> None:
    events = translate("emc", load("emc", "valid_pushes.json"))

    assert [(e.key, e.type) for e in events] == [
        ("000.00.20.H23-240415-0001", "dossier.received"),
        ("000.00.20.H23-240415-0002", "dossier.completed"),
        ("000.00.21.H23-240416-0007", "dossier.received"),
    ]
    full_online, returned, counter = events

    assert isinstance(full_online, DossierReceived)
    assert full_online.occurred_at == datetime(2024, 4, 15, 1, 30, tzinfo=UTC)
    assert full_online.unit_code == "000.00.20.H23"
    assert full_online.procedure_code == "2.000123"
    assert full_online.channel is Channel.ONLINE
    assert full_online.service_level is ServiceLevel.FULL_ONLINE
    assert full_online.essential is False
    assert full_online.digitized is True
    assert full_online.due_at == vn("2024-04-18 17:00")

    assert isinstance(returned, DossierCompleted)
    assert returned.occurred_at == vn("2024-04-16 09:00")
    assert returned.outcome is Outcome.APPROVED
    assert returned.result_channel is Channel.POSTAL  # IsDVCBC = 1: result sent by VnPost
    assert returned.electronic_result is False
    assert returned.due_at == vn("2024-04-16 17:00")

    assert isinstance(counter, DossierReceived)
    assert counter.unit_code == "000.00.21.H23"  # DonViXuLy when MaDonVi is absent
    assert counter.channel is Channel.IN_PERSON
    assert counter.service_level is ServiceLevel.PARTIAL_ONLINE  # Level 0: from the catalogue
    assert counter.essential is True
    assert counter.digitized is False  # EMC default when no digitization flag is sent


def test_emc_processing_status_is_ignored_not_an_error() -> None:
    processing = load("emc", "valid_pushes.json")[1]
    assert processing["Status"] == "2"

    assert translate("emc", [processing]) == []


def test_emc_payload_level_wins_over_catalogue_and_covers_unknown_procedures() -> None:
    push = {**load("emc", "valid_pushes.json")[0], "CodeTTHC": "3.000001", "Level": "3"}

    (event,) = translate("emc", {"data": [push]})

    assert isinstance(event, DossierReceived)
    assert (event.service_level, event.essential) == (ServiceLevel.PARTIAL_ONLINE, False)


def test_emc_invalid_pushes_list_every_problem() -> None:
    assert problems_of("emc", load("emc", "invalid_pushes.json")) == [
        (0, ("Status",), "unknown code 5 (expected one of 0, 1, 2, 3, 4)"),
        (1, ("FormsReception",), "unknown code 3 (expected one of 1, 2)"),
        (1, ("CodeTTHC",), "unknown procedure code 9.999999"),
        (2, ("MaDonVi",), "missing required field (or DonViXuLy)"),
        (2, ("NgayKetThucXuLy",), "missing required field"),
        (3, ("NgayTiepNhan",), "not a valid date and time: '20241315083000'"),
        (4, ("MaHoSo",), "missing required field (or CodeProfile)"),
        (4, ("HoSoCoThanhPhanSoHoa",), "expected 0 or 1, got 'yes'"),
    ]


def test_emc_invalid_envelope_is_one_problem_without_index() -> None:
    assert problems_of("emc", load("emc", "invalid_envelope.json")) == [
        (None, (), "expected a JSON array of records or an object with one of: data, items")
    ]


def test_problems_are_plain_values_for_the_http_layer() -> None:
    with pytest.raises(AdapterError) as caught:
        translate("emc", [{"Status": "9"}])

    assert caught.value.problems == [
        Problem(0, ("Status",), "unknown code 9 (expected one of 0, 1, 2, 3, 4)"),
        Problem(0, ("MaHoSo",), "missing required field (or CodeProfile)"),
    ]
    assert isinstance(caught.value, ValueError)


def test_registry_names_both_formats() -> None:
    assert sorted(ADAPTERS) == ["dvcqg", "emc"]
