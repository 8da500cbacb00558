"""Loss weighting: how per-task losses become one training objective.

A weighting is an ``nn.Module`` (so learnable weights train with the model) with
``combine(losses) -> objective`` and ``current() -> {task: weight}``; ``epoch_end`` lets
methods that look at loss history (e.g. Dynamic Weight Average) update between epochs.
Add a method by adding a class and one entry to ``WEIGHTINGS``.
"""

from __future__ import annotations

import functools
import operator

import torch
from torch import nn


class Weighting(nn.Module):
    def __init__(self, tasks: tuple[str, ...], fixed: dict[str, float]) -> None:
        super().__init__()
        self.tasks = tasks
        self.fixed = {t: float(fixed[t]) for t in tasks}

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def current(self) -> dict[str, float]:
        raise NotImplementedError

    def epoch_end(self, train_losses: dict[str, float]) -> None:
        """Called after each epoch's evaluation; most methods need nothing."""


class FixedWeighting(Weighting):
    """Σ_t w_t L_t with w = 1 for main tasks and the auxiliary weight for the others."""

    def combine(self, losses):
        # Skipping "× 1.0" and "0 +" saves autograd nodes on every step (same result).
        terms = [
            loss if self.fixed[t] == 1.0 else self.fixed[t] * loss for t, loss in losses.items()
        ]
        return functools.reduce(operator.add, terms)

    def current(self):
        return dict(self.fixed)


class UncertaintyWeighting(Weighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

    Objective Σ_t ½ exp(−s_t) L_t + ½ s_t with a learned s_t = log σ_t². When a training
    loss goes to zero, s_t would run off to −∞ and its weight explode: s_t is clamped
    to [−4, 6]. Fixed auxiliary weights are not used: the weights are learned.
    """

    LOW, HIGH = -4.0, 6.0

    def __init__(self, tasks, fixed):
        super().__init__(tasks, fixed)
        self.log_var = nn.Parameter(torch.zeros(len(tasks)))

    def _clamped(self) -> torch.Tensor:
        return self.log_var.clamp(self.LOW, self.HIGH)

    def combine(self, losses):
        s = self._clamped()
        index = {t: i for i, t in enumerate(self.tasks)}
        return sum(0.5 * torch.exp(-s[index[t]]) * loss + 0.5 * s[index[t]]
                   for t, loss in losses.items())  # fmt: skip

    @torch.no_grad()
    def current(self):
        weights = 0.5 * torch.exp(-self._clamped())
        return {t: float(w) for t, w in zip(self.tasks, weights, strict=True)}


WEIGHTINGS: dict[str, type[Weighting]] = {
    "fixed": FixedWeighting,
    "uncertainty": UncertaintyWeighting,
}
