"""Token buckets per source, counted in events, on a clock the test controls."""

from __future__ import annotations

import pytest

from services.ingest.core.ratelimit import RateLimit, RateLimiter, retry_after_header

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: Clock, *, rate: float = 10, burst: int = 50) -> RateLimiter:
    return RateLimiter({"portal-a": RateLimit(events_per_second=rate, burst=burst)}, clock=clock)


def test_burst_passes_at_once_then_the_next_event_waits_for_the_refill() -> None:
    clock = Clock()
    limits = limiter(clock)
    assert limits.take("portal-a", 50) == 0.0
    assert limits.take("portal-a", 1) == pytest.approx(0.1)
    clock.now += 0.1
    assert limits.take("portal-a", 1) == 0.0


def test_refill_never_exceeds_the_burst() -> None:
    clock = Clock()
    limits = limiter(clock)
    clock.now += 3600
    assert limits.take("portal-a", 50) == 0.0
    assert limits.take("portal-a", 1) > 0


def test_refused_request_takes_nothing() -> None:
    clock = Clock()
    limits = limiter(clock)
    limits.take("portal-a", 45)
    assert limits.take("portal-a", 10) == pytest.approx(0.5)
    assert limits.take("portal-a", 5) == 0.0


def test_batch_larger_than_the_burst_passes_when_full_and_leaves_the_source_in_debt() -> None:
    clock = Clock()
    limits = limiter(clock)
    assert limits.take("portal-a", 80) == 0.0
    assert limits.take("portal-a", 10) == pytest.approx(4.0)  # from -30 back to +10 at 10 events/s
    clock.now += 4.0
    assert limits.take("portal-a", 10) == 0.0


def test_sources_have_their_own_buckets_and_unlisted_sources_are_unlimited() -> None:
    clock = Clock()
    limits = RateLimiter(
        {"a": RateLimit(events_per_second=1, burst=1), "b": RateLimit(events_per_second=1, burst=1)}, clock=clock
    )
    assert limits.take("a", 1) == 0.0
    assert limits.take("b", 1) == 0.0
    assert limits.take("a", 1) > 0
    assert limits.take("elsewhere", 1_000_000) == 0.0


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (99.99, "100")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after_header(wait) == header
