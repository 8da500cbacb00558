"""What every loss weighting is, and the parts several share.

A weighting is an ``nn.Module`` (so learnable weights train with the model) with
``combine(losses) -> objective`` and ``current() -> {task: weight}``. Hooks let a method do
more without a special case in the trainer: ``extra_loss`` adds a term that only trains the
weights (GradNorm), ``after_step`` runs after each optimiser step (GradNorm's
renormalisation), ``epoch_end`` sees each epoch's mean training losses (Dynamic Weight
Average), and ``losses_after_step`` sees the batch's losses before and after each step, for
methods that learn from what a step did (FAMO; docs/extending.md). The methods themselves
live one per module beside this one.
"""

from __future__ import annotations

import functools
import operator

import torch
from torch import nn


class Weighting(nn.Module):
    def __init__(
        self,
        tasks: tuple[str, ...],
        fixed: dict[str, float],
        *,
        shared: nn.Parameter | None = None,
        seed: int = 0,
    ) -> None:
        """``shared``: the last shared parameter (GradNorm); ``seed``: the run's seed, for
        methods that draw (RLW). A method's own hyperparameters (declared in its module's
        ``METHOD``) are keyword-only arguments of its class, without defaults: the trainer
        passes the config's value, whose default is the declaration's."""
        super().__init__()
        self.tasks = tasks
        self.fixed = {t: float(fixed[t]) for t in tasks}

    def combine(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def current(self) -> dict[str, float]:
        raise NotImplementedError

    def extra_loss(self, losses: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """A term added to the objective for backward only; it trains the weights."""
        return None

    def after_step(self) -> None:
        """Called after each optimiser step."""

    # The extension point for methods that learn from how a step changed the losses (FAMO,
    # Liu et al. 2023): with ``wants_losses_after_step`` set, the trainer evaluates the same
    # batch again after the step (no gradient) and calls ``losses_after_step``.
    wants_losses_after_step = False

    def losses_after_step(
        self, before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]
    ) -> None:
        """The batch's task losses before and after this step (detached)."""

    def epoch_end(self, train_losses: dict[str, float]) -> None:
        """Called after each epoch with the mean training batch loss of every task."""


def weighted_sum(weights: dict[str, float], losses: dict[str, torch.Tensor]) -> torch.Tensor:
    # Skipping "× 1.0" and "0 +" saves autograd nodes on every step (same result).
    terms = [loss if weights[t] == 1.0 else weights[t] * loss for t, loss in losses.items()]
    return functools.reduce(operator.add, terms)


class EpochMean:
    """The mean of per-step weights over the epoch so far (what ``current`` reports for
    methods whose weights change every step), restarted at each epoch's end."""

    def __init__(self, tasks: tuple[str, ...]) -> None:
        self.tasks, self.sum, self.steps, self.last = tasks, None, 0, None

    def add(self, weights: torch.Tensor) -> None:
        self.sum = weights.clone() if self.sum is None else self.sum + weights
        self.steps += 1

    def value(self) -> dict[str, float]:
        if not self.steps:  # no step yet this epoch: the last epoch's mean, or equal
            return self.last or dict.fromkeys(self.tasks, 1.0)
        return {t: float(w) / self.steps for t, w in zip(self.tasks, self.sum, strict=True)}

    def restart(self) -> None:
        self.last = self.value()
        self.sum, self.steps = None, 0
