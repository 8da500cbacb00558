"""Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import math

from mtl_core.methods.declarations import Method, Param
from mtl_core.methods.weightings._base import Weighting, weighted_sum

METHOD = Method(
    "dwa",
    "slow tasks weigh more",
    "Liu et al. 2019",
    (
        Param(
            "dwa_temperature",
            "DWA temperature",
            0.01,
            100.0,
            0.5,
            "higher: weights closer to equal; lower: the slowest task takes more",
            "temperature",
            default=2.0,
        ),
    ),
    caption="DWA gives more weight to tasks whose training loss fell least over the "
    "last epoch; the first two epochs weigh 1.",
    order=3,
)


class DynamicWeightAverage(Weighting):
    """Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

    w_k(t) = K exp(r_k / T) / Σ_i exp(r_i / T) with r_k = L_k(t−1) / L_k(t−2), the ratio of
    task k's mean training loss over the last two epochs: a task whose loss falls slowly
    gets more weight. The first two epochs use w = 1 (there is no ratio yet). The fixed
    auxiliary weights are not used.
    """

    def __init__(self, tasks, fixed, *, temperature: float, **options):
        super().__init__(tasks, fixed, **options)
        self.temperature = temperature
        self.history: list[dict[str, float]] = []
        self.weights = dict.fromkeys(tasks, 1.0)

    def combine(self, losses):
        return weighted_sum(self.weights, losses)

    def current(self):
        return dict(self.weights)

    def epoch_end(self, train_losses):
        self.history.append({t: float(train_losses[t]) for t in self.tasks})
        if len(self.history) < 2:
            return
        before, last = self.history[-2], self.history[-1]
        ratios = [last[t] / before[t] if before[t] > 0 else 1.0 for t in self.tasks]
        scaled = [r / self.temperature for r in ratios]
        top = max(scaled)
        exps = [math.exp(s - top) for s in scaled]  # shifted: same softmax, no overflow
        total = sum(exps)
        self.weights = {
            t: len(self.tasks) * e / total for t, e in zip(self.tasks, exps, strict=True)
        }
