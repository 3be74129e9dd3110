"""Upstream-format adapters: national-portal sync ("dvcqg") and EMC pushes ("emc") to canonical events."""

from __future__ import annotations

import itertools
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.ingest.core.adapters import (
    ADAPTERS,
    AdapterContext,
    AdapterError,
    Delivery,
    Problem,
    ProcedureInfo,
    decode_form,
)
from services.ingest.core.adapters.common import parse_vn_timestamp
from shared.events import (
    Channel,
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierReceived,
    Event,
    Outcome,
    PauseReason,
    PaymentChannel,
    ServiceLevel,
    dump_event,
    parse_event,
)
from shared.refdata import load_reference_data

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SOURCE = "portal-h24"
NOW = datetime(2025, 7, 25, 2, 0, tzinfo=UTC)
CATALOGUE = {
    "1.001612": ProcedureInfo(service_level=ServiceLevel.PARTIAL_ONLINE, essential=True),
    "2.000123": ProcedureInfo(service_level=ServiceLevel.FULL_ONLINE, essential=False),
    "1.000456": ProcedureInfo(service_level=ServiceLevel.OFFLINE, essential=False),
}
TREE = load_reference_data().tree
CONTEXT = AdapterContext(procedure_lookup=CATALOGUE.get, unit_lookup=TREE.resolve)
PERSONAL_VALUES = ["Nguyễn Thị Mẫu", "0912000111", "mau.nguyen@example.invalid", "001190000111", "Số 1 phố Mẫu",
                   "001190000222", "Lê Văn Mẫu", "0912000222", "Trần Văn Cán Bộ"]  # fmt: skip


def vn(text: str) -> datetime:
    """A Vietnam wall-clock time written `2025-07-15 08:30` as an aware datetime."""
    return datetime.fromisoformat(f"{text}+07:00")


def load(fmt: str, name: str) -> Any:
    return json.loads((FIXTURES / fmt / name).read_text(encoding="utf-8"))


def forms() -> list[bytes]:
    return (FIXTURES / "emc" / "form_pushes.txt").read_bytes().splitlines()


def translate(
    fmt: str, payload: object, *, source: str = SOURCE, sender_unit: str | None = None, at: datetime = NOW
) -> list[Event]:
    delivery = Delivery(source=source, received_at=at, sender_unit=sender_unit)
    return ADAPTERS[fmt].translate(payload, delivery=delivery, context=CONTEXT)


def problems_of(fmt: str, payload: object, **kwargs: Any) -> list[tuple[int | None, tuple[str | int, ...], str]]:
    with pytest.raises(AdapterError) as caught:
        translate(fmt, payload, **kwargs)
    return [(p.index, p.path, p.message) for p in caught.value.problems]


def by_kind(events: list[Event]) -> dict[tuple[str, str], Event]:
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


# --- dvcqg: one dossier's history -----------------------------------------------------------------------


