"""The one retry policy: exponential and capped, optionally jittered; a backoff counting consecutive failures."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.retry import Backoff, RetryPolicy

pytestmark = pytest.mark.unit


def test_delays_double_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_s=0.5, cap_s=10.0)
    assert [policy.delay(attempt) for attempt in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_a_fixed_policy_waits_the_same_before_every_retry() -> None:
    policy = RetryPolicy.fixed(1.5)
    assert {policy.delay(attempt) for attempt in (1, 2, 50, 10_000)} == {1.5}


def test_the_factor_sets_the_growth() -> None:
    assert [RetryPolicy(base_s=1.0, cap_s=100.0, factor=3.0).delay(a) for a in (1, 2, 3, 4, 5)] == [1, 3, 9, 27, 81]


@given(attempts=st.integers(min_value=1, max_value=200), seed=st.integers())
def test_retry_delays_grow_exponentially_within_jitter_and_are_capped(attempts: int, seed: int) -> None:
    delay = RetryPolicy(base_s=2.0, cap_s=600.0, jitter=True).delay(attempts, rng=random.Random(seed))
    nominal = min(600.0, 2.0 * 2 ** (attempts - 1))
    assert nominal / 2 <= delay <= nominal


def test_attempts_far_past_the_cap_stay_at_the_cap() -> None:
    assert RetryPolicy(base_s=1.0, cap_s=60.0, factor=10.0).delay(100_000) == 60.0


def test_a_policy_that_would_shrink_or_go_negative_is_refused() -> None:
    with pytest.raises(ValueError, match="factor"):
        RetryPolicy(base_s=1.0, cap_s=2.0, factor=0.5)
    with pytest.raises(ValueError, match="base_s"):
        RetryPolicy(base_s=-1.0, cap_s=2.0)


def test_backoff_grows_with_consecutive_failures_and_starts_over_after_a_success() -> None:
    backoff = Backoff(RetryPolicy(base_s=0.5, cap_s=10.0))
    assert [backoff.failed() for _ in range(3)] == [0.5, 1.0, 2.0]
    backoff.succeeded()
    assert backoff.failed() == 0.5
