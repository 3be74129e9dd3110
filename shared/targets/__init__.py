"""KPI targets: what each KPI should reach, per unit level; the default file ships with the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field


class TargetRule(BaseModel):
    """The target of one KPI at one unit level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kpi: str
    level: Literal["province", "department", "district", "commune"]
    target: float = Field(ge=0, le=1)
    direction: Literal["above", "below"] = "above"
    min_denominator: int = Field(default=1, ge=1)

    def met(self, ratio: float) -> bool:
        """Whether a value meets the target."""
        return ratio >= self.target if self.direction == "above" else ratio <= self.target


class Targets(BaseModel):
    """A targets file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    year: int
    targets: list[TargetRule]

    def lookup(self, *, kpi: str, level: str) -> TargetRule | None:
        """The rule for a KPI at a level, if any."""
        return next((t for t in self.targets if t.kpi == kpi and t.level == level), None)


def load_targets(path: Path | None = None) -> Targets:
    """Read a targets file, or the shipped defaults."""
    text = path.read_text("utf-8") if path else (resources.files("shared.targets") / "defaults.yaml").read_text("utf-8")
    return Targets.model_validate(yaml.safe_load(text))
