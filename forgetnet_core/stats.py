"""Statistics the lab reports: the Wilson interval of an accuracy, the Student-t interval of a mean across seeds.

A held-out accuracy over n examples gets a 95% Wilson score interval (well
behaved at 0 and 1, where +-1.96 SE is not). A mean across training seeds gets
a 95% Student-t interval; runs that share a seed are one sample, not several
(seed_units), so repeating a seed never narrows the interval.
"""

from __future__ import annotations

import math
from typing import Any, Sequence


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a binomial proportion (well-behaved at 0 and 1, unlike +-1.96 SE)."""
    if n <= 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)


def t_critical(df: int) -> float:
    """t_{0.975, df}: the table to 30, then a Cornish-Fisher expansion (error < 0.001)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df * df)


def t_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95% Student-t interval of the mean, unclipped; one value: its own."""
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    mean = sum(values) / n
    if n == 1:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_critical(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high): the 95% t-interval of the mean across seeds, clipped to [0, 1]; one value: its own."""
    mean, low, high = t_interval(values)
    return mean, max(0.0, low), min(1.0, high)


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high) of a_i - b_i with its 95% t-interval: a paired comparison (a_i and b_i share seed i).

    >>> paired_difference([0.9, 0.8, 0.85], [0.5, 0.45, 0.5])[0] > 0
    True
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length ({len(a)} and {len(b)})")
    return t_interval([x - y for x, y in zip(a, b)])


def seed_units(seeds: Sequence[int | None]) -> list[Any]:
    """What each run counts as in a seed statistic: its seed, or (an unknown seed) a unit of its own.

    Runs that share a seed are one sample, not several: two sweeps of the same
    config and seeds (1, 2) give each seed twice, and counting the four runs as
    four seeds would shrink the t-interval for nothing.
    """
    return [("seed", s) if s is not None else ("run", i) for i, s in enumerate(seeds)]



__all__ = ["mean_interval", "paired_difference", "seed_units", "t_critical", "t_interval", "wilson_interval"]
