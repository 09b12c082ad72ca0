"""Intervals for shares, shared by the policy lab's response model and the report's champion/challenger
comparison: Wilson's score interval of one share and Newcombe's hybrid score interval of the difference
of two (Newcombe, Statistics in Medicine 17, 1998, method 10). Both hold near 0 and 1 and for small
samples, where the textbook normal interval does not."""

from __future__ import annotations

import math

Z_95 = 1.959964


def wilson(successes: int, trials: int) -> tuple[float, float] | None:
    """Wilson's 95% score interval of a share (None for no trials)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + Z_95**2 / trials
    centre = (p + Z_95**2 / (2 * trials)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / trials + Z_95**2 / (4 * trials**2)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float] | None:
    """Newcombe's hybrid score 95% interval of p2 - p1 (the challenger's share minus the champion's)."""
    first, second = wilson(k1, n1), wilson(k2, n2)
    if first is None or second is None:
        return None
    p1, p2 = k1 / n1, k2 / n2
    (l1, u1), (l2, u2) = first, second
    d = p2 - p1
    return d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
