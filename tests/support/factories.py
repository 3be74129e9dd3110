"""Canonical events for tests: explicit builders and a seeded random mix over the sample unit tree."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import Event, event_adapter
from shared.refdata import UnitLevel, load_reference_data


def received(*, unit: str, at: datetime, channel: str = "online", level: str = "partial_online",
             essential: bool = False, digitized: bool = True, procedure: str = "TTHC.XA.001",
             dossier: str | None = None, source: str = "demo", **extra: Any) -> Event:  # fmt: skip
    """A dossier.received event."""
    return _event("dossier.received", unit=unit, at=at, source=source, dossier_id=dossier or uuid.uuid4().hex[:12],
                  procedure_code=procedure, channel=channel, service_level=level, essential=essential,
                  digitized=digitized, **extra)  # fmt: skip


def completed(*, unit: str, at: datetime, electronic: bool = True, due: datetime | None = None,
              procedure: str = "TTHC.XA.001", source: str = "demo") -> Event:  # fmt: skip
    """A dossier.completed event."""
    return _event("dossier.completed", unit=unit, at=at, source=source, dossier_id=uuid.uuid4().hex[:12],
                  procedure_code=procedure, outcome="approved", result_channel="online",
                  electronic_result=electronic, due_at=due.isoformat() if due else None)  # fmt: skip


def rated(*, unit: str, at: datetime, score: int, source: str = "demo") -> Event:
    """A dossier.rated event."""
    return _event("dossier.rated", unit=unit, at=at, source=source, dossier_id=uuid.uuid4().hex[:12],
                  procedure_code="TTHC.XA.001", score=score)  # fmt: skip


def feedback(*, unit: str, at: datetime, on_time: bool, score: int | None, source: str = "demo") -> Event:
    """A feedback.closed event."""
    return _event("feedback.closed", unit=unit, at=at, source=source, feedback_id=uuid.uuid4().hex[:12],
                  on_time=on_time, score=score)  # fmt: skip


def _event(kind: str, *, unit: str, at: datetime, source: str, **fields: Any) -> Event:
    raw = {"event_id": str(uuid.uuid4()), "type": kind, "occurred_at": at.isoformat(), "source": source,
           "unit_code": unit, **fields}  # fmt: skip
    return event_adapter.validate_python(raw)


def random_events(count: int, *, seed: int, now: datetime | None = None, days: int = 20) -> list[Event]:
    """A realistic-ish mix over the sample tree's communes and districts, spread over the last `days`."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    data = load_reference_data()
    units = [u.code for u in data.tree.at_level(UnitLevel.COMMUNE)] + [
        u.code for u in data.tree.at_level(UnitLevel.DISTRICT)
    ]
    procedures = [p for p in data.catalogue.procedures.values() if p.unit_level != UnitLevel.DEPARTMENT]
    events: list[Event] = []
    for _ in range(count):
        at = now - timedelta(seconds=rng.randint(0, days * 86400))
        unit = rng.choice(units)
        proc = rng.choice(procedures)
        roll = rng.random()
        if roll < 0.55:
            channel = rng.choices(["online", "in_person", "postal"], [87, 11, 2])[0]
            events.append(received(unit=unit, at=at, channel=channel, level=proc.service_level.value,
                                   essential=proc.essential, digitized=rng.random() < 0.9889,
                                   procedure=proc.code))  # fmt: skip
        elif roll < 0.85:
            due = at + timedelta(days=rng.randint(-3, 10))
            events.append(completed(unit=unit, at=at, electronic=rng.random() < 0.97, due=due, procedure=proc.code))
        elif roll < 0.95:
            events.append(rated(unit=unit, at=at, score=rng.choices([1, 2, 3, 4, 5], [2, 1, 2, 20, 75])[0]))
        else:
            events.append(feedback(unit=unit, at=at, on_time=rng.random() < 0.9,
                                   score=rng.choice([None, 3, 4, 5, 5, 5])))  # fmt: skip
    return events
