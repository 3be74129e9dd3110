"""Traffic profiles (the shares that make the seed figures come out) and injected incidents."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.kpi_catalogue import VIETNAM
from shared.refdata import SAMPLE_UNITS, SAMPLE_UNITS_HAIDUONG_2024


@dataclass(frozen=True, slots=True)
class Profile:
    """Probabilities behind each KPI of DOMAIN.md; the haiduong defaults reproduce its seed figures."""

    name: str
    units: str = SAMPLE_UNITS_HAIDUONG_2024
    """The shipped unit tree the traffic is for (see shared.refdata.loader)."""
    current_only: bool = False
    """Only units that exist on the run's day (today's tree, not the predecessors it lists for history)."""
    online: float = 0.87  # online_submission_rate
    full_online: float = 0.16  # full_online_rate: online AND a fully-online procedure
    postal_share_of_offline: float = 0.15
    digitized: float = 0.9889
    essential_online: float = 0.93
    essential_share: float = 0.12
    electronic_result: float = 1.0
    on_time: float = 0.93
    satisfied: float = 0.9555
    feedback_satisfied: float = 0.99
    feedback_on_time: float = 0.95
    feedback_scored: float = 0.7
    unused_online_procedures: float = 0.17  # 1 - online_service_usage_rate (83%)
    share_rated: float = 0.1
    share_feedback: float = 0.05  # the rest: receptions and the later steps of open dossiers
    open_dossiers: int = 2000
    """Dossiers in progress the province settles around (a count, so it holds at any event rate)."""
    # The lifecycle (DOMAIN.md: paused, resumed, paid; outcomes): shares of received dossiers.
    with_due: float = 0.95
    fee_bearing_procedures: float = 0.35  # the 766 example: 35 fee-bearing procedures at one unit
    supplement: float = 0.1  # papers requested from the applicant at least once
    second_supplement: float = 0.15  # of those, asked a second time (the 766 index counts that as overdue)
    financial_obligation: float = 0.25  # of fee-bearing dossiers, paused until the applicant pays
    paid_online: float = 0.89  # online_payment_rate; the 766 example: 1516 of 1707 paid online
    stalled: float = 0.005  # never settled: they stay in progress and turn overdue
    throughput: float = 1.0
    """Share of its usual work a unit gets done; below 1 its backlog grows (the `backlog` incident)."""


PROFILES = {
    "haiduong": Profile(name="haiduong"),
    "haiphong": Profile(name="haiphong", units=SAMPLE_UNITS, current_only=True),
    "demo": Profile(name="demo"),
}
"""haiduong: the seeds' 2024 province with its districts; haiphong: today's two-tier city (H24)."""


@dataclass(frozen=True, slots=True)
class Incident:
    """A slip injected for a unit's subtree: `unit=H24.107,kpi=online_submission_rate,to=0.6,for=1h`.

    `kpi=backlog` makes the units get only `to` of their usual work done: dossiers pile up in progress.
    """

    unit: str
    kpi: str
    to: float
    duration: timedelta
    after: timedelta = timedelta(0)

    def active(self, elapsed: timedelta) -> bool:
        """Whether the incident is on, `elapsed` into the run."""
        return self.after <= elapsed < self.after + self.duration

    def apply(self, profile: Profile) -> Profile:
        """The profile as it is inside the incident's subtree."""
        changes: dict[str, Any] = {INCIDENT_FIELDS[self.kpi]: self.to}
        return replace(profile, **changes)


INCIDENT_FIELDS = {
    "online_submission_rate": "online",
    "full_online_rate": "full_online",
    "digitization_rate": "digitized",
    "essential_online_rate": "essential_online",
    "online_result_rate": "electronic_result",
    "on_time_rate": "on_time",
    "satisfaction_rate": "satisfied",
    "feedback_satisfaction_rate": "feedback_satisfied",
    "feedback_on_time_rate": "feedback_on_time",
    "online_payment_rate": "paid_online",
    "backlog": "throughput",
}


def parse_duration(text: str) -> timedelta:
    """`90s`, `10m`, `1h`, `2d` (or a bare number of seconds)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 10m, 1h, 2d)")
    value, unit = float(match[1]), match[2] or "s"
    return timedelta(seconds=value * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


def parse_rate(text: str) -> float:
    """`200/s`, `12000/m` or a bare number per second."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*([smh]))?\s*", text)
    if not match:
        raise ValueError(f"not a rate: {text!r} (use e.g. 200/s)")
    return float(match[1]) / {"s": 1, "m": 60, "h": 3600}[match[2] or "s"]


def parse_incident(text: str) -> Incident:
    """Parse `--incident` (keys: unit, kpi, to, for, and optionally after; `district` is an alias of unit)."""
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if "district" in fields:
        fields.setdefault("unit", fields.pop("district"))
    missing = {"unit", "kpi", "to", "for"} - set(fields)
    if missing:
        raise ValueError(
            f"incident needs {', '.join(sorted(missing))}: e.g. unit=H24.107,kpi=online_submission_rate,to=0.6,for=1h"
        )
    if fields["kpi"] not in INCIDENT_FIELDS:
        raise ValueError(f"incident kpi must be one of {', '.join(INCIDENT_FIELDS)}")
    to = float(fields["to"])
    if not 0 <= to <= 1:
        raise ValueError("incident 'to' is a ratio between 0 and 1")
    return Incident(fields["unit"], fields["kpi"], to, parse_duration(fields["for"]),
                    parse_duration(fields.get("after", "0")))  # fmt: skip


def rhythm(moment: datetime) -> float:
    """Traffic multiplier, averaging about 1 over a day: office-hour peaks in Vietnam time, end-of-month rush."""
    local = moment.astimezone(VIETNAM)
    hour = local.hour + local.minute / 60
    office = math.exp(-((hour - 9.5) ** 2) / 3) + 0.8 * math.exp(-((hour - 15) ** 2) / 3)
    daily = 0.25 + 2.2 * office
    month_end = 1.5 if local.day >= 26 else 1.0
    return daily * month_end
