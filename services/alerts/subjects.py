"""Which units or sources each rule is about right now, with their readings (pure, over what the engine knows)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.alerts.core.conditions import Reading
from services.alerts.core.describe import UnitInfo
from services.alerts.core.notifications import Alert
from services.alerts.core.rules import AnyRule, BacklogRule, KpiRule, SourceStaleRule
from services.alerts.inputs import KpiReading, KpiScope, UnitBacklog, backlog_reading, staleness_reading


@dataclass(slots=True)
class Known:
    """The newest KPI readings, the live backlog, the unit tree, and the newest event per source and per unit."""

    kpi: dict[KpiScope, KpiReading] = field(default_factory=dict)
    backlog: Mapping[str, UnitBacklog] = field(default_factory=dict)
    units: Mapping[str, UnitInfo] = field(default_factory=dict)
    source_activity: Mapping[str, datetime] = field(default_factory=dict)
    unit_activity: Mapping[str, datetime] = field(default_factory=dict)

    def unit(self, rule: AnyRule, subject: str) -> UnitInfo | None:
        """The unit an alert is about (None for a source); a unit the tree lacks keeps its snapshot's level."""
        if isinstance(rule, SourceStaleRule):
            return None
        info = self.units.get(subject)
        if info is None and isinstance(rule, KpiRule):
            current = self.kpi.get((rule.kpi, rule.window.value, subject))
            return UnitInfo(subject, current.unit_level) if current else None
        if info is None and isinstance(rule, BacklogRule):
            backlog = self.backlog.get(subject)
            return UnitInfo(subject, backlog.unit_level) if backlog else None
        return info


def subjects_of(rule: AnyRule, known: Known, *, alerts: Iterable[Alert], now: datetime) -> dict[str, Reading | None]:
    """Subject → reading for every subject in the rule's scope with data, plus its known alerts (None: no news)."""
    subjects: dict[str, Reading | None] = dict(_readings(rule, known, now=now))
    for alert in alerts:
        if alert.state.rule == rule.name:
            subjects.setdefault(alert.state.subject, None)  # a known alert advances on its last reading
    return subjects


def _readings(rule: AnyRule, known: Known, *, now: datetime) -> Iterator[tuple[str, Reading]]:
    if isinstance(rule, KpiRule):
        for (kpi, window, unit), current in known.kpi.items():
            in_scope = rule.scope.covers(unit_code=unit, unit_level=current.unit_level)
            if in_scope and (kpi, window) == (rule.kpi, rule.window.value):
                yield unit, current.reading
    elif isinstance(rule, BacklogRule):
        for unit, backlog in known.backlog.items():
            if rule.scope.covers(unit_code=unit, unit_level=backlog.unit_level):
                yield unit, backlog_reading(backlog, rule.measure)
    elif isinstance(rule, SourceStaleRule):
        for source, last in known.source_activity.items():
            if not rule.sources or source in rule.sources:
                yield source, staleness_reading(last, now=now)
    else:
        for unit, last in known.unit_activity.items():
            info = known.units.get(unit)
            if rule.scope.covers(unit_code=unit, unit_level=info.level if info else None):
                yield unit, staleness_reading(last, now=now)
