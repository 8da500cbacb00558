"""Scale-invariant weighting: minimise Σ_t log L_t (the "SI" baseline of Navon et al.,

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import torch

from mtl_core.methods.declarations import Method
from mtl_core.methods.weightings._base import EpochMean, Weighting

METHOD = Method(
    "si",
    "scale-invariant: the sum of log losses",
    "Navon et al. 2022",
    caption="Minimising Σ log L weighs each task by 1 / L (the epoch's mean is shown): a "
    "task whose loss is small weighs more, whatever the scale of its loss.",
    order=6,
)


class ScaleInvariantWeighting(Weighting):
    """Scale-invariant weighting: minimise Σ_t log L_t (the "SI" baseline of Navon et al.,
    "Multi-Task Learning as a Bargaining Game", ICML 2022).

    Its gradient is Σ_t ∇L_t / L_t: each task weighs 1 / L_t, so multiplying one task's
    loss by a constant changes nothing. A loss is clamped at 1e-8 before the log, so a
    task that reaches zero loss stops pulling instead of exploding. Fixed auxiliary weights
    are not used; the weights shown are the epoch's mean of 1 / L_t.
    """

    FLOOR = 1e-8

    def __init__(self, tasks, fixed, **options):
        super().__init__(tasks, fixed, **options)
        self.mean = EpochMean(tasks)

    def combine(self, losses):
        clamped = {t: loss.clamp(min=self.FLOOR) for t, loss in losses.items()}
        self.mean.add(torch.stack([1.0 / clamped[t].detach() for t in self.tasks]))
        return sum(torch.log(loss) for loss in clamped.values())

    def current(self):
        return self.mean.value()

    def epoch_end(self, train_losses):
        self.mean.restart()
