"""What the upstream-format adapters share: catalogue lookup, Vietnam timestamps, problems and event ids.

Event ids: upstream formats carry no event id, so every adapter derives one deterministically as
``uuid5(EVENT_ID_NAMESPACE, f"{format}:{source}:{dossier_id}:{event_type}:{occurred_at}")`` where
``occurred_at`` is the event time in UTC, ISO 8601. Re-sending a record, or a later status of the same
dossier that repeats an earlier timestamp, yields the same id, so downstream de-duplication on
``event_id`` makes re-syncs idempotent; a corrected timestamp yields a new event.

Service level and the essential flag: a service level carried by the payload wins; otherwise the
catalogue (``AdapterContext.procedure_lookup``) supplies both; a procedure in neither is an
"unknown procedure code" problem. With a payload level but no catalogue entry, ``essential`` is False:
the essential list is short and the catalogue is where it lives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from shared.events import Code, Event, ServiceLevel

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EVENT_ID_NAMESPACE = UUID("6be50129-6e19-45ae-94a0-21eb3589d4fe")
_code_adapter: TypeAdapter[str] = TypeAdapter(Code)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: record position (None for the envelope), field path, message."""

    index: int | None
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        return f"[{self.index}] {'.'.join(map(str, self.path))}: {self.message}"


class AdapterError(ValueError):
    """The payload cannot be translated; `problems` holds one entry per bad field, for a 422 answer."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class ProcedureInfo:
    """What the catalogue knows about a procedure that upstream payloads do not carry."""

    service_level: ServiceLevel
    essential: bool


@dataclass(frozen=True)
class AdapterContext:
    """Reference data an adapter may consult."""

    procedure_lookup: Callable[[str], ProcedureInfo | None]

    @classmethod
    def from_mapping(cls, procedures: Mapping[str, ProcedureInfo]) -> AdapterContext:
        """A context backed by a plain mapping of procedure code to catalogue entry."""
        return cls(procedure_lookup=procedures.get)

    def resolve(self, procedure_code: str, *, service_level: ServiceLevel | None) -> ProcedureInfo | None:
        """Payload service level first, then the catalogue; None when the procedure is unknown to both."""
        info = self.procedure_lookup(procedure_code)
        if service_level is None:
            return info
        return ProcedureInfo(service_level=service_level, essential=info.essential if info else False)


def parse_vn_timestamp(value: str, *, field: str) -> datetime:
    """Parse `yyyyMMddHHmmss` in Vietnam time into an aware datetime; ValueError names the field."""
    if not (isinstance(value, str) and len(value) == 14 and value.isascii() and value.isdigit()):
        raise ValueError(f"{field}: expected yyyyMMddHHmmss, got {value!r}")
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=VN_TZ)
    except ValueError:
        raise ValueError(f"{field}: not a valid date and time: {value!r}") from None


def derive_event_id(*, fmt: str, source: str, dossier_id: str, event_type: str, occurred_at: datetime) -> UUID:
    """The deterministic event id described in the module docstring."""
    stamp = occurred_at.astimezone(UTC).isoformat()
    return uuid5(EVENT_ID_NAMESPACE, f"{fmt}:{source}:{dossier_id}:{event_type}:{stamp}")


class RecordReader:
    """Reads fields of one upstream record, collecting a problem per bad field rather than stopping."""

    def __init__(self, record: Mapping[str, object], *, index: int) -> None:
        self.record = record
        self.index = index
        self.problems: list[Problem] = []

    def fail(self, field: str, message: str) -> None:
        """Record a problem with one field."""
        self.problems.append(Problem(self.index, (field,), message))

    def has(self, field: str) -> bool:
        """Whether the field is present and not null or empty (upstream sends "" for absent)."""
        return self.record.get(field) not in (None, "")

    def _raw(self, field: str, *, required: bool) -> object | None:
        if not self.has(field):
            if required:
                self.fail(field, "missing required field")
            return None
        return self.record[field]

    def code(self, field: str, *, required: bool = True) -> str | None:
        """An identifier (dossier, procedure, unit) in the canonical code syntax."""
        raw = self._raw(field, required=required)
        if raw is None:
            return None
        if not isinstance(raw, str | int) or isinstance(raw, bool):
            self.fail(field, f"expected a string, got {type(raw).__name__}")
            return None
        try:
            return _code_adapter.validate_python(str(raw).strip())
        except ValidationError:
            self.fail(field, f"not a valid code: {raw!r}")
            return None

    def integer(self, field: str, *, required: bool = True) -> int | None:
        """A numeric code sent as a JSON number or a digit string."""
        raw = self._raw(field, required=required)
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
            return int(raw)
        self.fail(field, f"expected an integer code, got {raw!r}")
        return None

    def choice(self, field: str, mapping: Mapping[int, _T], *, required: bool = True) -> _T | None:
        """A numeric code translated through `mapping`; an unlisted code is a problem."""
        value = self.integer(field, required=required)
        if value is None:
            return None
        if value not in mapping:
            expected = ", ".join(map(str, mapping))
            self.fail(field, f"unknown code {value} (expected one of {expected})")
            return None
        return mapping[value]

    def flag(self, field: str, *, required: bool = True) -> bool | None:
        """A yes/no flag sent as 0/1, "0"/"1" or a JSON boolean."""
        raw = self._raw(field, required=required)
        if raw is None:
            return None
        if raw in (0, 1, "0", "1"):  # True == 1 and False == 0, so booleans pass here too
            return raw in (1, "1")
        self.fail(field, f"expected 0 or 1, got {raw!r}")
        return None

    def timestamp(self, field: str, *, required: bool = True) -> datetime | None:
        """A `yyyyMMddHHmmss` Vietnam-time field as an aware datetime."""
        raw = self._raw(field, required=required)
        if raw is None:
            return None
        if not isinstance(raw, str):
            self.fail(field, f"expected a yyyyMMddHHmmss string, got {raw!r}")
            return None
        try:
            return parse_vn_timestamp(raw.strip(), field=field)
        except ValueError as exc:
            self.fail(field, str(exc).removeprefix(f"{field}: "))
            return None


def records_of(payload: object, *, envelope_keys: tuple[str, ...]) -> list[object]:
    """The records of a payload: a JSON array, or an object holding one under an envelope key."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in envelope_keys:
            inner = payload.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                return [inner]
        if "MaHoSo" in payload:
            return [payload]
    expected = f"expected a JSON array of records or an object with one of: {', '.join(envelope_keys)}"
    raise AdapterError([Problem(None, (), expected)])


def translate_records(
    payload: object,
    *,
    envelope_keys: tuple[str, ...],
    translate_record: Callable[[RecordReader], list[Event]],
) -> list[Event]:
    """Translate every record, raising one AdapterError with all the problems found."""
    events: list[Event] = []
    problems: list[Problem] = []
    for index, record in enumerate(records_of(payload, envelope_keys=envelope_keys)):
        if not isinstance(record, dict):
            problems.append(Problem(index, (), "expected a JSON object"))
            continue
        reader = RecordReader(record, index=index)
        try:
            translated = translate_record(reader)
        except ValidationError as exc:  # a safety net: readers validate fields before events are built
            problems.extend(Problem(index, tuple(e["loc"]), e["msg"]) for e in exc.errors())
            continue
        problems.extend(reader.problems)
        events.extend(translated)
    if problems:
        raise AdapterError(problems)
    return events
