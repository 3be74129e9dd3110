"""EMC tracking pushes (`TrackingMCDT`, "emc"): one push per dossier status change, to canonical dossier events.

Two sender styles: JSON with `CodeProfile`, `SiteId`, `CodeTTHC`, `NameTTHC`, `MaHoSo`, `Status`,
`FormsReception`, `Level`, `FormsPayments`, `IsFromDVCQG`, `IsDVCBC`, `Data`, `User` (an array, `data`/`items`,
or one push); and the same fields camelCase, form-encoded, without `MaHoSo` (`decode_form`). A push carries
no time: the time it was received is the event time (`Delivery.received_at`), and the event ids of `common`
(one per dossier and fact, whatever the time) make a re-sent push a duplicate. `User` and `Data` are never read.

| field | translation |
|---|---|
| dossier | `MaHoSo`, else `CodeProfile` |
| unit | the dossier code's prefix, else `SiteId`, resolved through the unit tree |
| `Status` 1 received, 2 processing, 4 assigned | `dossier.received` (a processing push implies the reception) |
| `Status` 3 result returned | `dossier.received` and `dossier.completed`, outcome `approved` |
| `Status` 0 other | nothing: refusals, withdrawals, pauses all arrive as 0 and cannot be told apart |
| `FormsReception` | 1 online, 2 in person |
| `Level` | not read: the catalogue's service level wins |
| `FormsPayments` | 1 paid online (`national_portal` if `IsFromDVCQG` is 1, else `local_gateway`), 2 `direct` |
| `IsDVCBC` | result channel: 0 in person, 1 postal (VnPost), 2 online; absent = the submission channel |

Known quirks, decided: status 1 is also sent for registrations not yet accepted, and counts as received
(EMC gives no way to tell; the sender's later refusal arrives as status 0 and retracts nothing); postal
submissions arrive as `FormsReception` 1 and count as online; `digitized` is false (EMC does not say).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from services.ingest.core.adapters.common import (
    AdapterContext,
    AdapterError,
    Delivery,
    Problem,
    RecordReader,
    catalogue_entry,
    derive_event_id,
    dossier_unit_prefix,
    resolve_unit,
    translate_records,
)
from shared.events import Channel, DossierCompleted, DossierPaid, DossierReceived, Event, Outcome, PaymentChannel

FORMAT: Final = "emc"
ENVELOPE_KEYS: Final = ("data", "items")
RECORD_KEYS: Final = ("MaHoSo", "CodeProfile", "Status")
# GUESS: status 1 counts as received although senders send it for registrations not yet accepted too (EMC
# cannot tell them apart); a processing, assigned or result push implies the reception.
RECEIVED_STATUSES: Final = frozenset({1, 2, 3, 4})
COMPLETED_STATUS: Final = 3
STATUSES: Final = {status: status for status in range(5)}
CHANNELS: Final = {1: Channel.ONLINE, 2: Channel.IN_PERSON}  # GUESS: postal submissions arrive as 1: online
PAYMENTS: Final = {0: None, 1: PaymentChannel.LOCAL_GATEWAY, 2: PaymentChannel.DIRECT}
# GUESS: 2 ("other": neither the counter nor VnPost) is an electronic result, returned online.
RESULT_CHANNELS: Final = {0: Channel.IN_PERSON, 1: Channel.POSTAL, 2: Channel.ONLINE}


def pascal_case(field: str) -> str:
    """The JSON style's name of a camelCase sender's field: `codeProfile` -> `CodeProfile`."""
    return field[:1].upper() + field[1:]


def decode_form(body: bytes) -> dict[str, str]:
    """One form-encoded (camelCase) push as the JSON style's fields; AdapterError if it is not a form."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body.strip()))
    except (UnicodeDecodeError, ValueError):
        raise AdapterError([Problem(None, (), "expected a form-encoded push (field=value&...) in UTF-8")]) from None
    return {pascal_case(name): value for name, value in pairs}


def _normalised(payload: object) -> object:
    if isinstance(payload, list):
        return [_normalised(item) for item in payload]
    if isinstance(payload, dict) and not any(key in payload for key in ENVELOPE_KEYS):
        return {pascal_case(key) if isinstance(key, str) else key: value for key, value in payload.items()}
    if isinstance(payload, dict):
        return {key: _normalised(value) if key in ENVELOPE_KEYS else value for key, value in payload.items()}
    return payload


class EmcAdapter:
    """Translates EMC tracking pushes, in either sender style."""

    def translate(self, payload: object, *, delivery: Delivery, context: AdapterContext) -> list[Event]:
        """Translate EMC pushes into canonical events, or raise AdapterError listing every problem."""
        return translate_records(
            _normalised(payload),
            envelope_keys=ENVELOPE_KEYS,
            record_keys=RECORD_KEYS,
            translate_record=lambda reader: self._record(reader, delivery=delivery, context=context),
        )

    def _record(self, reader: RecordReader, *, delivery: Delivery, context: AdapterContext) -> list[Event]:
        status = reader.choice("Status", STATUSES)
        id_field = "MaHoSo" if reader.has("MaHoSo") or not reader.has("CodeProfile") else "CodeProfile"
        dossier_id = reader.code(id_field, required=False)
        if not reader.has(id_field):
            reader.fail("MaHoSo", "missing required field (or CodeProfile)")
        if status not in RECEIVED_STATUSES:
            return []
        procedure_code = reader.code("CodeTTHC")
        unit_code = resolve_unit(
            reader, context,
            [(id_field, dossier_unit_prefix(dossier_id) if dossier_id else None),
             ("SiteId", reader.code("SiteId", required=False))],
        )  # fmt: skip
        channel = reader.choice("FormsReception", CHANNELS)
        payment = reader.choice("FormsPayments", PAYMENTS, required=False)
        from_portal = reader.flag("IsFromDVCQG", required=False)
        result_channel = reader.choice("IsDVCBC", RESULT_CHANNELS, required=False)
        info = catalogue_entry(reader, context, field="CodeTTHC", code=procedure_code)
        if (
            reader.problems
            or dossier_id is None
            or procedure_code is None
            or unit_code is None
            or channel is None
            or info is None
        ):
            return []

        def common(event_type: str) -> dict[str, object]:
            event_id = derive_event_id(fmt=FORMAT, source=delivery.source, dossier_id=dossier_id, event_type=event_type)
            return {"type": event_type, "event_id": event_id, "occurred_at": delivery.received_at,
                    "source": delivery.source, "unit_code": unit_code, "dossier_id": dossier_id,
                    "procedure_code": procedure_code}  # fmt: skip

        events: list[Event] = [
            DossierReceived.model_validate(
                {**common("dossier.received"), "channel": channel, "service_level": info.service_level,
                 "essential": info.essential, "digitized": False}  # GUESS: EMC says nothing of digitization
            )
        ]  # fmt: skip
        if payment is not None:
            # GUESS: an online payment of a dossier that came from the national portal was made there.
            online_on_portal = payment is PaymentChannel.LOCAL_GATEWAY and from_portal
            paid_on = PaymentChannel.NATIONAL_PORTAL if online_on_portal else payment
            events.append(DossierPaid.model_validate({**common("dossier.paid"), "channel": paid_on}))
        if status == COMPLETED_STATUS:
            returned = result_channel or channel
            events.append(DossierCompleted.model_validate(
                {**common("dossier.completed"), "outcome": Outcome.APPROVED, "result_channel": returned,
                 # GUESS: EMC says nothing of result files; a result returned online is taken as electronic.
                 "electronic_result": returned is Channel.ONLINE}
            ))  # fmt: skip
        return events