def test_dvcqg_history_yields_received_paused_resumed_paid_completed_once_each() -> None:
    events = translate("dvcqg", load("dvcqg", "history.json"))

    assert sorted(e.type for e in events) == [
        "dossier.completed", "dossier.paid", "dossier.paused", "dossier.received", "dossier.resumed",
    ]  # fmt: skip
    found = by_kind(events)
    received = found["100.00.00.H24-250715-0001", "dossier.received"]
    assert isinstance(received, DossierReceived)
    assert received.unit_code == "H24.100"  # the dossier-code prefix 100.00.00.H24 is the ward's alias
    assert received.occurred_at == vn("2025-07-15 08:30")
    assert (received.channel, received.service_level, received.essential) == (
        Channel.ONLINE, ServiceLevel.PARTIAL_ONLINE, True,
    )  # fmt: skip
    assert received.digitized is True  # HoSoCoThanhPhanSoHoa is 0, but a TaiLieuNop paper was digitized
    assert received.due_at == vn("2025-07-22 17:00")
    assert (received.fee_bearing, received.reused_data, received.from_personal_store, received.population_data) == (
        True, False, True, True,
    )  # fmt: skip
    paused = found["100.00.00.H24-250715-0001", "dossier.paused"]
    assert isinstance(paused, DossierPaused)
    assert (paused.reason, paused.occurred_at) == (PauseReason.SUPPLEMENT, vn("2025-07-17 10:00"))
    assert found["100.00.00.H24-250715-0001", "dossier.resumed"].occurred_at == vn("2025-07-18 09:00")
    paid = found["100.00.00.H24-250715-0001", "dossier.paid"]
    assert isinstance(paid, DossierPaid)
    assert (paid.channel, paid.amount_vnd, paid.occurred_at) == (
        PaymentChannel.NATIONAL_PORTAL,
        50000,
        received.occurred_at,
    )
    completed = found["100.00.00.H24-250715-0001", "dossier.completed"]
    assert isinstance(completed, DossierCompleted)
    assert completed.occurred_at == vn("2025-07-21 16:00")  # status 9's NgayKetThucXuLy; status 10 adds nothing
    assert (completed.outcome, completed.electronic_result) == (Outcome.APPROVED, True)


def test_dvcqg_history_in_any_order_and_repeated_gives_the_same_events() -> None:
    history = load("dvcqg", "history.json")
    expected = {e.event_id: dump_event(e) for e in translate("dvcqg", history)}
    rng = random.Random(11)

    for _ in range(20):
        shuffled = rng.sample(history * 2, k=len(history) * 2)
        assert {e.event_id: dump_event(e) for e in translate("dvcqg", shuffled)} == expected
    one_by_one = [e for record in reversed(history) for e in translate("dvcqg", [record])]
    assert {e.event_id for e in one_by_one} == set(expected)
    assert {e.event_id: dump_event(e) for e in one_by_one} == expected  # every record tells the same facts


def test_status_10_alone_is_the_same_completion_as_status_9() -> None:
    history = load("dvcqg", "history.json")
    finished, returned = history[4], history[5]
    assert (finished["TrangThaiHoSo"], returned["TrangThaiHoSo"]) == ("9", "10")

    assert translate("dvcqg", [finished]) == translate("dvcqg", [returned])


# --- dvcqg: the mapping, record by record ---------------------------------------------------------------


def test_dvcqg_records_translate_field_by_field() -> None:
    events = translate("dvcqg", load("dvcqg", "valid_records.json"))
    found = by_kind(events)

    in_person = found["000.00.07.H24-250716-0001", "dossier.received"]
    assert isinstance(in_person, DossierReceived)
    assert in_person.unit_code == "H24.07"  # from the MaHoSo prefix, never from DonViXuLy (a name)
    assert in_person.channel is Channel.IN_PERSON  # no KenhThucHien at all
    assert (in_person.service_level, in_person.digitized) == (ServiceLevel.OFFLINE, False)
    assert (in_person.fee_bearing, in_person.reused_data, in_person.population_data) == (None, None, None)
    counter_result = found["000.00.07.H24-250716-0001", "dossier.completed"]
    assert isinstance(counter_result, DossierCompleted)
    assert (counter_result.outcome, counter_result.electronic_result) == (Outcome.APPROVED, False)  # no file link

    postal = found["000.00.07.H24-250716-0002", "dossier.received"]
    assert isinstance(postal, DossierReceived)
    assert (postal.channel, postal.digitized, postal.fee_bearing, postal.reused_data) == (
        Channel.POSTAL, True, False, True,
    )  # fmt: skip
    assert (postal.from_personal_store, postal.population_data) == (False, False)
    refused = found["000.00.07.H24-250716-0002", "dossier.completed"]
    assert isinstance(refused, DossierCompleted)
    assert (refused.outcome, refused.occurred_at) == (Outcome.REJECTED, vn("2025-07-18 15:00"))  # 9 with NgayTuChoi
    assert ("000.00.07.H24-250716-0002", "dossier.paid") not in found  # DuocThanhToanTrucTuyen 0

    withdrawn = found["000.00.07.H24-250716-0003", "dossier.completed"]
    assert isinstance(withdrawn, DossierCompleted)
    assert (withdrawn.outcome, withdrawn.occurred_at) == (Outcome.WITHDRAWN, vn("2025-07-17 11:00"))
    stopped = found["000.00.07.H24-250716-0004", "dossier.completed"]
    assert isinstance(stopped, DossierCompleted)
    assert stopped.outcome is Outcome.STOPPED  # status 8 is stopped, not rejected

    obligation = found["000.00.07.H24-250716-0005", "dossier.paused"]
    assert isinstance(obligation, DossierPaused)
    assert (obligation.reason, obligation.occurred_at) == (PauseReason.FINANCIAL_OBLIGATION, NOW)  # time of receipt
    gateway = found["000.00.07.H24-250716-0005", "dossier.paid"]
    assert isinstance(gateway, DossierPaid)
    assert (gateway.channel, gateway.amount_vnd) == (PaymentChannel.LOCAL_GATEWAY, 170000)

    assert not any(key == "000.00.07.H24-250716-0006" for key, _ in found)  # status 1: not received yet
    assert found["101.00.00.H24-250716-0007", "dossier.received"].unit_code == "H24.101"


