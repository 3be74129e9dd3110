"""National-portal dossier sync (`DongBoHoSoMC`, "dvcqg"): dossier records to canonical dossier events.

Envelope: `{"isUpdating": bool, "service": "DongBoHoSoMC", "data": [records]}`, a bare array of records, or
one record. Each record is a snapshot of a dossier at its current status (`TrangThaiHoSo`); every snapshot
yields every fact it shows, with the event ids of `common`, so a history (2, 4, 5, 4, 9, 10) sent in any
order, any number of times, yields each fact once. Dates are `yyyyMMddHHmmss` Vietnam time; codes may be
JSON numbers or digit strings; "" counts as absent. Personal data (`ChuHoSo`, `SoDienThoai`, ...) is never read.

| status | meaning | facts |
|---|---|---|
| 1, 3 | new registration / not accepted | none: the dossier was never received |
| 2, 4 | accepted / in progress | received |
| 5 | supplement requested | received; pauses come from `DanhSachHoSoBoSung` (any status) |
| 6 | financial obligation requested | received, paused (`financial_obligation`) |
| 7 | withdrawn by the citizen | received, completed `withdrawn` (nothing if never received) |
| 8 | processing stopped | received, completed `stopped` |
| 9 | processing finished (the completion the 766 index measures) | received, completed `approved` |
|   |   | (`rejected` when `NgayTuChoi` is set) |
| 10 | result returned | the same as 9: not a second completion |

Unit: the `MaHoSo` prefix, else the `MaDinhDanhDV` query parameter, resolved through the unit tree;
`DonViXuLy` is the unit's name and is not read. `KenhThucHien` 1 in person, 2 online, 3 postal, absent in
person. Service level and essential flag: the catalogue. `digitized`: `HoSoCoThanhPhanSoHoa` or any
`TaiLieuNop[].DuocSoHoa`. `electronic_result`: a `DanhSachGiayToKetQua` entry has a file link. 766 facts:
`fee_bearing` = `DanhSachLePhi` non-empty, `reused_data` = any `TaiLieuNop[].DuocTaiSuDung`,
`from_personal_store` = any `TaiLieuNop[].DuocLayTuKhoDMQG`, `population_data` = `TaiKhoanDuocXacThucVoiVNeID`
(each None when the record does not say). `DuocThanhToanTrucTuyen` 1 / 2: paid on the national portal / a
local gateway. Every `DanhSachHoSoBoSung` entry: paused (`supplement`) at `NgayBoSung`, resumed at
`NgayTiepNhanBoSung` once the papers came in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Final

from services.ingest.core.adapters.common import (
    VN_TZ,
    AdapterContext,
    Delivery,
    RecordReader,
    catalogue_entry,
    derive_event_id,
    dossier_unit_prefix,
    instant,
    resolve_unit,
    translate_records,
)
from shared.events import (
    Channel,
    DossierCompleted,
    DossierPaid,
    DossierPaused,
    DossierReceived,
    DossierResumed,
    Event,
    Outcome,
    PauseReason,
    PaymentChannel,
)

FORMAT: Final = "dvcqg"
ENVELOPE_KEYS: Final = ("data", "HoSo", "hoSo", "DanhSachHoSo")
CHANNELS: Final = {1: Channel.IN_PERSON, 2: Channel.ONLINE, 3: Channel.POSTAL}
NOT_RECEIVED: Final = frozenset({1, 3})
OUTCOMES: Final = {7: Outcome.WITHDRAWN, 8: Outcome.STOPPED, 9: Outcome.APPROVED, 10: Outcome.APPROVED}
STATUSES: Final = {status: status for status in range(1, 11)}
PAYMENTS: Final = {0: None, 1: PaymentChannel.NATIONAL_PORTAL, 2: PaymentChannel.LOCAL_GATEWAY}
FINANCIAL_OBLIGATION: Final = 6


def supplement_time(reader: RecordReader, raw: object, path: tuple[str | int, ...]) -> datetime | None:
    """A supplement entry's date: `yyyyMMddHHmmss`, or ISO 8601 local time.

    GUESS: public implementations type these dates as .NET `DateTime`, which some serialise as ISO 8601.
    """
    if isinstance(raw, str) and "T" in raw:
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=VN_TZ)
    return reader.timestamp_value(raw, path)


def fee_total(fees: list[tuple[int, Mapping[str, object]]]) -> int | None:
    """GUESS: the amount paid is the sum of the fees' `Gia`, when every one is a whole number of đồng."""
    prices = [str(fee.get("Gia", "")).strip() for _, fee in fees]
    if not prices or not all(p.isascii() and p.isdigit() for p in prices):
        return None
    return sum(int(p) for p in prices)


