"""Alert rules: a KPI against its target, a unit level's overdue backlog, or a source or unit that went quiet.

Every rule says how it notifies (`notify`): a `page` goes out as soon as it fires (a figure slipped, something
broke), a `digest` alert waits for its receivers' scheduled digest (a chronic gap, known and slow to move).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.alerts.core.durations import Duration
from services.alerts.core.receivers import ReceiverName
from services.alerts.core.templates import BACKLOG_FIELDS, KPI_FIELDS, STALENESS_FIELDS, check_template
from shared.kpi_catalogue import KPI_NAMES, WindowName
from shared.refdata import UnitLevel

RuleName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
LabelName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Severity = Literal["info", "warning", "critical"]
Notify = Literal["page", "digest"]
CUMULATIVE_WINDOWS = (WindowName.MTD, WindowName.QTD, WindowName.YTD)
"""Period-to-date windows: within their period their counts only grow, so two readings' difference is the
dossiers counted in between (what `period` reads)."""
NON_ADDITIVE_KPIS = frozenset({"online_service_usage_rate"})
"""KPIs counted over distinct procedures, not dossiers: the difference of two readings means nothing."""


class Direction(StrEnum):
    """Which side of the target fires: `below` for rates that should be high."""

    BELOW = "below"
    ABOVE = "above"


class Scope(BaseModel):
    """The units a rule watches: every unit of some levels, explicit units, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    levels: tuple[UnitLevel, ...] = ()
    units: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Scope:
        if not self.levels and not self.units:
            raise ValueError("a scope names at least one level or one unit")
        return self

    def covers(self, *, unit_code: str, unit_level: str | None) -> bool:
        """Whether a unit is in scope."""
        return unit_code in self.units or (unit_level is not None and unit_level in self.levels)


class Annotations(BaseModel):
    """Templates rendered with the alert's figures; extra keys are allowed and rendered too."""

    model_config = ConfigDict(extra="allow", frozen=True)

    summary: str = Field(min_length=1)
    description: str = ""
    runbook_url: str = ""

    def templates(self) -> dict[str, str]:
        """Every annotation, by name."""
        extra = {k: str(v) for k, v in (self.model_extra or {}).items()}
        return {"summary": self.summary, "description": self.description, "runbook_url": self.runbook_url, **extra}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: RuleName
    severity: Severity = "warning"
    notify: Notify = Field(
        default="page", description="page: notified when it fires; digest: listed in the receivers' scheduled digest."
    )
    for_: Duration = Field(default=timedelta(0), alias="for")
    repeat_interval: Duration | None = None
    labels: dict[LabelName, str] = Field(default_factory=dict)
    annotations: Annotations
    receivers: tuple[ReceiverName, ...] = ()

    TEMPLATE_FIELDS: ClassVar[dict[str, Any]] = KPI_FIELDS
    """Fields the annotation templates of this kind of rule may use."""

    @field_validator("annotations")
    @classmethod
    def _templates_render(cls, annotations: Annotations) -> Annotations:
        for key, template in annotations.templates().items():
            try:
                check_template(template, cls.TEMPLATE_FIELDS)
            except ValueError as exc:
                raise ValueError(f"{key}: {exc}") from None
        return annotations


class Slip(BaseModel):
    """Raise only a slip: the unit met its target over `baseline` (that window without the dossiers judged: its
    level before them) and its value fell below the target, by at least `min_drop` under the baseline and by more
    than `z` standard errors of the difference (noise)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    baseline: WindowName = Field(description="The comparison window: the unit's recent level, e.g. 7d.")
    min_drop: float = Field(default=0.0, ge=0, le=1, description="How far under the baseline the value must be.")
    z: float = Field(default=0.0, ge=0, description="How many standard errors under the baseline the value must be.")


class Falling(BaseModel):
    """Raise a fall in progress: the value dropped by at least `by` over the last `over` while still at or above
    the target (the floor); clears once the drop over `over` is back under `by - recovery_margin`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    over: Duration = Field(description="The short window the fall is measured over, e.g. 1h.")
    by: float = Field(gt=0, le=1, description="The drop (in ratio points, 0.05 = 5 points) that raises it.")