def test_dvcqg_events_are_valid_canonical_events_without_personal_data() -> None:
    for event in translate("dvcqg", [*load("dvcqg", "valid_records.json"), *load("dvcqg", "history.json")]):
        text = dump_event(event).decode()
        assert parse_event(text) == event
        assert not [value for value in PERSONAL_VALUES if value in text]


def test_dvcqg_envelope_bare_array_and_bare_record_match() -> None:
    envelope = load("dvcqg", "valid_envelope.json")
    assert (envelope["service"], envelope["isUpdating"]) == ("DongBoHoSoMC", False)
    (record,) = envelope["data"]

    assert translate("dvcqg", envelope) == translate("dvcqg", [record]) == translate("dvcqg", record)
    assert translate("dvcqg", envelope) == translate("dvcqg", {"HoSo": [record]})


def test_dvcqg_unit_falls_back_to_the_sender_unit_and_unknown_units_name_both_identifiers() -> None:
    record = {**load("dvcqg", "valid_envelope.json")["data"][0], "MaHoSo": "HS-250715-0001"}

    (received, _paid) = translate("dvcqg", [record], sender_unit="000.00.01.H24")
    assert received.unit_code == "H24.01"
    assert problems_of("dvcqg", [record], sender_unit="000.00.99.H24") == [
        (0, ("MaHoSo",), "unknown unit: MaHoSo 'HS', MaDinhDanhDV '000.00.99.H24' is neither a unit code nor an "
                         "alias in the unit tree"),
    ]  # fmt: skip


def test_dvcqg_unknown_procedure_is_a_problem_not_a_guess() -> None:
    record = {**load("dvcqg", "valid_envelope.json")["data"][0], "MaTTHC": "3.000001"}

    assert problems_of("dvcqg", [record]) == [(0, ("MaTTHC",), "unknown procedure code 3.000001")]


