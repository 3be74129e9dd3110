"""An alert's labels (its identity for routing and silences) and its rendered annotations."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.alerts.core.conditions import Reading
from services.alerts.core.durations import format_duration
from services.alerts.core.rules import AnyRule, BacklogMeasure, BacklogRule, Direction, KpiRule, SourceStaleRule
from services.alerts.core.templates import percent, render


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """What the unit tree says about a unit."""

    name: str
    level: str


def alert_labels(rule: AnyRule, subject: str, unit: UnitInfo | None) -> dict[str, str]:
    """Rule labels plus the built-in ones (which win): alertname, severity, and kpi/window/measure/unit or source."""
    labels = dict(rule.labels)
    labels.update(alertname=rule.name, severity=rule.severity, notify=rule.notify)
    if isinstance(rule, SourceStaleRule):
        labels["source"] = subject
        return labels
    labels["unit"] = subject
    if unit is not None:
        labels["unit_level"] = unit.level
    if isinstance(rule, KpiRule):
        labels.update(kpi=rule.kpi, window=rule.window.value)
        if rule.period is not None:
            labels["period"] = format_duration(rule.period)
    if isinstance(rule, BacklogRule):
        labels["measure"] = rule.measure.value
    return labels


def template_context(
    rule: AnyRule, subject: str, reading: Reading | None, unit: UnitInfo | None, *, runbook_base_url: str
) -> dict[str, Any]:
    """The values an annotation template can use (see `templates.KPI_FIELDS`, `BACKLOG_FIELDS`, `STALENESS_FIELDS`)."""
    value = reading.value if reading is not None else None
    context: dict[str, Any] = {
        "rule": rule.name,
        "severity": rule.severity,
        "notify": rule.notify,
        "unit": subject,
        "unit_name": unit.name if unit is not None else subject,
        "unit_level": unit.level if unit is not None else "",
        "value": value if value is not None else math.nan,
        "runbook_base_url": runbook_base_url,
    }
    if isinstance(rule, KpiRule):
        context.update(
            kpi=rule.kpi,
            window=rule.window.value,
            value_pct=percent(value),
            target=rule.target,
            target_pct=percent(rule.target),
            recovery_margin=rule.recovery_margin,
            direction=rule.direction.value,
            clear_pct=percent(rule.target + rule.recovery_margin * (1 if rule.direction is Direction.BELOW else -1)),
            numerator=reading.numerator if reading is not None else None,
            denominator=reading.denominator if reading is not None else None,
            min_denominator=rule.min_denominator,
            period=format_duration(rule.period) if rule.period is not None else rule.window.value,
            compared_with=_compared_with(rule),
            reference_pct=percent(reading.reference if reading is not None else None),
        )
        return context
    if isinstance(rule, BacklogRule):
        context.update(_backlog_context(rule, reading))
        return context
    last = reading.last_event_at if reading is not None else None
    context.update(
        source=subject if isinstance(rule, SourceStaleRule) else "",
        quiet_for=format_duration(rule.quiet_for),
        age=format_duration(timedelta(seconds=value)) if value is not None else "unknown",
        target=rule.quiet_for.total_seconds(),
        last_event_at=last.isoformat() if isinstance(last, datetime) else "never",
    )
    return context


def _compared_with(rule: KpiRule) -> str:
    if rule.slip is not None:
        return rule.slip.baseline.value
    if rule.falling is not None:
        return f"{format_duration(rule.falling.over)} ago"
    return ""


def _backlog_context(rule: BacklogRule, reading: Reading | None) -> dict[str, Any]:
    share = rule.measure is BacklogMeasure.OVERDUE_SHARE

    def shown(figure: float | None) -> str:
        if figure is None:
            return "no data"
        return percent(figure) if share else f"{figure:g}"

    overdue = reading.numerator if reading is not None else None
    in_progress = reading.denominator if reading is not None else None
    return {
        "measure": rule.measure.value,
        "value_text": shown(reading.value if reading is not None else None),
        "threshold": rule.threshold,
        "threshold_text": shown(rule.threshold),
        "clear_text": shown(rule.threshold - rule.recovery_margin),
        "overdue": overdue,
        "in_progress": in_progress,
        "overdue_pct": percent(overdue / in_progress) if overdue is not None and in_progress else "no data",
        "min_in_progress": rule.min_in_progress,
    }


def render_annotations(rule: AnyRule, context: dict[str, Any]) -> dict[str, str]:
    """Every annotation of the rule, rendered; empty ones are left out."""
    rendered = {key: render(template, context) for key, template in rule.annotations.templates().items()}
    return {key: text for key, text in rendered.items() if text}
