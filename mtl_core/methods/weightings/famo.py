"""Fast Adaptive Multitask Optimization, FAMO (Liu, Liu, Jin, Stone & Liu, NeurIPS 2023).

Declared and implemented here, as every loss weighting is (docs/extending.md).
"""

from __future__ import annotations

import torch

from mtl_core.methods.declarations import Method, Param
from mtl_core.methods.optimizers import Adam
from mtl_core.methods.weightings._base import Weighting

METHOD = Method(
    "famo",
    "learned from which loss fell least",
    "Liu et al. 2023",
    (
        Param(
            "famo_lr",
            "FAMO lr",
            0.0,
            1.0,
            0.005,
            "learning rate of the logits of the weights; 0 keeps them equal",
            "lr",
            default=0.025,
        ),
        Param(
            "famo_decay",
            "FAMO decay γ",
            0.0,
            1.0,
            0.005,
            "weight decay of the logits: pulls the weights back towards equal",
            "decay",
            default=0.01,
        ),
    ),
    caption="FAMO's weights softmax(ξ) at the epoch's end: after each step, a task whose "
    "log-loss fell less than the others' gains weight. The model minimises Σ w log L, "
    "so each loss is also divided by its size.",
    order=7,
)


class FAMO(Weighting):
    """Fast Adaptive Multitask Optimization, FAMO (Liu, Liu, Jin, Stone & Liu, NeurIPS 2023).

    Task weights z = softmax(ξ) over learned logits ξ (starting at 0, equal weights). The
    model minimises Σ_t z_t log L_t / c with c = Σ_t z_t / L_t held constant, so task t's
    loss weighs z_t / (c L_t): the step lowers every log-loss at a rate the weights set.
    After each step, with δ_t = log L_t(before) − log L_t(after) on the same batch (the
    trainer's ``losses_after_step``), ξ takes one step of its own optimiser along the
    gradient (∂z/∂ξ)ᵀ δ: a task whose log-loss fell more than the others' loses weight.
    As in the authors' code (github.com/Cranial-XIX/FAMO), that optimiser is Adam with
    learning rate ``lr`` and weight decay ``decay`` (γ, which pulls ξ back to equal weights),
    and every loss gets 1e-8 added before its log. Its cost per step is one more forward
    pass, whatever the number of tasks. Fixed auxiliary weights are not used.
    """

    EPS = 1e-8

    def __init__(self, tasks, fixed, *, lr: float, decay: float, **options):
        super().__init__(tasks, fixed, **options)
        # A buffer, not an nn.Parameter: ξ trains on FAMO's own update, never on the model's
        # loss. Its optimiser is made at the first update, after ``.to(device)``.
        self.register_buffer("logits", torch.zeros(len(tasks)))
        self.lr, self.decay = lr, decay
        self.optimizer: Adam | None = None

    wants_losses_after_step = True

    def _stack(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([losses[t] for t in self.tasks])

    def combine(self, losses):
        z = torch.softmax(self.logits, 0)
        shifted = self._stack(losses) + self.EPS
        c = (z / shifted.detach()).sum()
        return (z * shifted.log()).sum() / c

    def losses_after_step(self, before, after):
        logits = self.logits.detach().requires_grad_(True)
        with torch.enable_grad():
            delta = (self._stack(before) + self.EPS).log() - (self._stack(after) + self.EPS).log()
            (grad,) = torch.autograd.grad(torch.softmax(logits, 0), logits, delta.detach())
        if self.optimizer is None:
            self.optimizer = Adam([self.logits], lr=self.lr, weight_decay=self.decay)
        self.logits.grad = grad
        self.optimizer.step()
        self.logits.grad = None

    @torch.no_grad()
    def current(self):
        z = torch.softmax(self.logits, 0)
        return {t: float(w) for t, w in zip(self.tasks, z, strict=True)}
