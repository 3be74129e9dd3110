"""Which units or sources each rule is about right now, with their readings (pure, over what the engine knows)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.alerts.core.conditions import Reading
from services.alerts.core.describe import UnitInfo
from services.alerts.core.history import ReadingHistory
from services.alerts.core.notifications import Alert
from services.alerts.core.rules import NON_ADDITIVE_KPIS, AnyRule, BacklogRule, KpiRule, SourceStaleRule
from services.alerts.inputs import KpiReading, KpiScope, UnitBacklog, backlog_reading, staleness_reading


@dataclass(slots=True)
class Known:
    """The newest KPI readings, the live backlog, the unit tree, and the newest event per source and per unit."""

    kpi: dict[KpiScope, KpiReading] = field(default_factory=dict)
    backlog: Mapping[str, UnitBacklog] = field(default_factory=dict)
    units: Mapping[str, UnitInfo] = field(default_factory=dict)
    source_activity: Mapping[str, datetime] = field(default_factory=dict)
    unit_activity: Mapping[str, datetime] = field(default_factory=dict)
    history: ReadingHistory = field(default_factory=ReadingHistory)
    by_pair: dict[tuple[str, str], dict[str, KpiReading]] = field(default_factory=dict)
    """`kpi` indexed by (kpi, window), as of the last `index_kpi` (the timer's round reads it for every rule)."""

    def index_kpi(self) -> None:
        """Rebuild `by_pair` from `kpi`."""
        self.by_pair = {}
        for (kpi, window, unit), current in self.kpi.items():
            self.by_pair.setdefault((kpi, window), {})[unit] = current

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
    """Subject → reading for every subject in the rule's scope with data, plus its known alerts (None: no news).

    KPI rules read `known.by_pair`: call `known.index_kpi()` first in a round."""
    subjects: dict[str, Reading | None] = dict(_readings(rule, known, now=now))
    for alert in alerts:
        if alert.state.rule == rule.name:
            subjects.setdefault(alert.state.subject, None)  # a known alert advances on its last reading
    return subjects


def kpi_figure(rule: KpiRule, unit: str, known: Known, *, now: datetime) -> Reading | None:
    """What a KPI rule evaluates for a unit: the window's value (or its counts over `period`), with its
    reference (the baseline window's value for `slip`, the value `falling.over` ago for `falling`)."""
    scope = (rule.kpi, rule.window.value, unit)
    current = known.kpi.get(scope)
    if rule.period is not None:
        reading = known.history.over(scope, rule.period, now=now)
    else:
        reading = current.reading if current is not None else None
    if reading is None:
        return None
    if rule.slip is not None:
        baseline = known.kpi.get((rule.kpi, rule.slip.baseline.value, unit))
        before = _level_before(rule, baseline.reading if baseline else None, reading)
        return replace(reading, reference=before[0], reference_denominator=before[1]) if before else reading
    if rule.falling is not None:
        return replace(reading, reference=known.history.value_before(scope, rule.falling.over, now=now))
    return reading


def _kpi_readings(rule: KpiRule, known: Known, *, now: datetime) -> Iterator[tuple[str, Reading]]:
    for unit, current in known.by_pair.get((rule.kpi, rule.window.value), {}).items():
        if rule.scope.covers(unit_code=unit, unit_level=current.unit_level):
            reading = kpi_figure(rule, unit, known, now=now)
            if reading is not None:
                yield unit, reading


def _level_before(rule: KpiRule, baseline: Reading | None, current: Reading) -> tuple[float, int] | None:
    """The baseline window's value and dossiers without those being evaluated (its level before them), when it
    holds at least the rule's minimum sample besides them; a KPI over distinct procedures cannot be split."""
    if baseline is None or baseline.numerator is None or baseline.denominator is None or baseline.value is None:
        return None
    if rule.kpi in NON_ADDITIVE_KPIS:
        return (baseline.value, baseline.denominator) if baseline.denominator >= rule.min_denominator else None
    numerator = baseline.numerator - (current.numerator or 0)
    denominator = baseline.denominator - (current.denominator or 0)
    if denominator < rule.min_denominator or numerator < 0:
        return None
    return numerator / denominator, denominator


def _readings(rule: AnyRule, known: Known, *, now: datetime) -> Iterator[tuple[str, Reading]]:
    if isinstance(rule, KpiRule):
        yield from _kpi_readings(rule, known, now=now)
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