def test_dvcqg_invalid_records_list_every_problem_and_never_a_personal_value() -> None:
    problems = problems_of("dvcqg", load("dvcqg", "invalid_records.json"))

    assert problems == [
        (0, ("KenhThucHien",), "unknown code 7 (expected one of 1, 2, 3)"),
        (1, ("TrangThaiHoSo",), "unknown code 11 (expected one of 1, 2, 3, 4, 5, 6, 7, 8, 9, 10)"),
        (2, ("NgayTiepNhan",), "expected yyyyMMddHHmmss, got '15/07/2025 08:30:00'"),
        (2, ("NgayHenTra",), "not a valid date and time: '20250231170000'"),
        (3, ("NgayKetThucXuLy",), "missing required field"),
        (3, ("MaTTHC",), "unknown procedure code 9.999999"),
        (4, (), "expected a JSON object"),
        (5, ("MaHoSo",), "missing required field"),
        (5, ("HoSoCoThanhPhanSoHoa",), "expected 0 or 1, got '2'"),
        (6, ("MaHoSo",), "unknown unit: MaHoSo '999.00.00.H24' is neither a unit code nor an alias in the unit tree"),
        (7, ("DanhSachHoSoBoSung", 0, "NgayBoSung"), "missing required field"),
        (7, ("DanhSachHoSoBoSung", 1, "NgayBoSung"), "not a valid date and time: '20251317100000'"),
    ]
    assert not [v for v in PERSONAL_VALUES for _, _, message in problems if v in message]


def test_dvcqg_invalid_envelope_is_one_problem_without_index() -> None:
    assert problems_of("dvcqg", load("dvcqg", "invalid_envelope.json")) == [
        (None, (), "expected a JSON array of records or an object with one of: data, HoSo, hoSo, DanhSachHoSo")
    ]


def test_a_problem_names_its_record_by_dossier_code() -> None:
    with pytest.raises(AdapterError) as caught:
        translate("dvcqg", load("dvcqg", "invalid_records.json")[:1])

    assert caught.value.problems[0].record == "000.00.07.H24-250716-0101"


# --- deterministic ids ----------------------------------------------------------------------------------


def test_event_ids_depend_on_source_not_on_arrival() -> None:
    record = load("dvcqg", "valid_envelope.json")["data"][0]

    ours = [e.event_id for e in translate("dvcqg", [record])]
    later = [e.event_id for e in translate("dvcqg", [record], at=NOW + timedelta(days=3))]
    theirs = [e.event_id for e in translate("dvcqg", [record], source="portal-h23")]

    assert ours == later
    assert not set(ours) & set(theirs)


def test_two_supplement_requests_are_two_pauses() -> None:
    record = load("dvcqg", "history.json")[3]
    second = {**record["DanhSachHoSoBoSung"][0], "NgayBoSung": "20250719100000", "NgayTiepNhanBoSung": ""}
    record = {**record, "DanhSachHoSoBoSung": [*record["DanhSachHoSoBoSung"], second]}

    pauses = [e for e in translate("dvcqg", [record]) if isinstance(e, DossierPaused)]

    assert sorted(p.occurred_at for p in pauses) == [vn("2025-07-17 10:00"), vn("2025-07-19 10:00")]
    assert len({p.event_id for p in pauses}) == 2


# --- emc ------------------------------------------------------------------------------------------------


def test_emc_pushes_translate_field_by_field() -> None:
    events = translate("emc", load("emc", "valid_pushes.json"))
    found = by_kind(events)

    assert sorted(found) == [
        ("102.00.00.H24-250716-0001", "dossier.received"),
        ("102.00.00.H24-250716-0002", "dossier.completed"),
        ("102.00.00.H24-250716-0002", "dossier.paid"),
        ("102.00.00.H24-250716-0002", "dossier.received"),
        ("HS-250716-0004", "dossier.paid"),
        ("HS-250716-0004", "dossier.received"),
    ]  # status 0 (push 3) yields nothing; the processing push 1 repeats push 0's reception
    online = found["102.00.00.H24-250716-0001", "dossier.received"]
    assert isinstance(online, DossierReceived)
    assert (online.occurred_at, online.unit_code, online.source) == (NOW, "H24.102", SOURCE)  # time of receipt
    assert (online.channel, online.service_level, online.essential) == (
        Channel.ONLINE,
        ServiceLevel.PARTIAL_ONLINE,
        True,
    )
    assert online.digitized is False  # EMC says nothing of digitization; Level 4 lost to the catalogue above

    returned = found["102.00.00.H24-250716-0002", "dossier.completed"]
    assert isinstance(returned, DossierCompleted)
    assert (returned.outcome, returned.result_channel, returned.electronic_result) == (
        Outcome.APPROVED, Channel.POSTAL, False,
    )  # fmt: skip
    portal = found["102.00.00.H24-250716-0002", "dossier.paid"]
    assert isinstance(portal, DossierPaid)
    assert portal.channel is PaymentChannel.NATIONAL_PORTAL  # paid online, IsFromDVCQG 1

    counter = found["HS-250716-0004", "dossier.received"]
    assert counter.unit_code == "H24.103"  # no MaHoSo, and HS is no unit: SiteId emc-h24-103
    paid = found["HS-250716-0004", "dossier.paid"]
    assert isinstance(paid, DossierPaid)
    assert paid.channel is PaymentChannel.DIRECT


