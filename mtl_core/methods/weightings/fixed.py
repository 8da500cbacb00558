"""Fixed weighting: the weights the user set (linear scalarisation).

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

from mtl_core.methods.declarations import Method
from mtl_core.methods.weightings._base import Weighting, weighted_sum

METHOD = Method(
    "fixed",
    "main tasks weigh 1, auxiliary tasks their set weight",
    caption="The weight each task's loss is multiplied by: fixed weighting keeps the "
    "values you set (main tasks 1), so the lines stay flat.",
    order=0,
)


class FixedWeighting(Weighting):
    """Σ_t w_t L_t: a main task weighs its ``task_weights`` entry (default 1), the others
    their auxiliary weight."""

    def combine(self, losses):
        return weighted_sum(self.fixed, losses)

    def current(self):
        return dict(self.fixed)
