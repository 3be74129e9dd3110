"""What a rule makes of a reading: breach, hold (inside the recovery margin), clear, or no data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.alerts.core.rules import AnyRule, BacklogRule, Direction, KpiRule

EPSILON = 1e-9
"""Ratios are floats: 0.87 + 0.01 must clear at a value of 0.88."""


class Condition(StrEnum):
    """The verdict of one rule on one reading."""

    BREACH = "breach"
    HOLD = "hold"
    CLEAR = "clear"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class Reading:
    """A value a rule is evaluated on.

    KPI rules: the ratio with its numerator and denominator, `observed_at` = when the snapshot was computed.
    Backlog rules: the overdue count or share, numerator = overdue, denominator = in progress, `observed_at` = when
    the backlog was read.
    Staleness rules: the age in seconds of the newest event (`last_event_at`), `observed_at` = evaluation time.
    """

    value: float | None
    observed_at: datetime
    numerator: int | None = None
    denominator: int | None = None
    last_event_at: datetime | None = None


def assess(rule: AnyRule, reading: Reading | None) -> Condition:
    """The rule's verdict; a too-small denominator is no data, so it can neither raise nor clear an alert."""
    if reading is None or reading.value is None:
        return Condition.NO_DATA
    if isinstance(rule, KpiRule):
        return _assess_kpi(rule, reading.value, reading.denominator)
    if isinstance(rule, BacklogRule):
        return _assess_backlog(rule, reading)
    return Condition.BREACH if reading.value > rule.quiet_for.total_seconds() else Condition.CLEAR


def _assess_kpi(rule: KpiRule, value: float, denominator: int | None) -> Condition:
    if denominator is not None and denominator < rule.min_denominator:
        return Condition.NO_DATA
    if rule.direction is Direction.BELOW:
        if value < rule.target - EPSILON:
            return Condition.BREACH
        return Condition.CLEAR if value >= rule.target + rule.recovery_margin - EPSILON else Condition.HOLD
    if value > rule.target + EPSILON:
        return Condition.BREACH
    return Condition.CLEAR if value <= rule.target - rule.recovery_margin + EPSILON else Condition.HOLD


def _assess_backlog(rule: BacklogRule, reading: Reading) -> Condition:
    """Higher is worse. Below the minimum sample a reading can raise nothing; it clears only with nothing overdue
    (an exact zero is no noise, and a unit whose backlog emptied must not keep a firing alert)."""
    value, in_progress = reading.value or 0.0, reading.denominator or 0
    if in_progress < rule.min_in_progress:
        return Condition.CLEAR if not reading.numerator else Condition.NO_DATA
    if value > rule.threshold + EPSILON:
        return Condition.BREACH
    return Condition.CLEAR if value <= rule.threshold - rule.recovery_margin + EPSILON else Condition.HOLD


def target_of(rule: AnyRule) -> float:
    """The figure shown beside the value: the KPI target, the backlog threshold, or the allowed quiet seconds."""
    if isinstance(rule, KpiRule):
        return rule.target
    if isinstance(rule, BacklogRule):
        return rule.threshold
    return rule.quiet_for.total_seconds()