def test_emc_form_encoded_camel_case_pushes_match_the_json_style() -> None:
    events = [e for body in forms() for e in translate("emc", decode_form(body))]
    found = by_kind(events)

    received = found["104.00.00.H24-250716-0011", "dossier.received"]
    assert isinstance(received, DossierReceived)
    assert (received.unit_code, received.channel) == ("H24.104", Channel.ONLINE)
    completed = found["104.00.00.H24-250716-0011", "dossier.completed"]
    assert isinstance(completed, DossierCompleted)
    assert (completed.result_channel, completed.electronic_result) == (Channel.ONLINE, True)  # IsDVCBC 2
    paid = found["104.00.00.H24-250716-0011", "dossier.paid"]
    assert isinstance(paid, DossierPaid)
    assert paid.channel is PaymentChannel.LOCAL_GATEWAY
    as_json = {k[:1].upper() + k[1:]: v for k, v in decode_form(forms()[0]).items()}
    assert translate("emc", as_json) == translate("emc", decode_form(forms()[0]))


def test_emc_re_sent_push_is_a_duplicate_whenever_it_arrives() -> None:
    push = load("emc", "valid_pushes.json")[0]

    (first,) = translate("emc", [push])
    (again,) = translate("emc", [push], at=NOW + timedelta(hours=5))

    assert first.event_id == again.event_id


def test_emc_events_hold_no_personal_data() -> None:
    events = translate("emc", load("emc", "valid_pushes.json")) + [
        e for body in forms() for e in translate("emc", decode_form(body))
    ]
    for event in events:
        text = dump_event(event).decode()
        assert not [value for value in PERSONAL_VALUES if value in text]


def test_emc_invalid_pushes_list_every_problem() -> None:
    assert problems_of("emc", load("emc", "invalid_pushes.json")) == [
        (0, ("Status",), "unknown code 5 (expected one of 0, 1, 2, 3, 4)"),
        (1, ("FormsReception",), "unknown code 3 (expected one of 1, 2)"),
        (1, ("CodeTTHC",), "unknown procedure code 9.999999"),
        (2, ("MaHoSo",), "unknown unit: MaHoSo '999.00.00.H24', SiteId 'emc-h99-1' is neither a unit code nor an "
                         "alias in the unit tree"),
        (3, ("FormsPayments",), "unknown code 7 (expected one of 0, 1, 2)"),
        (4, ("MaHoSo",), "missing required field (or CodeProfile)"),
    ]  # fmt: skip


def test_emc_invalid_envelope_and_form_are_one_problem_without_index() -> None:
    assert problems_of("emc", load("emc", "invalid_envelope.json")) == [
        (None, (), "expected a JSON array of records or an object with one of: data, items")
    ]
    with pytest.raises(AdapterError) as caught:
        decode_form(b"\xff\xfe not a form")
    assert [p.index for p in caught.value.problems] == [None]


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


def test_every_status_pair_of_a_history_commutes() -> None:
    history = load("dvcqg", "history.json")
    for a, b in itertools.permutations(history, 2):
        assert {e.event_id for e in translate("dvcqg", [a, b])} == {e.event_id for e in translate("dvcqg", [b, a])}
