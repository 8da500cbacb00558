"""Equal weighting: every task's loss counts once.

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

from mtl_core.methods.declarations import Method
from mtl_core.methods.weightings._base import Weighting, weighted_sum

METHOD = Method(
    "equal",
    "every task weighs 1",
    caption="The weight each task's loss is multiplied by: equal weighting keeps every "
    "task at 1, so the lines stay flat.",
    order=1,
)


class EqualWeighting(Weighting):
    """Σ_t L_t: every task, main or auxiliary, weighs 1 (the auxiliary weight is ignored)."""

    def combine(self, losses):
        return weighted_sum(dict.fromkeys(self.tasks, 1.0), losses)

    def current(self):
        return dict.fromkeys(self.tasks, 1.0)
