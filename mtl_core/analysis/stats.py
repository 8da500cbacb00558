"""Paired comparisons over seeds: the difference, its 95% t-interval, a paired t-test,
and Holm's correction when one lesson tests several claims.

Pairing by seed removes the variance that both configurations share (the same split,
the same initial trunk), which is most of it at small training sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # mean of (a - b) over seeds
    low: float  # 95% t-interval
    high: float
    p_value: float  # two-sided paired t-test
    n: int

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def sentence(self, what: str, unit: str = "", scale: float = 1.0) -> str:
        """One sentence a student can read, e.g. for accuracy in points (scale=100)."""
        direction = "raised" if self.mean > 0 else "lowered"
        return (
            f"{what} {direction} by {abs(self.mean) * scale:.2f}{unit} on average, "
            f"95% CI {self.low * scale:.2f} to {self.high * scale:.2f}{unit} "
            f"(paired t-interval over {self.n} seeds, p = {self.p_value:.3g})"
        )


def paired_difference(
    a: Sequence[float], b: Sequence[float], level: float = 0.95
) -> PairedDifference:
    """Mean of a − b paired by position, with a t-interval and a paired t-test."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("need two equally long sequences of at least two paired values")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    from scipy import stats  # here, not at the top: the page's server loads it on use

    se = sd / math.sqrt(n)
    half = stats.t.ppf(0.5 + level / 2, n - 1) * se
    # The paired t-test from the same mean and sd (what ttest_rel computes): ttest_rel
    # recomputes the moments and warns of "precision loss" when the seeds' differences are
    # equal up to rounding (a constant difference), which it then reports all the same.
    p = (
        1.0
        if sd == 0 and mean == 0
        else (0.0 if sd == 0 else float(2 * stats.t.sf(abs(mean) / se, n - 1)))
    )
    return PairedDifference(mean, mean - half, mean + half, p, n)


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down correction (Holm 1979): adjusted p-values, in the order given.

    With m claims, the i-th smallest p is multiplied by m − i + 1 (i from 1), capped at 1,
    and made monotone (never below the adjusted p of a smaller raw p). A claim "holds" at
    level α when its adjusted p is below α; the chance that any true null among the m is
    rejected then stays at most α, whatever the dependence between the tests.
    """
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * float(pvalues[index])))
        adjusted[index] = running
    return adjusted
