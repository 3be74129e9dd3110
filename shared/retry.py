"""How long to wait before retrying: one policy (exponential, capped, optionally jittered) for every retry loop.

Pure: no I/O, no clock; the caller sleeps (or schedules) the delay. Used by the alerts outbox (jittered, so
retries of many notifications don't march in step), by `commit_or_rewind` (a fixed pause, factor 1) and by
ingest's raw intake (doubling from 0.5 s to 10 s).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`min(cap_s, base_s * factor**(attempt - 1))` seconds before retry `attempt`; jittered into its upper half."""

    base_s: float
    cap_s: float
    factor: float = 2.0
    jitter: bool = False

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < 0 or self.factor < 1:
            raise ValueError(f"need base_s >= 0, cap_s >= 0 and factor >= 1, got {self}")

    @classmethod
    def fixed(cls, delay_s: float) -> RetryPolicy:
        """The same pause before every retry."""
        return cls(base_s=delay_s, cap_s=delay_s, factor=1.0)

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number `attempt` (1 for the first failure)."""
        try:
            nominal = min(self.cap_s, self.base_s * self.factor ** max(0, attempt - 1))
        except OverflowError:  # the power outgrew a float long after reaching the cap
            nominal = self.cap_s
        if not self.jitter:
            return nominal
        return nominal / 2 + (rng or random).uniform(0.0, nominal / 2)


class Backoff:
    """Consecutive failures of one retry loop, and the delay its policy gives before the next try."""

    def __init__(self, policy: RetryPolicy, *, rng: random.Random | None = None) -> None:
        self.policy = policy
        self.failures = 0
        self._rng = rng

    def failed(self) -> float:
        """Count a failure; the seconds to wait before trying again."""
        self.failures += 1
        return self.policy.delay(self.failures, rng=self._rng)

    def succeeded(self) -> None:
        """Start over: the next failure waits the first delay again."""
        self.failures = 0
