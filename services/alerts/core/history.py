"""Recent readings of KPI scopes, kept in memory: what a rule's `period` and `falling` look back on.

Pure and bounded: samples at least `resolution` apart (a newer one replaces a younger last sample), none older
than `keep`. The metrics read model only holds the current value of each window, so this history starts when the
service does: for `period` after a restart the first stretch is shorter (its minimum sample still applies), and a
`falling` rule has no data until it has looked back `over`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.alerts.core.conditions import Reading

Scope = tuple[str, str, str]
"""(kpi, window, unit code)."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading's counts."""

    at: datetime
    numerator: int
    denominator: int
    value: float | None


@dataclass(slots=True)
class ReadingHistory:
    """Per scope, the samples of its readings, oldest first."""

    keep: timedelta = timedelta(0)
    resolution: timedelta = timedelta(seconds=1)
    _samples: dict[Scope, deque[Sample]] = field(default_factory=dict)

    def add(self, scope: Scope, reading: Reading) -> None:
        """Record a reading (one older than the newest sample of its scope is ignored)."""
        if reading.numerator is None or reading.denominator is None:
            return
        sample = Sample(reading.observed_at, reading.numerator, reading.denominator, reading.value)
        samples = self._samples.setdefault(scope, deque())
        if samples and sample.at < samples[-1].at:
            return
        if len(samples) >= 2 and samples[-1].at - samples[-2].at < self.resolution:
            samples[-1] = sample  # the newest floats until it is `resolution` after the one before
        else:
            samples.append(sample)
        while len(samples) > 1 and samples[1].at <= sample.at - self.keep:
            samples.popleft()  # the oldest one at or before the horizon stays: it is what `period` subtracts

    def newest(self, scope: Scope) -> Sample | None:
        """The newest sample of a scope."""
        samples = self._samples.get(scope)
        return samples[-1] if samples else None

    def at_or_before(self, scope: Scope, moment: datetime) -> Sample | None:
        """The newest sample taken at or before `moment`."""
        found = None
        for sample in self._samples.get(scope, ()):
            if sample.at > moment:
                break
            found = sample
        return found

    def oldest(self, scope: Scope) -> Sample | None:
        """The oldest sample kept."""
        samples = self._samples.get(scope)
        return samples[0] if samples else None

    def over(self, scope: Scope, period: timedelta, *, now: datetime) -> Reading | None:
        """The counts added over the last `period` (or since the oldest sample, if younger), as a reading; None
        without two samples, or when the counts went down (the period-to-date window started again)."""
        newest = self.newest(scope)
        start = self.at_or_before(scope, now - period) or self.oldest(scope)
        if newest is None or start is None or start is newest:
            return None
        numerator, denominator = newest.numerator - start.numerator, newest.denominator - start.denominator
        if numerator < 0 or denominator < 0:
            return None
        value = numerator / denominator if denominator else None
        return Reading(value=value, observed_at=newest.at, numerator=numerator, denominator=denominator)

    def value_before(self, scope: Scope, lookback: timedelta, *, now: datetime) -> float | None:
        """The value `lookback` ago (None if the history does not reach that far)."""
        sample = self.at_or_before(scope, now - lookback)
        return sample.value if sample is not None else None
