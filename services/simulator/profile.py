"""Traffic profiles (the shares that make the seed figures come out) and injected incidents."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.kpi_catalogue import VIETNAM


@dataclass(frozen=True, slots=True)
class Profile:
    """Probabilities behind each KPI of DOMAIN.md; the haiduong defaults reproduce its seed figures."""

    name: str
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
    share_received: float = 0.5
    share_completed: float = 0.3
    share_rated: float = 0.15  # the rest is feedback.closed


PROFILES = {"haiduong": Profile(name="haiduong"), "demo": Profile(name="demo")}


@dataclass(frozen=True, slots=True)
class Incident:
    """A KPI slip injected for a district's subtree: `district=HD.CG,kpi=online_submission_rate,to=0.6,for=1h`."""

    district: str
    kpi: str
    to: float
    duration: timedelta
    after: timedelta = timedelta(0)

    def active(self, elapsed: timedelta) -> bool:
        """Whether the incident is on, `elapsed` into the run."""
        return self.after <= elapsed < self.after + self.duration

    def apply(self, profile: Profile) -> Profile:
        """The profile as it is inside the incident's district."""
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
    """Parse `--incident` (keys: district, kpi, to, for, and optionally after)."""
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    missing = {"district", "kpi", "to", "for"} - set(fields)
    if missing:
        raise ValueError(
            f"incident needs {', '.join(sorted(missing))}: e.g. district=HD.CG,kpi=online_submission_rate,to=0.6,for=1h"
        )
    if fields["kpi"] not in INCIDENT_FIELDS:
        raise ValueError(f"incident kpi must be one of {', '.join(INCIDENT_FIELDS)}")
    to = float(fields["to"])
    if not 0 <= to <= 1:
        raise ValueError("incident 'to' is a ratio between 0 and 1")
    return Incident(fields["district"], fields["kpi"], to, parse_duration(fields["for"]),
                    parse_duration(fields.get("after", "0")))  # fmt: skip


def rhythm(moment: datetime) -> float:
    """Traffic multiplier, averaging about 1 over a day: office-hour peaks in Vietnam time, end-of-month rush."""
    local = moment.astimezone(VIETNAM)
    hour = local.hour + local.minute / 60
    office = math.exp(-((hour - 9.5) ** 2) / 3) + 0.8 * math.exp(-((hour - 15) ** 2) / 3)
    daily = 0.25 + 2.2 * office
    month_end = 1.5 if local.day >= 26 else 1.0
    return daily * month_end
