"""Seeded generation of canonical events: dossier lifecycles (received, paused, resumed, paid, completed, rated)
and closed feedback, for the units of one profile's tree."""

from __future__ import annotations

import random
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.simulator.lifecycle import OpenDossier, Step, fee_bearing, plan, reception_facts
from services.simulator.profile import Incident, Profile
from shared.events import ServiceLevel
from shared.kpi_catalogue import VIETNAM
from shared.refdata import ReferenceData, UnitLevel, UnitTree

FULL_ONLINE_ONLINE = 0.95
"""Share of dossiers for a fully-online procedure that are submitted online."""
OFFLINE_PROCEDURE_SHARE = 0.03
"""Share of dossiers for procedures that can't be done online at all."""
LEVEL_SHARES = {UnitLevel.COMMUNE: 0.45, UnitLevel.DISTRICT: 0.3, UnitLevel.DEPARTMENT: 0.25}
"""Where dossiers are handled; in a two-tier tree the communes took over the districts' share (and procedures)."""
STEP_SHARE = 0.65
"""Chance that an event moves an open dossier on, when exactly `open_dossiers` are open (scaled by how many are)."""
FEEDBACK_LEVELS = (UnitLevel.COMMUNE, UnitLevel.DISTRICT)


def level_shares(levels: set[UnitLevel]) -> dict[UnitLevel, float]:
    """LEVEL_SHARES for the levels a tree has: without districts, theirs goes to the communes."""
    shares = {level: share for level, share in LEVEL_SHARES.items() if level in levels}
    if UnitLevel.DISTRICT not in levels and UnitLevel.COMMUNE in shares:
        shares[UnitLevel.COMMUNE] += LEVEL_SHARES[UnitLevel.DISTRICT]
    return shares or {next(iter(levels)): 1.0}


@dataclass(frozen=True, slots=True)
class Entry:
    """A procedure as offered by one unit."""

    unit_code: str
    procedure_code: str
    service_level: ServiceLevel
    essential: bool


