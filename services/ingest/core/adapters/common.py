"""What the upstream-format adapters share: reference data, Vietnam timestamps, problems, units and event ids.

Event ids: upstream formats carry no event id, so every adapter derives one deterministically as
``uuid5(EVENT_ID_NAMESPACE, f"{format}:{source}:{dossier_id}:{event_type}:{identity}")`` where ``identity``
is the fact's own identity, never the record's position or its arrival: empty for the facts a dossier has
once (received, completed, paid), the reason and the pause's time (UTC, ISO 8601) for a pause, the time of
the pause it ends for a resumption. Every record of a dossier's history, re-sent or shuffled, therefore
yields the same ids, and downstream de-duplication on ``event_id`` keeps each fact once.

Units: an upstream system names units by its own identifiers; `AdapterContext.unit_lookup` (the unit tree's
`resolve`) turns a code or an alias into a unit code. The most specific identifier wins: the unit prefix of
the dossier code (`000.00.20.H24-250715-0001` -> `000.00.20.H24`) before the sender-level one
(`MaDinhDanhDV`, EMC `SiteId`), because public senders send one sender-level identifier for a whole province.

Service level and the essential flag come from the catalogue (`AdapterContext.procedure_lookup`); a
procedure the catalogue lacks is an "unknown procedure code" problem: payloads' own levels are unreliable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from services.ingest.core.adapters.reader import Problem, RecordReader, parse_vn_timestamp
from shared.events import Event, ServiceLevel

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EVENT_ID_NAMESPACE: Final = UUID("6be50129-6e19-45ae-94a0-21eb3589d4fe")

__all__ = ["VN_TZ", "AdapterContext", "AdapterError", "Problem", "ProcedureInfo", "RecordReader", "parse_vn_timestamp"]


class AdapterError(ValueError):
    """The payload cannot be translated; `problems` holds one entry per bad field, for a 422 answer."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class ProcedureInfo:
    """What the catalogue knows about a procedure that upstream payloads do not carry (reliably)."""

    service_level: ServiceLevel
    essential: bool


def _no_unit(_: str) -> str | None:
    return None


@dataclass(frozen=True)
class AdapterContext:
    """Reference data an adapter consults: the catalogue, and the unit tree's codes and aliases."""

    procedure_lookup: Callable[[str], ProcedureInfo | None]
    unit_lookup: Callable[[str], str | None] = _no_unit

    @classmethod
    def from_mapping(
        cls, procedures: Mapping[str, ProcedureInfo], *, units: Mapping[str, str] | None = None
    ) -> AdapterContext:
        """A context backed by plain mappings: procedure code to catalogue entry, unit code or alias to code."""
        return cls(procedure_lookup=procedures.get, unit_lookup=(units or {}).get)


@dataclass(frozen=True)
class Delivery:
    """How a payload reached us: the caller's source, when (the event time of pushes without one), from whom."""

    source: str
    received_at: datetime
    sender_unit: str | None = None
    """The sender-level unit identifier given beside the payload (the portal's `MaDinhDanhDV`)."""


def derive_event_id(*, fmt: str, source: str, dossier_id: str, event_type: str, identity: str = "") -> UUID:
    """The deterministic event id described in the module docstring."""
    return uuid5(EVENT_ID_NAMESPACE, f"{fmt}:{source}:{dossier_id}:{event_type}:{identity}")


def instant(at: datetime) -> str:
    """A time as part of an event identity: UTC, ISO 8601, so the same instant always reads the same."""
    return at.astimezone(UTC).isoformat()


def dossier_unit_prefix(dossier_id: str) -> str:
    """The unit part of a dossier code: everything before the first `-`."""
    return dossier_id.split("-", 1)[0]


def resolve_unit(
    reader: RecordReader, context: AdapterContext, candidates: Iterable[tuple[str, str | None]]
) -> str | None:
    """The first (field, identifier) the unit tree knows; otherwise one problem naming every identifier tried."""
    # GUESS: most specific first (the dossier-code prefix, then the sender's MaDinhDanhDV / SiteId), as public
    # senders send one sender-level identifier for a whole province; an unknown prefix falls back to the sender.
    candidates = list(candidates)
    tried = [(field, identifier) for field, identifier in candidates if identifier]
    for _, identifier in tried:
        if (code := context.unit_lookup(identifier)) is not None:
            return code
    if not tried:
        if not any(problem.path[:1] == (candidates[0][0],) for problem in reader.problems):  # said once is enough
            fields = " or ".join(field for field, _ in candidates)
            reader.fail(candidates[0][0], f"no unit identifier: send {fields}")
        return None
    named = ", ".join(f"{field} {identifier!r}" for field, identifier in tried)
    reader.fail(tried[0][0], f"unknown unit: {named} is neither a unit code nor an alias in the unit tree")
    return None


def catalogue_entry(
    reader: RecordReader, context: AdapterContext, *, field: str, code: str | None
) -> ProcedureInfo | None:
    """The catalogue's entry for a procedure; an unknown code is a problem."""
    if code is None:
        return None
    info = context.procedure_lookup(code)
    if info is None:
        reader.fail(field, f"unknown procedure code {code}")
    return info


def records_of(payload: object, *, envelope_keys: tuple[str, ...], record_keys: tuple[str, ...]) -> list[object]:
    """The records of a payload: a JSON array, an object holding them under an envelope key, or one record."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in envelope_keys:
            inner = payload.get(key)
            if isinstance(inner, list):
                return inner
            if isinstance(inner, dict):
                return [inner]
        if any(key in payload for key in record_keys):
            return [payload]
    expected = f"expected a JSON array of records or an object with one of: {', '.join(envelope_keys)}"
    raise AdapterError([Problem(None, (), expected)])


def translate_records(
    payload: object,
    *,
    envelope_keys: tuple[str, ...],
    record_keys: tuple[str, ...],
    translate_record: Callable[[RecordReader], list[Event]],
) -> list[Event]:
    """Translate every record, raising one AdapterError with all the problems found; each event id once."""
    events: dict[UUID, Event] = {}
    problems: list[Problem] = []
    for index, record in enumerate(records_of(payload, envelope_keys=envelope_keys, record_keys=record_keys)):
        if not isinstance(record, dict):
            problems.append(Problem(index, (), "expected a JSON object"))
            continue
        reader = RecordReader(record, index=index)
        try:
            translated = translate_record(reader)
        except ValidationError as exc:  # a safety net: readers validate fields before events are built
            problems.extend(Problem(index, tuple(e["loc"]), e["msg"]) for e in exc.errors(include_input=False))
            continue
        problems.extend(reader.problems)
        for event in translated:
            events.setdefault(event.event_id, event)  # a history in one batch repeats its facts: keep them once
    if problems:
        raise AdapterError(problems)
    return list(events.values())
