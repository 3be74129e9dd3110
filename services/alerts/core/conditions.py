"""What a rule makes of a reading: breach, hold (inside the recovery margin), clear, or no data."""

from __future__ import annotations

import math
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
    `reference`: what a KPI rule compares the value with besides its target: the baseline window's value (`slip`)
    or the value `falling.over` ago (`falling`); None when unknown; `reference_denominator` the dossiers behind a
    baseline. Kept in memory only.
    """

    value: float | None
    observed_at: datetime
    numerator: int | None = None
    denominator: int | None = None
    last_event_at: datetime | None = None
    reference: float | None = None
    reference_denominator: int | None = None


def assess(rule: AnyRule, reading: Reading | None) -> Condition:
    """The rule's verdict; a too-small denominator is no data, so it can neither raise nor clear an alert."""
    if reading is None or reading.value is None:
        return Condition.NO_DATA
    if isinstance(rule, KpiRule):
        return _assess_kpi(rule, reading)
    if isinstance(rule, BacklogRule):
        return _assess_backlog(rule, reading)
    return Condition.BREACH if reading.value > rule.quiet_for.total_seconds() else Condition.CLEAR


def _assess_kpi(rule: KpiRule, reading: Reading) -> Condition:
    value, denominator = reading.value, reading.denominator
    assert value is not None
    if denominator is not None and denominator < rule.min_denominator:
        return Condition.NO_DATA
    if rule.falling is not None:
        return _assess_fall(rule, value, reading.reference)
    condition = _against_target(rule, value)
    if rule.slip is not None and condition is Condition.BREACH and not _slipped(rule, value, reading):
        # Below target but no slip (it was below over the baseline too, or the fall is noise): neither raises an
        # alert nor clears a firing one, which clears only once the value is back past the recovery margin.
        return Condition.HOLD
    return condition


def _against_target(rule: KpiRule, value: float) -> Condition:
    if rule.direction is Direction.BELOW:
        if value < rule.target - EPSILON:
            return Condition.BREACH
        return Condition.CLEAR if value >= rule.target + rule.recovery_margin - EPSILON else Condition.HOLD
    if value > rule.target + EPSILON:
        return Condition.BREACH
    return Condition.CLEAR if value <= rule.target - rule.recovery_margin + EPSILON else Condition.HOLD


def _slipped(rule: KpiRule, value: float, reading: Reading) -> bool:
    """Whether a value on the wrong side of the target is a slip: the baseline met the target, and the value is
    under the baseline by at least `min_drop` and by more than `z` standard errors of the difference of the two
    rates (a two-proportion test: both the value and the baseline are samples)."""
    slip, baseline = rule.slip, reading.reference
    if slip is None or baseline is None:
        return False
    sign = 1.0 if rule.direction is Direction.BELOW else -1.0  # distances measured so that "worse" is positive
    met = sign * (baseline - rule.target) >= -EPSILON
    drop = sign * (baseline - value)
    return met and drop >= slip.min_drop - EPSILON and drop > slip.z * _difference_error(value, reading) + EPSILON


def _difference_error(value: float, reading: Reading) -> float:
    """Standard error of baseline - value under "no change" (pooled rate); a side without its count adds none."""
    n1, n2 = reading.denominator or 0, reading.reference_denominator or 0
    if n1 <= 0:
        return 0.0
    baseline = reading.reference if reading.reference is not None else value
    pooled = (value * n1 + baseline * n2) / (n1 + n2)
    return math.sqrt(pooled * (1 - pooled) * (1 / n1 + (1 / n2 if n2 > 0 else 0)))


def _assess_fall(rule: KpiRule, value: float, before: float | None) -> Condition:
    """Breach: fell by `by` over `over` while still on the right side of the target (the floor); clear: the drop
    is back under `by - recovery_margin`; past the floor the target rules take over (hold)."""
    falling = rule.falling
    if falling is None or before is None:
        return Condition.NO_DATA
    sign = 1.0 if rule.direction is Direction.BELOW else -1.0
    drop = sign * (before - value)
    above_floor = sign * (value - rule.target) >= -EPSILON
    if drop >= falling.by - EPSILON:
        return Condition.BREACH if above_floor else Condition.HOLD
    return Condition.CLEAR if drop <= falling.by - rule.recovery_margin + EPSILON else Condition.HOLD


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
