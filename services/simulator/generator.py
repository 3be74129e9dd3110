"""Seeded generation of canonical events: dossier lifecycles (received, completed, rated) and closed feedback."""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.simulator.profile import Incident, Profile
from shared.events import ServiceLevel
from shared.refdata import ReferenceData, UnitLevel

FULL_ONLINE_ONLINE = 0.95
"""Share of dossiers for a fully-online procedure that are submitted online."""
OFFLINE_PROCEDURE_SHARE = 0.03
"""Share of dossiers for procedures that can't be done online at all."""
LEVEL_SHARES = {UnitLevel.COMMUNE: 0.45, UnitLevel.DISTRICT: 0.3, UnitLevel.DEPARTMENT: 0.25}


@dataclass(slots=True)
class OpenDossier:
    """A received dossier waiting to be completed (or rated)."""

    dossier_id: str
    unit_code: str
    procedure_code: str
    channel: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """A procedure as offered by one unit."""

    unit_code: str
    procedure_code: str
    service_level: ServiceLevel
    essential: bool


class ProvinceWorld:
    """Everything the simulator remembers between events; one seed gives one stream of events, ids included."""

    def __init__(
        self,
        *,
        refdata: ReferenceData,
        profile: Profile,
        seed: int,
        source: str,
        incident: Incident | None = None,
        started_at: datetime,
    ) -> None:
        self._rng = random.Random(seed)
        self._profile = profile
        self._source = source
        self._incident = incident
        self._started_at = started_at
        self._incident_units = refdata.tree.descendants(incident.district) if incident else set()
        self._open: deque[OpenDossier] = deque(maxlen=200_000)
        self._done: deque[OpenDossier] = deque(maxlen=50_000)
        self._feedback_units = [u.code for u in refdata.tree if u.level in (UnitLevel.COMMUNE, UnitLevel.DISTRICT)]
        self._pools = self._build_pools(refdata)

    def _build_pools(self, refdata: ReferenceData) -> dict[tuple[UnitLevel, bool, ServiceLevel], list[Entry]]:
        procedures = refdata.catalogue.procedures
        online_codes = sorted(c for c, p in procedures.items() if p.service_level is not ServiceLevel.OFFLINE)
        # Some procedures offered online never see an online dossier: online_service_usage_rate stays below 100%.
        unused = set(self._rng.sample(online_codes, round(len(online_codes) * self._profile.unused_online_procedures)))
        pools: dict[tuple[UnitLevel, bool, ServiceLevel], list[Entry]] = {}
        for offered in refdata.catalogue.offered(refdata.tree):
            procedure = procedures[offered.procedure_code]
            if procedure.code in unused:
                continue
            level = refdata.tree.units[offered.unit_code].level
            key = (level, procedure.essential, offered.service_level)
            pools.setdefault(key, []).append(
                Entry(offered.unit_code, procedure.code, offered.service_level, procedure.essential)
            )
        return pools

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _profile_for(self, unit: str, now: datetime) -> Profile:
        if self._incident and unit in self._incident_units and self._incident.active(now - self._started_at):
            return self._incident.apply(self._profile)
        return self._profile

    def next_event(self, now: datetime) -> dict[str, Any]:
        """One event at `now`, chosen by the profile's shares."""
        roll = self._rng.random()
        p = self._profile
        if roll < p.share_received or not self._open:
            return self._received(now)
        if roll < p.share_received + p.share_completed:
            return self._completed(now)
        if roll < p.share_received + p.share_completed + p.share_rated and self._done:
            return self._rated(now)
        return self._feedback(now)

    def _pick_entry(self) -> Entry:
        rng, p = self._rng, self._profile
        level = rng.choices(list(LEVEL_SHARES), list(LEVEL_SHARES.values()))[0]
        essential = rng.random() < p.essential_share
        full_share = p.full_online / FULL_ONLINE_ONLINE
        kind = rng.choices(
            [ServiceLevel.FULL_ONLINE, ServiceLevel.PARTIAL_ONLINE, ServiceLevel.OFFLINE],
            [full_share, 1 - full_share - OFFLINE_PROCEDURE_SHARE, OFFLINE_PROCEDURE_SHARE],
        )[0]
        for key in ((level, essential, kind), (level, False, kind), (UnitLevel.COMMUNE, False, kind)):
            if self._pools.get(key):
                return rng.choice(self._pools[key])
        return rng.choice(next(pool for pool in self._pools.values() if pool))

    def _received(self, now: datetime) -> dict[str, Any]:
        rng = self._rng
        entry = self._pick_entry()
        p = self._profile_for(entry.unit_code, now)
        full_share = self._profile.full_online / FULL_ONLINE_ONLINE
        partial_share = 1 - full_share - OFFLINE_PROCEDURE_SHARE
        # Online shares per service level, scaled so that the unit's overall online share is p.online.
        scale = p.online / self._profile.online
        if entry.service_level is ServiceLevel.OFFLINE:
            online_chance = 0.0
        elif entry.essential:
            online_chance = p.essential_online
        elif entry.service_level is ServiceLevel.FULL_ONLINE:
            online_chance = FULL_ONLINE_ONLINE * scale
        else:
            online_chance = (self._profile.online - self._profile.full_online) / partial_share * scale
        if rng.random() < min(1.0, online_chance):
            channel = "online"
        else:
            channel = "postal" if rng.random() < p.postal_share_of_offline else "in_person"
        dossier = OpenDossier(f"HS-{self._uuid()[:13]}", entry.unit_code, entry.procedure_code, channel, now)
        self._open.append(dossier)
        return {
            **self._common("dossier.received", now, entry.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": entry.procedure_code, "channel": channel, "service_level": entry.service_level.value,
            "essential": entry.essential, "digitized": rng.random() < p.digitized,
            "due_at": (now + timedelta(days=rng.randint(3, 15))).isoformat(),
        }  # fmt: skip

    def _completed(self, now: datetime) -> dict[str, Any]:
        rng = self._rng
        # Older dossiers are settled first, with some shuffle: pick among the oldest few.
        index = min(len(self._open) - 1, int(rng.expovariate(1 / 20)))
        dossier = self._open[index]
        del self._open[index]
        self._done.append(dossier)
        p = self._profile_for(dossier.unit_code, now)
        on_time = rng.random() < p.on_time
        due = now + timedelta(hours=rng.randint(0, 240)) if on_time else now - timedelta(days=rng.randint(1, 10))
        return {
            **self._common("dossier.completed", now, dossier.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": dossier.procedure_code,
            "outcome": rng.choices(["approved", "rejected", "withdrawn"], [92, 6, 2])[0],
            "result_channel": dossier.channel, "electronic_result": rng.random() < p.electronic_result,
            "due_at": due.isoformat(),
        }  # fmt: skip

    def _rated(self, now: datetime) -> dict[str, Any]:
        rng = self._rng
        dossier = self._done.popleft()
        p = self._profile_for(dossier.unit_code, now)
        score = rng.choice([4, 5, 5]) if rng.random() < p.satisfied else rng.choice([1, 2, 3])
        return {
            **self._common("dossier.rated", now, dossier.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": dossier.procedure_code, "score": score,
        }  # fmt: skip

    def _feedback(self, now: datetime) -> dict[str, Any]:
        rng = self._rng
        unit = rng.choice(self._feedback_units)
        p = self._profile_for(unit, now)
        score = None
        if rng.random() < p.feedback_scored:
            score = rng.choice([4, 5, 5]) if rng.random() < p.feedback_satisfied else rng.choice([1, 2, 3])
        return {
            **self._common("feedback.closed", now, unit), "feedback_id": f"PA-{self._uuid()[:13]}",
            "on_time": rng.random() < p.feedback_on_time, "score": score,
        }  # fmt: skip

    def _common(self, kind: str, now: datetime, unit: str) -> dict[str, Any]:
        return {"event_id": self._uuid(), "type": kind, "occurred_at": now.isoformat(), "source": self._source,
                "unit_code": unit, "schema_version": 1}  # fmt: skip
