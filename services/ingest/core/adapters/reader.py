"""Reading the fields of one upstream record, collecting a problem per bad field rather than stopping.

Messages quote a bad value only for the fields an adapter reads, and no adapter reads a field holding
personal data, so a problem never echoes one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import TypeAdapter, ValidationError

from shared.events import Code

_VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
_code_adapter: TypeAdapter[str] = TypeAdapter(Code)
_T = TypeVar("_T")
_TRUE, _FALSE = (1, "1", True, "true", "True"), (0, "0", False, "false", "False")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: record position (None for the envelope), field path, message.

    `record` is the record's own dossier code when it has a readable one, so a sender can find it.
    """

    index: int | None
    path: tuple[str | int, ...]
    message: str
    record: str | None = None

    def __str__(self) -> str:
        return f"[{self.index}] {'.'.join(map(str, self.path))}: {self.message}"


def parse_vn_timestamp(value: str, *, field: str) -> datetime:
    """Parse `yyyyMMddHHmmss` in Vietnam time into an aware datetime; ValueError names the field."""
    if not (isinstance(value, str) and len(value) == 14 and value.isascii() and value.isdigit()):
        raise ValueError(f"{field}: expected yyyyMMddHHmmss, got {value!r}")
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=_VN_TZ)
    except ValueError:
        raise ValueError(f"{field}: not a valid date and time: {value!r}") from None


class RecordReader:
    """Reads fields of one upstream record, collecting a problem per bad field rather than stopping."""

    def __init__(self, record: Mapping[str, object], *, index: int, label_fields: tuple[str, ...] = ()) -> None:
        self.record = record
        self.index = index
        self.problems: list[Problem] = []
        labels = (record.get(f) for f in (*label_fields, "MaHoSo", "CodeProfile"))
        self.label = next((v for v in labels if isinstance(v, str) and _is_code(v)), None)

    def fail(self, field: str | tuple[str | int, ...], message: str) -> None:
        """Record a problem with one field (or a path into a nested one)."""
        path = field if isinstance(field, tuple) else (field,)
        self.problems.append(Problem(self.index, path, message, self.label))

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
        if not _is_code(str(raw).strip()):
            self.fail(field, f"not a valid code: {raw!r}")
            return None
        return str(raw).strip()

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
        return None if raw is None else self._flag_value(raw, (field,))

    def _flag_value(self, raw: object, path: tuple[str | int, ...]) -> bool | None:
        if raw in _TRUE:  # True == 1 and False == 0, so JSON booleans pass too
            return True
        if raw in _FALSE:
            return False
        self.fail(path, f"expected 0 or 1, got {raw!r}")
        return None

    def timestamp(self, field: str, *, required: bool = True) -> datetime | None:
        """A `yyyyMMddHHmmss` Vietnam-time field as an aware datetime."""
        raw = self._raw(field, required=required)
        return None if raw is None else self.timestamp_value(raw, (field,))

    def timestamp_value(self, raw: object, path: tuple[str | int, ...]) -> datetime | None:
        """A `yyyyMMddHHmmss` Vietnam-time value found at `path`, or None with a problem."""
        if not isinstance(raw, str):
            self.fail(path, f"expected a yyyyMMddHHmmss string, got {raw!r}")
            return None
        field = str(path[-1])
        try:
            return parse_vn_timestamp(raw.strip(), field=field)
        except ValueError as exc:
            self.fail(path, str(exc).removeprefix(f"{field}: "))
            return None

    def entries(self, field: str) -> list[tuple[int, Mapping[str, object]]]:
        """The objects of a list field with their positions; absent is empty, anything else a problem."""
        raw = self.record.get(field)
        if raw in (None, ""):
            return []
        if not isinstance(raw, list):
            self.fail(field, f"expected a list, got {type(raw).__name__}")
            return []
        found: list[tuple[int, Mapping[str, object]]] = []
        for position, entry in enumerate(raw):
            if isinstance(entry, dict):
                found.append((position, entry))
            else:
                self.fail((field, position), "expected a JSON object")
        return found

    def any_flag(self, field: str, item: str) -> bool | None:
        """Whether any entry of a list field has `item` set; None when the list is absent (the sender said nothing)."""
        if self.record.get(field) in (None, ""):
            return None
        values = [
            self._flag_value(entry[item], (field, position, item))
            for position, entry in self.entries(field)
            if entry.get(item) not in (None, "")
        ]
        return any(v is True for v in values)


def _is_code(value: str) -> bool:
    try:
        _code_adapter.validate_python(value)
    except ValidationError:
        return False
    return True
