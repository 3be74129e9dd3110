"""Token buckets per source, counted in events; pure, with the clock passed in."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

EPSILON = 1e-9
"""Refill arithmetic in floats: a wait of exactly the announced Retry-After must pass."""


class RateLimit(BaseModel):
    """Sustained rate and burst of one source, in events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events_per_second: float = Field(gt=0, description="Sustained events per second.")
    burst: int = Field(ge=1, description="Events allowed at once on top of the sustained rate.")


@dataclass(slots=True)
class TokenBucket:
    """A bucket of `burst` events refilled at `rate` events per second."""

    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, cost: int, *, now: float) -> float:
        """Take `cost` events: 0.0 when allowed, else the seconds to wait before the same request can pass.

        A batch larger than the burst passes once the bucket is full and leaves it in debt, so a big batch is
        slowed to the sustained rate instead of being refused forever.
        """
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        needed = min(float(cost), self.burst)
        if self.tokens + EPSILON >= needed:
            self.tokens -= cost
            return 0.0
        return (needed - self.tokens) / self.rate


class RateLimiter:
    """One token bucket per source that has a configured limit; sources without one are not limited."""

    def __init__(self, limits: Mapping[str, RateLimit], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = dict(limits)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def take(self, source: str, cost: int) -> float:
        """0.0 when `source` may send `cost` events now, else the seconds it should wait."""
        limit = self._limits.get(source)
        if limit is None or cost <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.get(source)
        if bucket is None:
            bucket = TokenBucket(limit.events_per_second, float(limit.burst), float(limit.burst), now)
            self._buckets[source] = bucket
        return bucket.take(cost, now=now)


def retry_after_header(wait_s: float) -> str:
    """A Retry-After value in whole seconds, at least 1."""
    return str(max(1, math.ceil(wait_s)))
