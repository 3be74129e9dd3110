"""The Decision 766 service index: a versioned formula file, and the small interpreter that scores a unit with it.

Every indicator is `min(max_points, scale * ratio / at)` over a ratio of signed sums of named inputs (counters,
progress figures, catalogue shares). Which inputs feed which indicator, the weights, the caps and the thresholds
(0.8, 0.9) are the file's; nothing here knows an indicator by name. An indicator that needs an input no upstream
feeds is "no data" (points None), never 0 and never full marks, and `coverage` says how much of the 100 points
has data behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

GROUP_IDS = ("transparency", "progress", "online_service", "online_payment", "digitization", "satisfaction")


class ZeroDenominator(StrEnum):
    """What an indicator scores when its denominator is 0."""

    ZERO = "zero"
    """0 points (the portal's rule for payment ratios, and for dossier satisfaction with no dossiers)."""
    FULL = "full"
    """Full marks (feedback indicators of a unit that had no feedback)."""
    NO_DATA = "no_data"


class IndicatorSpec(BaseModel):
    """One indicator of the formula file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    name_vi: str = Field(description="The indicator's Vietnamese name (reports).")
    max_points: float | None = Field(ge=0, description="None: the portal's split of the group is not known.")
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    scale: float | None = Field(default=None, description="Points at ratio = at; max_points when unset.")
    at: float = Field(default=1.0, gt=0, description="Threshold: the ratio that earns `scale` points.")
    zero_denominator: ZeroDenominator = ZeroDenominator.ZERO
    scored: bool = Field(default=True, description="False: inputs are reported, points stay unknown.")
    requires: tuple[str, ...] = Field(
        default=(), description="Inputs whose sum must be > 0 for the indicator to have data (a fact was stated)."
    )

    @property
    def inputs(self) -> set[str]:
        """Every input name the indicator reads."""
        return {t.lstrip("-") for t in (*self.numerator, *self.denominator, *self.requires)}


class GroupSpec(BaseModel):
    """One of the six groups: a cap on the sum of its indicators."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    name_vi: str
    max_points: float = Field(ge=0)
    indicators: tuple[IndicatorSpec, ...]


class IndexFormula(BaseModel):
    """A versioned formula file: which source and year it follows, its groups, the inputs nothing feeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    source: str
    year: int
    unfed_inputs: dict[str, str] = Field(
        default_factory=dict, description="Inputs the formula names that no upstream feeds yet, with what they are."
    )
    groups: tuple[GroupSpec, ...]

    @model_validator(mode="after")
    def _six_groups(self) -> IndexFormula:
        if tuple(g.group for g in self.groups) != GROUP_IDS:
            raise ValueError(f"groups must be exactly {', '.join(GROUP_IDS)}, in that order")
        return self

    def check_inputs(self, fed: set[str]) -> None:
        """Refuse a file naming an input that is neither fed nor declared unfed (a typo must not be "no data")."""
        named = {i for g in self.groups for ind in g.indicators for i in ind.inputs}
        unknown = named - fed - set(self.unfed_inputs)
        if unknown:
            raise ValueError(f"unknown index inputs {sorted(unknown)}; fed: {sorted(fed)}")

    @property
    def max_total(self) -> float:
        return sum(g.max_points for g in self.groups)


def parse_formula(raw: Mapping[str, Any], *, fed: set[str]) -> IndexFormula:
    """A formula file's content, validated, with every input it names checked against the fed ones."""
    formula = IndexFormula.model_validate(raw)
    formula.check_inputs(fed)
    return formula


@dataclass(frozen=True, slots=True)
class IndicatorScore:
    """One indicator's figures: ratio and points None when there is no data (points None also when unscored)."""

    indicator: str
    name_vi: str
    numerator: float | None
    denominator: float | None
    ratio: float | None
    points: float | None
    max_points: float | None


@dataclass(frozen=True, slots=True)
class GroupScore:
    """A group's points (None when no indicator of it has data) and its indicators."""

    group: str
    name_vi: str
    points: float | None
    max_points: float
    covered_points: float
    """How many of max_points have data behind them."""
    indicators: tuple[IndicatorScore, ...]


@dataclass(frozen=True, slots=True)
class Scorecard:
    """A unit's index for one period."""

    total: float
    max_total: float
    coverage: float
    groups: tuple[GroupScore, ...]


def signed_sum(terms: tuple[str, ...], inputs: Mapping[str, float | None]) -> float | None:
    """Sum of `input` / `-input` terms; None if any input is not fed."""
    total = 0.0
    for term in terms:
        value = inputs.get(term.lstrip("-"))
        if value is None:
            return None
        total += -value if term.startswith("-") else value
    return total


def indicator_points(spec: IndicatorSpec, *, numerator: float, denominator: float) -> tuple[float | None, float]:
    """(ratio, points) of an indicator with data; a signed numerator below 0 counts as 0."""
    if denominator <= 0:
        full = spec.max_points or 0.0
        return None, {ZeroDenominator.ZERO: 0.0, ZeroDenominator.FULL: full}.get(spec.zero_denominator, 0.0)
    ratio = max(0.0, numerator) / denominator
    cap = spec.max_points if spec.max_points is not None else float("inf")
    scale = spec.scale if spec.scale is not None else cap
    return ratio, max(0.0, min(cap, scale * ratio / spec.at))


def score_indicator(spec: IndicatorSpec, inputs: Mapping[str, float | None]) -> IndicatorScore:
    """One indicator from the inputs; unfed inputs, an unstated fact or `scored: false` leave points None."""
    numerator, denominator = signed_sum(spec.numerator, inputs), signed_sum(spec.denominator, inputs)
    required = signed_sum(spec.requires, inputs) if spec.requires else 1.0
    if numerator is None or denominator is None or required is None or required <= 0:
        return IndicatorScore(spec.indicator, spec.name_vi, numerator, denominator, None, None, spec.max_points)
    ratio, points = indicator_points(spec, numerator=numerator, denominator=denominator)
    no_data = denominator <= 0 and spec.zero_denominator is ZeroDenominator.NO_DATA
    shown = None if no_data or not spec.scored else points
    return IndicatorScore(spec.indicator, spec.name_vi, numerator, denominator, ratio, shown, spec.max_points)


def score_group(spec: GroupSpec, inputs: Mapping[str, float | None]) -> GroupScore:
    """A group: its indicators' points summed and capped at the group's maximum."""
    scores = tuple(score_indicator(i, inputs) for i in spec.indicators)
    with_data = [s for s in scores if s.points is not None]
    weights = sum(s.max_points or 0.0 for s in scores)
    covered = sum(s.max_points or 0.0 for s in with_data)
    covered_points = spec.max_points * covered / weights if weights > 0 else 0.0
    points = min(spec.max_points, sum(s.points or 0.0 for s in with_data)) if with_data else None
    return GroupScore(spec.group, spec.name_vi, points, spec.max_points, covered_points, scores)


def score(formula: IndexFormula, inputs: Mapping[str, float | None]) -> Scorecard:
    """A unit's scorecard: groups with data add up to the total; coverage = share of max points with data."""
    groups = tuple(score_group(g, inputs) for g in formula.groups)
    total = sum(g.points or 0.0 for g in groups)
    coverage = sum(g.covered_points for g in groups) / formula.max_total if formula.max_total > 0 else 0.0
    return Scorecard(total=total, max_total=formula.max_total, coverage=coverage, groups=groups)


def published(points: float | None) -> float | None:
    """Points as the portal publishes them: two decimals."""
    return None if points is None else round(points, 2)
