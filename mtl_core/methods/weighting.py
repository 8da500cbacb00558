"""Loss weighting: how per-task losses become one training objective.

A weighting is an ``nn.Module`` (so learnable weights train with the model) with
``combine(losses) -> objective`` and ``current() -> {task: weight}``. Four hooks let a
method do more: ``extra_loss`` adds a term that only trains the weights (GradNorm),
``after_step`` runs after each optimiser step (GradNorm's renormalisation), and
``epoch_end`` sees each epoch's mean training losses (Dynamic Weight Average);
``losses_after_step`` sees the batch's losses before and after each step, for methods that
learn from what a step did (FAMO; docs/extending.md).
Each method is declared (name, help, paper, hyperparameters) in ``methods/catalog.py``;
add one by declaring it there and adding its class and one entry to ``WEIGHTINGS``
(docs/extending.md).
"""

from __future__ import annotations

import functools
import math
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
        methods that draw (RLW). A method's own hyperparameters (declared in catalog.py)
        are keyword arguments of its class."""
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


def _weighted_sum(weights: dict[str, float], losses: dict[str, torch.Tensor]) -> torch.Tensor:
    # Skipping "× 1.0" and "0 +" saves autograd nodes on every step (same result).
    terms = [loss if weights[t] == 1.0 else weights[t] * loss for t, loss in losses.items()]
    return functools.reduce(operator.add, terms)


class FixedWeighting(Weighting):
    """Σ_t w_t L_t: a main task weighs its ``task_weights`` entry (default 1), the others
    their auxiliary weight."""

    def combine(self, losses):
        return _weighted_sum(self.fixed, losses)

    def current(self):
        return dict(self.fixed)


class EqualWeighting(Weighting):
    """Σ_t L_t: every task, main or auxiliary, weighs 1 (the auxiliary weight is ignored)."""

    def combine(self, losses):
        return _weighted_sum(dict.fromkeys(self.tasks, 1.0), losses)

    def current(self):
        return dict.fromkeys(self.tasks, 1.0)


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


class DynamicWeightAverage(Weighting):
    """Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019).

    w_k(t) = K exp(r_k / T) / Σ_i exp(r_i / T) with r_k = L_k(t−1) / L_k(t−2), the ratio of
    task k's mean training loss over the last two epochs: a task whose loss falls slowly
    gets more weight. The first two epochs use w = 1 (there is no ratio yet). The fixed
    auxiliary weights are not used.
    """

    def __init__(self, tasks, fixed, *, temperature: float = 2.0, **options):
        super().__init__(tasks, fixed, **options)
        self.temperature = temperature
        self.history: list[dict[str, float]] = []
        self.weights = dict.fromkeys(tasks, 1.0)

    def combine(self, losses):
        return _weighted_sum(self.weights, losses)

    def current(self):
        return dict(self.weights)

    def epoch_end(self, train_losses):
        self.history.append({t: float(train_losses[t]) for t in self.tasks})
        if len(self.history) < 2:
            return
        before, last = self.history[-2], self.history[-1]
        ratios = [last[t] / before[t] if before[t] > 0 else 1.0 for t in self.tasks]
        scaled = [r / self.temperature for r in ratios]
        top = max(scaled)
        exps = [math.exp(s - top) for s in scaled]  # shifted: same softmax, no overflow
        total = sum(exps)
        self.weights = {
            t: len(self.tasks) * e / total for t, e in zip(self.tasks, exps, strict=True)
        }


class GradNorm(Weighting):
    """GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018).

    Learned weights w_i (starting at 1) train on L_grad = Σ_i |G_i − Ḡ · r_i^α|, where
    G_i = ‖∇_W w_i L_i‖ on the last shared layer W, Ḡ is the mean of the G_i, and
    r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0)) is task i's relative inverse training rate;
    Ḡ · r_i^α is held constant. The model trains on Σ_i w_i L_i with w held constant.
    After every step the weights are renormalised to sum to the number of tasks.
    """

    def __init__(self, tasks, fixed, *, alpha: float = 1.5, shared=None, **options):
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


class _EpochMean:
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
        self.mean = _EpochMean(tasks)

    def combine(self, losses):
        weights = torch.softmax(torch.randn(len(self.tasks), generator=self.generator), 0)
        self.mean.add(weights)
        index = {t: i for i, t in enumerate(self.tasks)}
        return sum(weights[index[t]] * loss for t, loss in losses.items())

    def current(self):
        return self.mean.value()

    def epoch_end(self, train_losses):
        self.mean.restart()


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
        self.mean = _EpochMean(tasks)

    def combine(self, losses):
        clamped = {t: loss.clamp(min=self.FLOOR) for t, loss in losses.items()}
        self.mean.add(torch.stack([1.0 / clamped[t].detach() for t in self.tasks]))
        return sum(torch.log(loss) for loss in clamped.values())

    def current(self):
        return self.mean.value()

    def epoch_end(self, train_losses):
        self.mean.restart()


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

    def __init__(self, tasks, fixed, *, lr: float = 0.025, decay: float = 0.01, **options):
        super().__init__(tasks, fixed, **options)
        # A buffer, not an nn.Parameter: ξ trains on FAMO's own update, never on the model's
        # loss. Its optimiser is made at the first update, after ``.to(device)``.
        self.register_buffer("logits", torch.zeros(len(tasks)))
        self.lr, self.decay = lr, decay
        self.optimizer: torch.optim.Adam | None = None

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
            self.optimizer = torch.optim.Adam([self.logits], lr=self.lr, weight_decay=self.decay)
        self.logits.grad = grad
        self.optimizer.step()
        self.logits.grad = None

    @torch.no_grad()
    def current(self):
        z = torch.softmax(self.logits, 0)
        return {t: float(w) for t, w in zip(self.tasks, z, strict=True)}


WEIGHTINGS: dict[str, type[Weighting]] = {
    "fixed": FixedWeighting,
    "equal": EqualWeighting,
    "uncertainty": UncertaintyWeighting,
    "dwa": DynamicWeightAverage,
    "gradnorm": GradNorm,
    "rlw": RandomLossWeighting,
    "si": ScaleInvariantWeighting,
    "famo": FAMO,
}
