"""Processing-time histograms: which bin a duration falls in, and medians / 90th percentiles read back from bins.

Bins are fixed (so day, unit and procedure histograms add up): one hour wide below 1 day, 6 hours below 30 days,
1 day below 120 days, 5 days below 365 days, and one open bin from 365 days. A percentile is the midpoint of the
bin holding the nearest-rank value, so it is within half a bin width of the exact figure: 30 minutes below 1 day,
3 hours below 30 days, 12 hours below 120 days, 2.5 days below 365 days; from 365 days on it is a lower bound.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Mapping
from fractions import Fraction

_SEGMENTS = ((Fraction(1), Fraction(1, 24)), (Fraction(30), Fraction(1, 4)), (Fraction(120), Fraction(1)),
             (Fraction(365), Fraction(5)))  # fmt: skip
"""(up to this many days, bin width in days), in order."""


def _edges() -> tuple[float, ...]:
    edges, start = [Fraction(0)], Fraction(0)
    for end, width in _SEGMENTS:
        while start < end:
            start += width
            edges.append(start)
    return tuple(float(e) for e in edges)


EDGES = _edges()
"""Lower edges of the bins; the last one opens the unbounded bin."""
OPEN_BIN = len(EDGES) - 1


def bin_of(days: float) -> int:
    """The bin a processing time (in days, ≥ 0) falls in."""
    return min(OPEN_BIN, max(0, bisect_right(EDGES, days) - 1))


def bin_value(index: int) -> float:
    """What a bin reports: its midpoint, or the lower edge of the open bin."""
    if index >= OPEN_BIN:
        return EDGES[OPEN_BIN]
    return (EDGES[index] + EDGES[index + 1]) / 2


def bin_error(index: int) -> float:
    """Most a value reported from this bin can be off (half its width; the open bin is a lower bound)."""
    if index >= OPEN_BIN:
        return math.inf
    # The larger of the two float distances to the edges, so rounding never puts an edge beyond the bound.
    return max(bin_value(index) - EDGES[index], EDGES[index + 1] - bin_value(index))


def percentile(histogram: Mapping[int, int], q: float) -> int | None:
    """The bin of the nearest-rank q-quantile (0 < q ≤ 1) of a histogram {bin: dossiers}; None when empty."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank, seen = max(1, math.ceil(q * total)), 0
    for index in sorted(histogram):
        seen += histogram[index]
        if seen >= rank:
            return index
    return max(histogram)
