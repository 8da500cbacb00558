"""Random loss weighting, RLW (Lin et al., "Reasonable Effectiveness of Random

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import torch

from mtl_core.methods.declarations import Method
from mtl_core.methods.weightings._base import EpochMean, Weighting

METHOD = Method(
    "rlw",
    "random weights each step",
    "Lin et al. 2021",
    caption="RLW draws new weights softmax(z), z ~ N(0, 1), at every step; the lines show "
    "each epoch's mean, which stays near 1 / (number of tasks).",
    order=5,
)


class RandomLossWeighting(Weighting):
    """Random loss weighting, RLW (Lin et al., "Reasonable Effectiveness of Random
    Weighting", TMLR 2022; arXiv 2021).

    Each step draws λ = softmax(z), z ~ N(0, I) over the tasks, and minimises Σ_t λ_t L_t.
    The draws come from the run's own seeded stream ("rlw"), so runs stay reproducible and
    no other random stream shifts. Fixed auxiliary weights are not used.
    """

    def __init__(self, tasks, fixed, *, seed: int = 0, **options):
        super().__init__(tasks, fixed, **options)
        from mtl_core.seeds import torch_generator

        self.generator = torch_generator(seed, "rlw")
        self.mean = EpochMean(tasks)

    def combine(self, losses):
        weights = torch.softmax(torch.randn(len(self.tasks), generator=self.generator), 0)
        self.mean.add(weights)
        index = {t: i for i, t in enumerate(self.tasks)}
        return sum(weights[index[t]] * loss for t, loss in losses.items())

    def current(self):
        return self.mean.value()

    def epoch_end(self, train_losses):
        self.mean.restart()
