"""Percentiles and the latency figures every benchmark reports."""

from __future__ import annotations

import statistics


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99), interpolated between the samples (never beyond the largest); NaN for none."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def latency_ms(seconds: list[float]) -> dict[str, float]:
    """p50, p99 and max of latencies given in seconds, in milliseconds, with the sample count."""
    return {
        "samples": len(seconds),
        "p50_ms": round(percentile(seconds, 50) * 1000, 1),
        "p99_ms": round(percentile(seconds, 99) * 1000, 1),
        "max_ms": round(max(seconds, default=float("nan")) * 1000, 1),
    }
