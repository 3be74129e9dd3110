"""Retry delays of undelivered notifications: exponential, capped, with jitter so retries don't march in step."""

from __future__ import annotations

import random
from datetime import timedelta


def retry_delay(attempts: int, *, base: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """Delay before attempt `attempts + 1`: `min(cap, base * 2**(attempts-1))`, the upper half jittered."""
    exponent = max(0, attempts - 1)
    delay = cap if exponent >= 64 else min(cap, base * 2.0**exponent)
    jitter = (rng or random).uniform(0.0, delay / 2)
    return timedelta(seconds=delay / 2 + jitter)
