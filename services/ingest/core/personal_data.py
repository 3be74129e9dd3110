"""Personal data in upstream payloads: which fields hold it, and a redacted copy of a record for a dead letter.

Adapters never read these fields, so nothing of them reaches an event, a problem message or a log line. A
dead letter is the only place a whole upstream record could be kept: it keeps this redacted copy instead.
Field names are matched case-insensitively, at any depth (camelCase senders write `chuHoSo`, `user`).
"""

from __future__ import annotations

from typing import Final

PERSONAL_FIELDS: Final = frozenset(
    name.lower()
    for name in (
        "ChuHoSo", "SoDienThoai", "Email", "Fax", "SoGiayToChuHoSo", "DinhDanhCHS", "SoDinhDanh", "MaDinhDanh",
        "User",  # EMC: a JSON string with national ID numbers
        "Data",  # EMC: free-form, undocumented; kept out in case it holds the applicant
        "TrichYeuHoSo", "ThongTinKhac", "GhiChu", "ThongTinTra",  # free text that often names the applicant
        "NguoiYeuCauBoSung", "NguoiTiepNhanBoSung", "NguoiXuLy",  # officials' names
    )
)  # fmt: skip
PERSONAL_PREFIXES: Final = ("diachi",)
"""Addresses: `DiaChi`, `DiaChiThuongTru`, `DiaChiNhanKetQua`, ..."""
REDACTED: Final = "[redacted]"


def is_personal(field: str) -> bool:
    """Whether a field of an upstream payload holds personal data."""
    name = field.lower()
    return name in PERSONAL_FIELDS or name.startswith(PERSONAL_PREFIXES)


def redact(value: object) -> tuple[object, int]:
    """A copy of a decoded payload with every personal field's value replaced, and how many were replaced."""
    if isinstance(value, dict):
        copy: dict[str, object] = {}
        count = 0
        for key, inner in value.items():
            if isinstance(key, str) and is_personal(key) and inner not in (None, ""):
                copy[key], count = REDACTED, count + 1
            else:
                copy[key], found = redact(inner)
                count += found
        return copy, count
    if isinstance(value, list):
        items = [redact(item) for item in value]
        return [item for item, _ in items], sum(found for _, found in items)
    return value, 0


def names_personal_field(raw: bytes) -> bool:
    """Whether undecodable bytes mention a personal field's name (then they cannot be kept, even in a DLQ)."""
    text = raw.lower()
    return any(
        name.encode() in text for name in (*PERSONAL_FIELDS - {"data", "user", "email", "fax"}, "diachi")
    ) or any(f'"{name}"'.encode() in text or f"{name}=".encode() in text for name in ("data", "user", "email", "fax"))
