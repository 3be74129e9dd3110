"""Silences: label matchers that mute notifications of matching alerts for a while (the alerts stay visible)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NO_NUL = r"^[^\x00]*$"
"""Text stored in PostgreSQL, which cannot hold the NUL character."""


class Matcher(BaseModel):
    """One label condition, as in Alertmanager: equal or regex (anchored), possibly negated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    value: str = Field(max_length=1000, pattern=NO_NUL)
    is_regex: bool = False
    is_equal: bool = True

    @model_validator(mode="after")
    def _regex_compiles(self) -> Matcher:
        if self.is_regex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise ValueError(f"matcher {self.name!r}: invalid regex: {exc}") from None
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether the label (missing = empty string) satisfies this matcher."""
        actual = labels.get(self.name, "")
        hit = re.fullmatch(self.value, actual) is not None if self.is_regex else actual == self.value
        return hit == self.is_equal


class Silence(BaseModel):
    """Mutes alerts whose labels satisfy every matcher, from `starts_at` until `ends_at`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID
    matchers: tuple[Matcher, ...] = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime
    author: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=2000)

    @field_validator("matchers")
    @classmethod
    def _not_match_all(cls, matchers: tuple[Matcher, ...]) -> tuple[Matcher, ...]:
        if all(m.matches({}) for m in matchers):
            raise ValueError("at least one matcher must not match an empty label set (a silence of everything)")
        return matchers

    def active(self, now: datetime) -> bool:
        """Whether the silence is in force at now."""
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether it mutes an alert with these labels at now."""
        return self.active(now) and all(m.matches(labels) for m in self.matchers)


def silencing(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> list[uuid.UUID]:
    """Ids of the silences muting an alert with these labels."""
    return [s.id for s in silences if s.mutes(labels, now)]
