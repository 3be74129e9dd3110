"""EMC tracking pushes ("emc"): one push per dossier status change, to canonical dossier events.

Public senders post `CodeProfile`, `MaHoSo`, `CodeTTHC`, `NameTTHC`, `Status`, `FormsReception`,
`FormsPayments`, `Level`, `IsFromDVCQG`, `IsDVCBC`, `User`, `SiteId`; codes are digit strings or numbers.
That body has no event time and no unit, so CivicPulse also requires, in the same naming as the portal
sync: `NgayTiepNhan` (Status 1) or `NgayKetThucXuLy` (Status 3), `yyyyMMddHHmmss` Vietnam time; and the
unit as `MaDonVi` (or `DonViXuLy`). Optional: `NgayHenTra` (due), `HoSoCoThanhPhanSoHoa` (digitized,
default false: EMC carries no digitization data). Envelope: an array, `data`/`items`, or a bare push.

| field | values |
|---|---|
| `Status` | 1 received -> `dossier.received`; 3 result returned -> `dossier.completed` |
| `Status` | 0 other, 2 processing, 4 assigned -> nothing: ignored, not an error |
| `FormsReception` | 1 online, 2 in person |
| `Level` | 3 `partial_online`, 4 `full_online`; absent or any other level -> the catalogue |
| `IsDVCBC` | 1 (result by VnPost) -> `result_channel` postal; else the submission channel |

Completion outcome is `approved` (EMC has no refusal status); `electronic_result` is true for online
submissions. The dossier id is `MaHoSo`, else `CodeProfile`.
"""

from __future__ import annotations

from typing import Final

from services.ingest.core.adapters.common import (
    AdapterContext,
    ProcedureInfo,
    RecordReader,
    derive_event_id,
    translate_records,
)
from shared.events import Channel, DossierCompleted, DossierReceived, Event, Outcome, ServiceLevel

FORMAT: Final = "emc"
ENVELOPE_KEYS: Final = ("data", "items")
STATUSES: Final = {0: None, 1: "dossier.received", 2: None, 3: "dossier.completed", 4: None}
CHANNELS: Final = {1: Channel.ONLINE, 2: Channel.IN_PERSON}
LEVELS: Final = {3: ServiceLevel.PARTIAL_ONLINE, 4: ServiceLevel.FULL_ONLINE}
POSTAL_RESULT: Final = {0: False, 1: True, 2: False}


def _first_code(reader: RecordReader, *fields: str) -> str | None:
    """The first present of several alternative identifier fields; missing from all is one problem."""
    for field in fields:
        if reader.has(field):
            return reader.code(field)
    reader.fail(fields[0], f"missing required field (or {', '.join(fields[1:])})")
    return None


class EmcAdapter:
    """Translates EMC tracking pushes."""

    def translate(self, payload: object, *, source: str, context: AdapterContext) -> list[Event]:
        """Translate EMC pushes into canonical events, or raise AdapterError listing every problem."""
        return translate_records(
            payload,
            envelope_keys=ENVELOPE_KEYS,
            translate_record=lambda reader: self._record(reader, source=source, context=context),
        )

    def _record(self, reader: RecordReader, *, source: str, context: AdapterContext) -> list[Event]:
        event_type = reader.choice("Status", STATUSES)
        dossier_id = _first_code(reader, "MaHoSo", "CodeProfile")
        if event_type is None:
            return []
        received = event_type == "dossier.received"
        procedure_code = reader.code("CodeTTHC")
        unit_code = _first_code(reader, "MaDonVi", "DonViXuLy")
        channel = reader.choice("FormsReception", CHANNELS)
        occurred_at = reader.timestamp("NgayTiepNhan" if received else "NgayKetThucXuLy")
        due_at = reader.timestamp("NgayHenTra", required=False)
        info: ProcedureInfo | None = None
        digitized = postal_result = None
        if received:
            level = LEVELS.get(reader.integer("Level", required=False) or 0)
            digitized = reader.flag("HoSoCoThanhPhanSoHoa", required=False)
            info = context.resolve(procedure_code, service_level=level) if procedure_code else None
            if procedure_code and info is None:
                reader.fail("CodeTTHC", f"unknown procedure code {procedure_code}")
        else:
            postal_result = reader.choice("IsDVCBC", POSTAL_RESULT, required=False)
        if (
            reader.problems
            or dossier_id is None
            or procedure_code is None
            or unit_code is None
            or channel is None
            or occurred_at is None
        ):
            return []
        event_id = derive_event_id(
            fmt=FORMAT, source=source, dossier_id=dossier_id, event_type=event_type, occurred_at=occurred_at
        )
        if received:
            assert info is not None  # narrowing only: a missing entry was recorded as a problem
            return [
                DossierReceived(
                    type="dossier.received",
                    event_id=event_id,
                    occurred_at=occurred_at,
                    source=source,
                    unit_code=unit_code,
                    dossier_id=dossier_id,
                    procedure_code=procedure_code,
                    channel=channel,
                    service_level=info.service_level,
                    essential=info.essential,
                    digitized=bool(digitized),
                    due_at=due_at,
                )
            ]
        return [
            DossierCompleted(
                type="dossier.completed",
                event_id=event_id,
                occurred_at=occurred_at,
                source=source,
                unit_code=unit_code,
                dossier_id=dossier_id,
                procedure_code=procedure_code,
                outcome=Outcome.APPROVED,
                result_channel=Channel.POSTAL if postal_result else channel,
                electronic_result=channel is Channel.ONLINE,
                due_at=due_at,
            )
        ]