class KpiRule(_Rule):
    """Fires when a KPI of a unit in scope is on the wrong side of its target for `for`.

    With `period`, the value is that of the dossiers counted over the last `period` only, read from the
    differences of the (period-to-date) `window`'s readings. With `slip`, a unit already below its target over
    the baseline window raises nothing (a chronic gap, for a digest rule); with `falling`, the rule raises a fall
    while the value is still above the target.
    """

    kind: Literal["kpi"] = "kpi"
    kpi: str
    window: WindowName = WindowName.D30
    period: Duration | None = Field(
        default=None, description="Only the dossiers of this last stretch (window must be mtd, qtd or ytd)."
    )
    scope: Scope
    direction: Direction = Direction.BELOW
    target: float = Field(ge=0, le=1)
    recovery_margin: float = Field(default=0.0, ge=0, le=1, description="Hysteresis: how far past target clears.")
    min_denominator: int = Field(default=1, ge=1, description="Below this a value is noise: no data.")
    slip: Slip | None = None
    falling: Falling | None = None

    @field_validator("kpi")
    @classmethod
    def _known_kpi(cls, kpi: str) -> str:
        if kpi not in KPI_NAMES:
            raise ValueError(f"unknown KPI {kpi!r}; known: {', '.join(KPI_NAMES)}")
        return kpi

    @model_validator(mode="after")
    def _consistent(self) -> KpiRule:
        if self.period is not None:
            if self.window not in CUMULATIVE_WINDOWS:
                raise ValueError("a rule with `period` reads a period-to-date window: window mtd, qtd or ytd")
            if self.kpi in NON_ADDITIVE_KPIS:
                raise ValueError(f"{self.kpi} counts distinct procedures: it has no value over a `period`")
            if self.period <= timedelta(0):
                raise ValueError("period must be longer than 0s")
        if self.slip is not None and self.falling is not None:
            raise ValueError("a rule raises either a slip or a fall, not both: write two rules")
        if self.falling is not None and self.falling.by <= self.recovery_margin:
            raise ValueError("falling.by must exceed recovery_margin, or the alert could never clear")
        return self

    def lookback(self) -> timedelta:
        """How much reading history the rule needs (0: none)."""
        return max(self.period or timedelta(0), self.falling.over if self.falling else timedelta(0))


class BacklogMeasure(StrEnum):
    """What a backlog rule compares with its threshold."""

    OVERDUE = "overdue"
    """Dossiers in progress past their due time (clock running), a count."""
    OVERDUE_SHARE = "overdue_share"
    """overdue / in_progress, a ratio: comparable across units of any size."""


class BacklogRule(_Rule):
    """Fires when a unit in scope has had more overdue dossiers (or a larger overdue share) than `threshold` for
    `for`, while it holds at least `min_in_progress` dossiers in progress; clears at `threshold - recovery_margin`.

    Read on the timer from the live backlog (rolled up the tree): overdue-ness moves with the clock, not only with
    events.
    """

    kind: Literal["backlog"]
    scope: Scope
    measure: BacklogMeasure = BacklogMeasure.OVERDUE_SHARE
    threshold: float = Field(ge=0, description="Above it the rule breaches: a ratio for overdue_share, else a count.")
    recovery_margin: float = Field(default=0.0, ge=0, description="Hysteresis: how far under threshold clears.")
    min_in_progress: int = Field(default=1, ge=1, description="Below this many dossiers in progress: no data.")

    TEMPLATE_FIELDS: ClassVar[dict[str, Any]] = BACKLOG_FIELDS

    @model_validator(mode="after")
    def _share_is_a_ratio(self) -> BacklogRule:
        if self.measure is BacklogMeasure.OVERDUE_SHARE and (self.threshold > 1 or self.recovery_margin > 1):
            raise ValueError("an overdue_share threshold and recovery_margin are ratios between 0 and 1")
        if self.recovery_margin > self.threshold:
            raise ValueError("recovery_margin is larger than threshold: the alert could never clear")
        return self


class SourceStaleRule(_Rule):
    """Fires when no event from a source occurred for `quiet_for` (every source seen, or those listed)."""

    kind: Literal["source_stale"]
    sources: tuple[str, ...] = ()
    quiet_for: Duration

    TEMPLATE_FIELDS: ClassVar[dict[str, Any]] = STALENESS_FIELDS


class UnitStaleRule(_Rule):
    """Fires when no event for a unit in scope (or its descendants) occurred for `quiet_for`."""

    kind: Literal["unit_stale"]
    scope: Scope
    quiet_for: Duration

    TEMPLATE_FIELDS: ClassVar[dict[str, Any]] = STALENESS_FIELDS


AnyRule = KpiRule | BacklogRule | SourceStaleRule | UnitStaleRule
