"""Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.methods.declarations import Method
from mtl_core.methods.weightings._base import Weighting

METHOD = Method(
    "uncertainty",
    "learned",
    "Kendall et al. 2018",
    caption="Learned weights ½·exp(−s): a task whose loss stays high or noisy is "
    "trusted less, so its weight falls.",
    order=2,
)


class UncertaintyWeighting(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    Objective Σ_t ½ exp(−s_t) L_t + ½ s_t with a learned s_t = log σ_t². When a training
    loss goes to zero, s_t would run off to −∞ and its weight explode: s_t is clamped
    to [−4, 6]. Fixed auxiliary weights are not used: the weights are learned.
    """

    LOW, HIGH = -4.0, 6.0

    def __init__(self, tasks, fixed, **options):
        super().__init__(tasks, fixed, **options)
        self.log_var = nn.Parameter(torch.zeros(len(tasks)))

    def _clamped(self) -> torch.Tensor:
        return self.log_var.clamp(self.LOW, self.HIGH)

    def combine(self, losses):
        s = self._clamped()
        index = {t: i for i, t in enumerate(self.tasks)}
        return sum(
            0.5 * torch.exp(-s[index[t]]) * loss + 0.5 * s[index[t]] for t, loss in losses.items()
        )

    @torch.no_grad()
    def current(self):
        weights = 0.5 * torch.exp(-self._clamped())
        return {t: float(w) for t, w in zip(self.tasks, weights, strict=True)}
