"""National-portal dossier sync ("dvcqg"): dossier records (hồ sơ đồng bộ) to canonical dossier events.

Envelope: a JSON array of records, or an object holding them (or one record) under `data`, `HoSo`,
`hoSo`, `DanhSachHoSo`, or a bare record. Field names follow public implementations of the sync
(`MaHoSo`, `MaTTHC`, `KenhThucHien`, `TrangThaiHoSo`, `NgayTiepNhan`, ...); codes may be JSON numbers or
digit strings, dates are `yyyyMMddHHmmss` in Vietnam time, and "" counts as absent.

`TrangThaiHoSo` (the portal's status list) decides what a record yields:

| status | meaning | events |
|---|---|---|
| 1, 3 | newly registered / refused at reception | none: the dossier was never received |
| 2, 4, 5, 6, 9 | received / processing / waiting for papers or fees / processed | `dossier.received` |
| 7 | citizen withdrew | received + completed, outcome `withdrawn` |
| 8 | processing stopped | received + completed, outcome `rejected` |
| 10 | result returned | received + completed, `rejected` if `NgayTuChoi` is set, else `approved` |

Terminal statuses (7, 8, 10) require `NgayKetThucXuLy`, the completion time (the time on-time
performance is measured by). `result_channel` is the submission channel (the payload's `HinhThuc` is not
mapped: its codes are undocumented). `electronic_result` is true for online submissions and when any
`DanhSachGiayToKetQua` entry carries a result file link (`DuongDanTepTinKetQua`). `digitized` comes from
`HoSoCoThanhPhanSoHoa`, else from any `TaiLieuNop` entry with `DuocSoHoa` = 1. The portal carries no
service level or essential flag: both come from the catalogue, and an unknown procedure is a problem.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final
from uuid import UUID

from services.ingest.core.adapters.common import AdapterContext, RecordReader, derive_event_id, translate_records
from shared.events import Channel, DossierCompleted, DossierReceived, Event, Outcome

FORMAT: Final = "dvcqg"
ENVELOPE_KEYS: Final = ("data", "HoSo", "hoSo", "DanhSachHoSo")
CHANNELS: Final = {1: Channel.IN_PERSON, 2: Channel.ONLINE, 3: Channel.POSTAL}
NOT_RECEIVED: Final = frozenset({1, 3})
IN_PROGRESS: Final = frozenset({2, 4, 5, 6, 9})
TERMINAL_OUTCOMES: Final = {7: Outcome.WITHDRAWN, 8: Outcome.REJECTED, 10: Outcome.APPROVED}
STATUSES: Final = {status: status for status in sorted(NOT_RECEIVED | IN_PROGRESS | TERMINAL_OUTCOMES.keys())}


def _digitized(reader: RecordReader) -> bool | None:
    papers = reader.record.get("TaiLieuNop")
    if reader.has("HoSoCoThanhPhanSoHoa") or not isinstance(papers, list):
        return reader.flag("HoSoCoThanhPhanSoHoa")
    return any(isinstance(p, dict) and p.get("DuocSoHoa") in (1, "1") for p in papers)


def _has_result_file(reader: RecordReader) -> bool:
    results = reader.record.get("DanhSachGiayToKetQua")
    return isinstance(results, list) and any(
        isinstance(r, dict) and r.get("DuongDanTepTinKetQua") not in (None, "") for r in results
    )


class DvcqgAdapter:
    """Translates national-portal dossier sync records."""

    def translate(self, payload: object, *, source: str, context: AdapterContext) -> list[Event]:
        """Translate a sync payload into canonical events, or raise AdapterError listing every problem."""
        return translate_records(
            payload,
            envelope_keys=ENVELOPE_KEYS,
            translate_record=lambda reader: self._record(reader, source=source, context=context),
        )

    def _record(self, reader: RecordReader, *, source: str, context: AdapterContext) -> list[Event]:
        status = reader.choice("TrangThaiHoSo", STATUSES)
        dossier_id = reader.code("MaHoSo")
        if status is None or status in NOT_RECEIVED:
            return []
        procedure_code = reader.code("MaTTHC")
        unit_code = reader.code("DonViXuLy")
        channel = reader.choice("KenhThucHien", CHANNELS)
        received_at = reader.timestamp("NgayTiepNhan")
        due_at = reader.timestamp("NgayHenTra", required=False)
        digitized = _digitized(reader)
        outcome = TERMINAL_OUTCOMES.get(status)
        completed_at = reader.timestamp("NgayKetThucXuLy", required=outcome is not None)
        if outcome is Outcome.APPROVED and reader.has("NgayTuChoi"):
            outcome = Outcome.REJECTED
        info = context.resolve(procedure_code, service_level=None) if procedure_code else None
        if procedure_code and info is None:
            reader.fail("MaTTHC", f"unknown procedure code {procedure_code}")
        if (
            reader.problems
            or dossier_id is None
            or procedure_code is None
            or unit_code is None
            or channel is None
            or received_at is None
            or digitized is None
            or info is None
        ):
            return []

        def event_id(event_type: str, at: datetime) -> UUID:
            return derive_event_id(
                fmt=FORMAT, source=source, dossier_id=dossier_id, event_type=event_type, occurred_at=at
            )

        events: list[Event] = [
            DossierReceived(
                type="dossier.received",
                event_id=event_id("dossier.received", received_at),
                occurred_at=received_at,
                source=source,
                unit_code=unit_code,
                dossier_id=dossier_id,
                procedure_code=procedure_code,
                channel=channel,
                service_level=info.service_level,
                essential=info.essential,
                digitized=digitized,
                due_at=due_at,
            )
        ]
        if outcome is not None and completed_at is not None:
            events.append(
                DossierCompleted(
                    type="dossier.completed",
                    event_id=event_id("dossier.completed", completed_at),
                    occurred_at=completed_at,
                    source=source,
                    unit_code=unit_code,
                    dossier_id=dossier_id,
                    procedure_code=procedure_code,
                    outcome=outcome,
                    result_channel=channel,
                    electronic_result=channel is Channel.ONLINE or _has_result_file(reader),
                    due_at=due_at,
                )
            )
        return events
