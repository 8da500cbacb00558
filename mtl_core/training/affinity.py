"""Inter-task affinity: how a step on one task's gradient moves every task's loss.

TAG (Fifty et al. 2021, "Efficiently Identifying Task Groupings for Multi-Task
Learning") measures, on a training batch, ``Z(i→j) = 1 − L_j(θ_s') / L_j(θ_s)`` where
``θ_s'`` are the shared parameters after a *lookahead* update with task i's gradient
alone, and averages it over the epoch. Recorded every ``affinity_every`` steps of an
epoch (the paper measures every 10), on the batch that step trains on, before its update.

**The update.** The authors' reference code (their Taskonomy trainer) applies the
optimiser's own rule to the shared parameters: SGD with its momentum buffer and weight
decay, at the optimiser's learning rate. We do the same for both optimisers: SGD's
momentum step, and Adam's step with its moment estimates and bias correction, as the
next ``optimizer.step()`` would move them had task i's gradient been the only one (the
optimiser's own update on copies: ``Optimizer.lookahead``, methods/optimizers.py). So
Adam and SGD runs give comparable signals: each measures the step its run would take.
(Their Taskonomy code also divides Z by the learning rate; the paper's definition, used
here, does not.) The optimiser's state is only read, never written.

**Not disturbing training.** The measurement runs in eval mode (no dropout mask drawn,
as for gradient conflict, ``conflict.py``), computes its own forward pass and gradients
before the step's own forward pass, writes the lookahead parameters into the shared
trunk by ``copy_`` and copies the saved values back afterwards; no ``.grad`` is touched.
A run's curves are bit for bit those of the same run with affinity off
(``tests/test_affinity.py``).

**A loss near 0.** When ``L_j`` on the batch is below ``LOSS_FLOOR`` the ratio says
nothing (and would blow up): that pair is left out of that step, as is a lookahead
whose loss is not finite (a step too large: the run itself may still be fine); an epoch
in which a pair was never measurable records no row for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from mtl_core.analysis.affinity import PSEUDO_TASK, affinity_metric
from mtl_core.methods.optimizers import Optimizer
from mtl_core.store.schema import Row

LOSS_FLOOR = 1e-6


class AffinityRecorder:
    """Measures Z(i→j) for every ordered pair of ``tasks`` on chosen batches and gives
    the epoch's means as rows (``_affinity`` / ``aff:i>j``)."""

    def __init__(
        self,
        tasks: tuple[str, ...],
        model: torch.nn.Module,
        shared: list[torch.Tensor],
        optimizer: Optimizer,
        batch_losses: Callable[[dict], tuple[dict, dict]],
        every: int,
    ) -> None:
        self.tasks, self.model, self.shared = tasks, model, shared
        self.optimizer, self.batch_losses, self.every = optimizer, batch_losses, every
        self._sums: dict[tuple[str, str], float] = {}
        self._counts: dict[tuple[str, str], int] = {}

    def wants(self, batch: int) -> bool:
        """Whether the epoch's ``batch``-th step (from 0) is measured."""
        return batch % self.every == 0

    def measure(self, index: dict) -> dict[tuple[str, str], float]:
        """Z(i→j) on the batch ``index`` (positions per label pool); accumulated for the
        epoch and returned (pairs whose loss was below ``LOSS_FLOOR`` are left out)."""
        model, was_training = self.model, self.model.training
        model.eval()
        try:
            losses, _ = self.batch_losses(index)
            ordered = [losses[t] for t in self.tasks]
            grads = {}
            for task, loss in zip(self.tasks, ordered, strict=True):
                parts = torch.autograd.grad(loss, self.shared, retain_graph=True, allow_unused=True)
                grads[task] = [
                    g if g is not None else torch.zeros_like(p)
                    for g, p in zip(parts, self.shared, strict=True)
                ]
            before = {t: float(loss.detach()) for t, loss in zip(self.tasks, ordered, strict=True)}
            del losses, ordered
            saved = [p.detach().clone() for p in self.shared]
            values = {}
            for source in self.tasks:
                moved = self.optimizer.lookahead(self.shared, grads[source])
                try:
                    with torch.no_grad():
                        for p, new in zip(self.shared, moved, strict=True):
                            p.copy_(new)
                        after, _ = self.batch_losses(index)
                finally:  # every lookahead starts from, and ends at, the step's parameters
                    with torch.no_grad():
                        for p, old in zip(self.shared, saved, strict=True):
                            p.copy_(old)
                for target in self.tasks:
                    if before[target] < LOSS_FLOOR:
                        continue
                    value = 1.0 - float(after[target]) / before[target]
                    if math.isfinite(value):
                        values[(source, target)] = value
        finally:
            model.train(was_training)
        for pair, value in values.items():
            self._sums[pair] = self._sums.get(pair, 0.0) + value
            self._counts[pair] = self._counts.get(pair, 0) + 1
        return values

    def epoch_rows(self) -> list[Row]:
        """The epoch's mean Z per measured pair, as rows; starts the next epoch afresh."""
        rows = [
            (PSEUDO_TASK, "train", affinity_metric(s, t), self._sums[(s, t)] / self._counts[(s, t)])
            for s in self.tasks
            for t in self.tasks
            if self._counts.get((s, t))
        ]
        self._sums, self._counts = {}, {}
        return rows
