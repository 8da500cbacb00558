"""GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.methods.declarations import Method, Param
from mtl_core.methods.weightings._base import Weighting

METHOD = Method(
    "gradnorm",
    "balanced gradient norms",
    "Chen et al. 2018",
    (
        Param(
            "gradnorm_alpha",
            "GradNorm α",
            0.0,
            10.0,
            0.25,
            "how hard lagging tasks are pushed; 0 equalises gradient norms",
            "alpha",
            default=1.5,
        ),
    ),
    caption="GradNorm moves weight to tasks that train slower than the others, so that "
    "their gradients on the trunk grow; the weights sum to the number of tasks.",
    order=4,
)


class GradNorm(Weighting):
    """GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

    Learned weights w_i (starting at 1) train on L_grad = Σ_i |G_i − Ḡ · r_i^α|, where
    G_i = ‖∇_W w_i L_i‖ on the last shared layer W, Ḡ is the mean of the G_i, and
    r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0)) is task i's relative inverse training rate;
    Ḡ · r_i^α is held constant. The model trains on Σ_i w_i L_i with w held constant.
    After every step the weights are renormalised to sum to the number of tasks.
    """

    def __init__(self, tasks, fixed, *, alpha: float, shared=None, **options):
        super().__init__(tasks, fixed, **options)
        if shared is None:
            raise ValueError("GradNorm needs the last shared layer's weight")
        self.alpha = alpha
        self.shared = [shared]  # a list: not registered as this module's parameter
        self.w = nn.Parameter(torch.ones(len(tasks)))
        self.initial: torch.Tensor | None = None

    def _stack(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([losses[t] for t in self.tasks])

    def combine(self, losses):
        stacked = self._stack(losses)
        if self.initial is None:
            self.initial = stacked.detach().clone()
        return (self.w.detach() * stacked).sum()

    def extra_loss(self, losses):
        stacked = self._stack(losses)
        (shared,) = self.shared
        norms = torch.stack(
            [torch.autograd.grad(loss, shared, retain_graph=True)[0].norm() for loss in stacked]
        )
        g = self.w * norms  # G_i = ‖∇_W w_i L_i‖ = w_i ‖∇_W L_i‖ (w_i > 0)
        with torch.no_grad():
            ratio = stacked.detach() / self.initial
            target = g.mean() * (ratio / ratio.mean()) ** self.alpha
        return (g - target).abs().sum()

    @torch.no_grad()
    def after_step(self):
        self.w.clamp_(min=1e-3)
        self.w.mul_(len(self.tasks) / self.w.sum())

    @torch.no_grad()
    def current(self):
        return {t: float(w) for t, w in zip(self.tasks, self.w, strict=True)}
