"""Events to send: dossiers' lives (received, most completed, some rated) and probe events timed end to end."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson

from shared.events import ServiceLevel
from shared.refdata import ReferenceData

SOURCE = "bench"
PROBE_PREFIX = "PROBE."
Record = tuple[bytes, dict[str, Any]]  # (Kafka key = dossier id, event)


def dossier_events(
    count: int, *, refdata: ReferenceData, seed: int, now: datetime, oldest: timedelta, newest: timedelta
) -> list[Record]:
    """`count` events of dossiers received between now-oldest and now-newest, at a unit offering the procedure.

    87% are received online, 30% paused once (half of those for a fee, paid) and resumed, 80% are completed
    (within 12 days, never after now) and 40% of those rated; the events come in time order, as a topic holds
    them.
    """
    rng = random.Random(seed)
    offered = refdata.catalogue.offered(refdata.tree)
    essential = {p.code for p in refdata.catalogue.procedures.values() if p.essential}
    span = int((oldest - newest).total_seconds())
    out: list[tuple[datetime, Record]] = []

    def add(at: datetime, dossier: str, base: dict[str, Any], **fields: Any) -> None:
        event = {**base, "event_id": str(uuid.uuid4()), "occurred_at": at.isoformat(), **fields}
        out.append((at, (dossier.encode(), event)))

    while len(out) < count:
        entry = rng.choice(offered)
        dossier = uuid.uuid4().hex[:16]
        at = now - newest - timedelta(seconds=rng.randint(0, span))
        due = (at + timedelta(days=rng.randint(1, 15))).isoformat()
        base = {"source": SOURCE, "unit_code": entry.unit_code, "dossier_id": dossier,
                "procedure_code": entry.procedure_code}  # fmt: skip
        online = entry.service_level is not ServiceLevel.OFFLINE and rng.random() < 0.87
        add(at, dossier, base, type="dossier.received", due_at=due, channel="online" if online else "in_person",
            service_level=entry.service_level.value, essential=entry.procedure_code in essential,
            digitized=rng.random() < 0.99)  # fmt: skip
        step = at
        if rng.random() < 0.3:  # papers or a fee requested: the clock stops, then runs again
            step += timedelta(hours=rng.randint(1, 48))
            reason = rng.choice(["supplement", "financial_obligation"])
            add(min(now, step), dossier, base, type="dossier.paused", reason=reason)
            if reason == "financial_obligation":
                add(min(now, step), dossier, base, type="dossier.paid",
                    channel=rng.choice(["national_portal", "local_gateway", "direct"]))  # fmt: skip
            step += timedelta(hours=rng.randint(1, 48))
            add(min(now, step), dossier, base, type="dossier.resumed")
        if rng.random() < 0.8:
            done = min(now, max(step, at + timedelta(days=rng.randint(0, 12))))
            add(done, dossier, base, type="dossier.completed", due_at=due, outcome="approved",
                result_channel="online", electronic_result=rng.random() < 0.98)  # fmt: skip
            if rng.random() < 0.4:
                add(done, dossier, base, type="dossier.rated", score=rng.choices([1, 2, 3, 4, 5], [2, 1, 2, 20, 75])[0])
    out = out[:count]
    out.sort(key=lambda pair: pair[0])
    return [record for _, record in out]


def encoded(records: list[Record]) -> list[tuple[bytes, bytes]]:
    """(key, JSON value) pairs for a Kafka producer."""
    return [(key, orjson.dumps(event)) for key, event in records]


def probe_event(now: datetime) -> Record:
    """A received dossier at a unit of its own (`PROBE.<hex>`): the metrics service gives it a KPI scope of its own,
    so the moment its 1d online submission rate appears is the moment this one event became visible."""
    unit = f"{PROBE_PREFIX}{uuid.uuid4().hex[:10]}"
    return unit.encode(), {
        "event_id": str(uuid.uuid4()), "type": "dossier.received", "occurred_at": now.isoformat(), "source": SOURCE,
        "unit_code": unit, "dossier_id": unit, "procedure_code": "PROBE", "channel": "online",
        "service_level": "full_online", "essential": False, "digitized": True,
    }  # fmt: skip