class ProvinceWorld:
    """Everything the simulator remembers between events; one seed gives one stream of events, ids included.

    Dossiers in progress are a line, oldest first: an event either receives a new dossier or plays the next step
    of one near the head of the line. The more are open, the likelier a step, so the province settles around
    `open_dossiers` in progress at any event rate. In a run faster than real time no dossier can overrun a due
    date of days, so a late completion reports an appointment date already past (`on_time` of the profile);
    a dossier that stays open past its reception's due date (stalled, or held up by a `backlog` incident) is
    completed late against that date.
    """

    def __init__(
        self,
        *,
        refdata: ReferenceData,
        profile: Profile,
        seed: int,
        source: str,
        incidents: Sequence[Incident] = (),
        started_at: datetime,
    ) -> None:
        self._rng = random.Random(seed)
        self._profile = profile
        self._source = source
        self._started_at = started_at
        tree = refdata.tree
        self._units = active_units(tree, profile=profile, on=started_at.astimezone(VIETNAM).date())
        self._open: deque[OpenDossier] = deque()
        self._done: deque[OpenDossier] = deque(maxlen=50_000)
        self._feedback_units = sorted(u.code for u in tree if u.code in self._units and u.level in FEEDBACK_LEVELS)
        self._pools = self._build_pools(refdata)
        self._level_shares = level_shares({level for level, _, _ in self._pools})
        self._incidents = [(incident, self._incident_units(tree, incident)) for incident in incidents]

    def _build_pools(self, refdata: ReferenceData) -> dict[tuple[UnitLevel, bool, ServiceLevel], list[Entry]]:
        procedures = refdata.catalogue.procedures
        online_codes = sorted(c for c, p in procedures.items() if p.service_level is not ServiceLevel.OFFLINE)
        # Some procedures offered online never see an online dossier: online_service_usage_rate stays below 100%.
        unused = set(self._rng.sample(online_codes, round(len(online_codes) * self._profile.unused_online_procedures)))
        pools: dict[tuple[UnitLevel, bool, ServiceLevel], list[Entry]] = {}
        for offered in refdata.catalogue.offered(refdata.tree):
            procedure = procedures[offered.procedure_code]
            if procedure.code in unused or offered.unit_code not in self._units:
                continue
            level = refdata.tree.units[offered.unit_code].level
            key = (level, procedure.essential, offered.service_level)
            pools.setdefault(key, []).append(
                Entry(offered.unit_code, procedure.code, offered.service_level, procedure.essential)
            )
        if not pools:
            raise ValueError(f"profile {self._profile.name!r}: no unit of the tree offers a procedure")
        return pools

    def _incident_units(self, tree: UnitTree, incident: Incident) -> set[str]:
        code = tree.resolve(incident.unit)
        if code is None:
            raise ValueError(f"incident unit {incident.unit!r} is not in the unit tree")
        units = tree.descendants(code) & self._units
        traffic = {e.unit_code for pool in self._pools.values() for e in pool} | set(self._feedback_units)
        if not units & traffic:
            raise ValueError(
                f"incident unit {incident.unit!r} gets no traffic in profile {self._profile.name!r}"
                + ("" if not self._profile.current_only else " (it generates today's units only)")
            )
        return units

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _profile_for(self, unit: str, now: datetime) -> Profile:
        profile = self._profile
        for incident, units in self._incidents:
            if unit in units and incident.active(now - self._started_at):
                profile = incident.apply(profile)
        return profile

    def next_event(self, now: datetime) -> dict[str, Any]:
        """One event at `now`, chosen by the profile's shares."""
        rng, p = self._rng, self._profile
        roll = rng.random()
        if roll < p.share_rated:
            if self._done:
                return self._rated(now)
        elif roll < p.share_rated + p.share_feedback:
            return self._feedback(now)
        elif self._open and rng.random() < min(0.95, STEP_SHARE * len(self._open) / p.open_dossiers):
            event = self._step(now)
            if event is not None:
                return event
        return self._received(now)

    def _pick_entry(self) -> Entry:
        rng, p = self._rng, self._profile
        level = rng.choices(list(self._level_shares), list(self._level_shares.values()))[0]
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
            online_chance = p.essential_online * scale
        elif entry.service_level is ServiceLevel.FULL_ONLINE:
            online_chance = FULL_ONLINE_ONLINE * scale
        else:
            online_chance = (self._profile.online - self._profile.full_online) / partial_share * scale
        if rng.random() < min(1.0, online_chance):
            channel = "online"
        else:
            channel = "postal" if rng.random() < p.postal_share_of_offline else "in_person"
        digitized = rng.random() < p.digitized
        due = now + timedelta(days=rng.randint(3, 15)) if rng.random() < p.with_due else None
        fee = fee_bearing(entry.procedure_code, share=p.fee_bearing_procedures)
        dossier = OpenDossier(f"HS-{self._uuid()[:13]}", entry.unit_code, entry.procedure_code, channel, now, due,
                              plan(rng, profile=p, fee_bearing=fee))  # fmt: skip
        if rng.random() >= p.stalled:
            self._open.append(dossier)
        event = {
            **self._common("dossier.received", now, entry.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": entry.procedure_code, "channel": channel, "service_level": entry.service_level.value,
            "essential": entry.essential, "digitized": digitized,
            **reception_facts(rng, online=channel == "online", digitized=digitized, fee_bearing=fee),
        }  # fmt: skip
        if due is not None:
            event["due_at"] = due.isoformat()
        return event

    def _step(self, now: datetime) -> dict[str, Any] | None:
        """The next step of a dossier near the head of the line, or None if every unit asked is held up."""
        rng = self._rng
        for _ in range(5):
            # Older dossiers move first, with some shuffle: pick among the oldest few.
            index = min(len(self._open) - 1, int(rng.expovariate(1 / 20)))
            dossier = self._open[index]
            throughput = self._profile_for(dossier.unit_code, now).throughput
            if throughput >= 1 or rng.random() < throughput:
                break
            # The unit doesn't get to it now: it waits at the back of the line, still in progress.
            del self._open[index]
            self._open.append(dossier)
        else:
            return None
        step = dossier.steps.popleft()
        if step.kind == "completed":
            del self._open[index]
            self._done.append(dossier)
            return self._completed(now, dossier, step)
        if step.kind == "paused":
            # Waiting for the applicant: back of the line.
            del self._open[index]
            self._open.append(dossier)
        return self._lifecycle(now, dossier, step)

    def _lifecycle(self, now: datetime, dossier: OpenDossier, step: Step) -> dict[str, Any]:
        event = {
            **self._common(f"dossier.{step.kind}", now, dossier.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": dossier.procedure_code,
        }  # fmt: skip
        if step.reason is not None:
            event["reason"] = step.reason.value
        if step.channel is not None:
            event["channel"] = step.channel.value
        if step.amount_vnd is not None:
            event["amount_vnd"] = step.amount_vnd
        return event

    def _completed(self, now: datetime, dossier: OpenDossier, step: Step) -> dict[str, Any]:
        rng = self._rng
        p = self._profile_for(dossier.unit_code, now)
        if dossier.due_at is not None and _day(now) > _day(dossier.due_at):
            due = dossier.due_at  # it did overrun its due date
        elif rng.random() < p.on_time:
            due = dossier.due_at or now + timedelta(hours=rng.randint(0, 240))
        else:
            due = now - timedelta(days=rng.randint(1, 10))
        assert step.outcome is not None
        return {
            **self._common("dossier.completed", now, dossier.unit_code), "dossier_id": dossier.dossier_id,
            "procedure_code": dossier.procedure_code, "outcome": step.outcome.value,
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
                "unit_code": unit, "schema_version": 2}  # fmt: skip


def active_units(tree: UnitTree, *, profile: Profile, on: date) -> set[str]:
    """The units a profile generates traffic for: today's only, or the whole tree."""
    if profile.current_only:
        return {u.code for u in tree.current(on)}
    return set(tree.units)


def _day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()
