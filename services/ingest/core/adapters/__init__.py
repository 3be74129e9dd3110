"""Upstream-format adapters: pure translation of upstream payloads into canonical events."""

from __future__ import annotations

from typing import Final, Protocol

from services.ingest.core.adapters.common import AdapterContext, AdapterError, Delivery, Problem, ProcedureInfo
from services.ingest.core.adapters.dvcqg import DvcqgAdapter
from services.ingest.core.adapters.emc import EmcAdapter, decode_form
from shared.events import Event

__all__ = [
    "ADAPTERS",
    "Adapter",
    "AdapterContext",
    "AdapterError",
    "Delivery",
    "Problem",
    "ProcedureInfo",
    "decode_form",
]


class Adapter(Protocol):
    """Translates one upstream format; raises AdapterError with every problem found."""

    def translate(self, payload: object, *, delivery: Delivery, context: AdapterContext) -> list[Event]:
        """Translate a decoded payload delivered by `delivery.source` into canonical events."""
        ...


ADAPTERS: Final[dict[str, Adapter]] = {"dvcqg": DvcqgAdapter(), "emc": EmcAdapter()}
"""Adapters by the format name callers use (e.g. in the ingest URL)."""