class DvcqgAdapter:
    """Translates national-portal dossier sync records."""

    def translate(self, payload: object, *, delivery: Delivery, context: AdapterContext) -> list[Event]:
        """Translate a sync payload into canonical events, or raise AdapterError listing every problem."""
        return translate_records(
            payload,
            envelope_keys=ENVELOPE_KEYS,
            record_keys=("MaHoSo",),
            translate_record=lambda reader: self._record(reader, delivery=delivery, context=context),
        )

    def _record(self, reader: RecordReader, *, delivery: Delivery, context: AdapterContext) -> list[Event]:
        status = reader.choice("TrangThaiHoSo", STATUSES)
        dossier_id = reader.code("MaHoSo")
        if status is None or status in NOT_RECEIVED:
            return []
        # GUESS: a withdrawal without a reception date happened before the dossier was received.
        received_at = reader.timestamp("NgayTiepNhan", required=status != 7)
        if received_at is None and not reader.problems:
            return []
        procedure_code = reader.code("MaTTHC")
        unit_code = resolve_unit(
            reader, context,
            [("MaHoSo", dossier_unit_prefix(dossier_id) if dossier_id else None),
             ("MaDinhDanhDV", delivery.sender_unit)],
        )  # fmt: skip
        channel = reader.choice("KenhThucHien", CHANNELS, required=False) or Channel.IN_PERSON
        due_at = reader.timestamp("NgayHenTra", required=False)
        # GUESS: neither the flag nor a digitized paper means not digitized; absent 766 facts stay unknown (None).
        digitized = reader.flag("HoSoCoThanhPhanSoHoa", required=False)
        digitized_paper = reader.any_flag("TaiLieuNop", "DuocSoHoa")
        outcome = OUTCOMES.get(status)
        completed_at = self._completed_at(reader, status) if outcome else None
        if outcome is Outcome.APPROVED and reader.has("NgayTuChoi"):
            outcome = Outcome.REJECTED
        payment = reader.choice("DuocThanhToanTrucTuyen", PAYMENTS, required=False)
        fees = reader.entries("DanhSachLePhi")
        pauses = self._supplements(reader)
        electronic_result = self._has_result_file(reader)
        info = catalogue_entry(reader, context, field="MaTTHC", code=procedure_code)
        facts = {
            "reused_data": reader.any_flag("TaiLieuNop", "DuocTaiSuDung"),
            "from_personal_store": reader.any_flag("TaiLieuNop", "DuocLayTuKhoDMQG"),
            "population_data": reader.flag("TaiKhoanDuocXacThucVoiVNeID", required=False),
            "fee_bearing": bool(fees) if "DanhSachLePhi" in reader.record else None,
        }
        if (
            reader.problems
            or dossier_id is None
            or procedure_code is None
            or unit_code is None
            or received_at is None
            or info is None
        ):
            return []

        def common(event_type: str, identity: str = "") -> dict[str, object]:
            event_id = derive_event_id(
                fmt=FORMAT, source=delivery.source, dossier_id=dossier_id, event_type=event_type, identity=identity
            )
            return {"type": event_type, "event_id": event_id, "source": delivery.source, "unit_code": unit_code,
                    "dossier_id": dossier_id, "procedure_code": procedure_code}  # fmt: skip

        events: list[Event] = [
            DossierReceived.model_validate(
                {**common("dossier.received"), "occurred_at": received_at, "channel": channel,
                 "service_level": info.service_level, "essential": info.essential,
                 "digitized": bool(digitized) or bool(digitized_paper), "due_at": due_at, **facts}
            )
        ]  # fmt: skip
        for paused_at, resumed_at in pauses:
            identity = f"{PauseReason.SUPPLEMENT}:{instant(paused_at)}"
            events.append(DossierPaused.model_validate(
                {**common("dossier.paused", identity), "occurred_at": paused_at, "reason": PauseReason.SUPPLEMENT}
            ))  # fmt: skip
            if resumed_at is not None:
                events.append(DossierResumed.model_validate(
                    {**common("dossier.resumed", identity), "occurred_at": resumed_at}
                ))  # fmt: skip
        if status == FINANCIAL_OBLIGATION:
            # GUESS: the record says when nothing else happened, so the pause starts when the record arrives;
            # one financial obligation per dossier, and no record shows when it was met (no resumption).
            events.append(DossierPaused.model_validate(
                {**common("dossier.paused", PauseReason.FINANCIAL_OBLIGATION), "occurred_at": delivery.received_at,
                 "reason": PauseReason.FINANCIAL_OBLIGATION}
            ))  # fmt: skip
        if payment is not None:
            # GUESS: the record has no payment date; the fee counts with the dossier's reception.
            events.append(DossierPaid.model_validate(
                {**common("dossier.paid"), "occurred_at": received_at, "channel": payment,
                 "amount_vnd": fee_total(fees)}
            ))  # fmt: skip
        if outcome is not None and completed_at is not None:
            events.append(DossierCompleted.model_validate(
                {**common("dossier.completed"), "occurred_at": completed_at, "outcome": outcome,
                 # GUESS: `HinhThuc` (how the result is returned) has undocumented codes: the submission channel.
                 "result_channel": channel, "electronic_result": electronic_result, "due_at": due_at}
            ))  # fmt: skip
        return events

    @staticmethod
    def _completed_at(reader: RecordReader, status: int) -> datetime | None:
        # GUESS: a withdrawal or a stop without NgayKetThucXuLy is dated by NgayTuChoi.
        if status in (7, 8) and not reader.has("NgayKetThucXuLy") and reader.has("NgayTuChoi"):
            return reader.timestamp("NgayTuChoi")
        return reader.timestamp("NgayKetThucXuLy")

    @staticmethod
    def _supplements(reader: RecordReader) -> list[tuple[datetime, datetime | None]]:
        """(requested, received) of every supplement request; the request date is required."""
        # GUESS: a status-5 record without any entry yields no pause (it carries no time); the resumption is the
        # entry's NgayTiepNhanBoSung (the supplement was received), not derived from the next status.
        found: list[tuple[datetime, datetime | None]] = []
        for position, entry in reader.entries("DanhSachHoSoBoSung"):
            path = ("DanhSachHoSoBoSung", position)
            if entry.get("NgayBoSung") in (None, ""):
                reader.fail((*path, "NgayBoSung"), "missing required field")
                continue
            requested = supplement_time(reader, entry["NgayBoSung"], (*path, "NgayBoSung"))
            answered = entry.get("NgayTiepNhanBoSung")
            received = (
                None if answered in (None, "") else supplement_time(reader, answered, (*path, "NgayTiepNhanBoSung"))
            )
            if requested is not None:
                found.append((requested, received))
        return found

    @staticmethod
    def _has_result_file(reader: RecordReader) -> bool:
        papers = reader.entries("DanhSachGiayToKetQua")
        return any(paper.get("DuongDanTepTinKetQua") not in (None, "") for _, paper in papers)
