"""Optimisers: Adam and SGD as torch computes them, and the builder of each declared name.

Why not ``torch.optim``: its first ``step``, ``zero_grad`` or ``add_param_group`` in a
process imports ``torch._dynamo``, about 1 s of CPU here, so every worker had to have it
imported before a newcomer's first run could start: the workers' forkserver preloaded
it, and a fresh server's first click waited for that preload. These classes are torch's
own CPU rules (torch/optim/adam.py ``_single_tensor_adam`` and sgd.py
``_single_tensor_sgd`` in torch 2.13) for the settings the project uses (no amsgrad,
maximize, foreach or fused kernels), operation for operation and with the
same state, so a run trains bit for bit as with ``torch.optim``
(tests/test_optimizers.py steps both side by side), and the exported script, written
with ``torch.optim``, reproduces the stored curves.

Why a registry: the trainer builds ``OPTIMIZERS[config.optimizer](groups, lr, **params)``
with the hyperparameters the optimiser declares in ``methods/catalog.py`` (each
``Param.arg``: SGD's momentum), so a new optimiser is a declaration there and one entry
here, and nothing in the trainer names it. A test checks that the names agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch


class Optimizer:
    """What the project uses of a torch optimiser: ``param_groups`` (each a dict of its
    parameters and settings, the defaults filled in), ``state`` per parameter,
    ``zero_grad`` and ``step``. A subclass gives its ``defaults`` and ``update``."""

    defaults: dict[str, Any] = {}

    def __init__(self, params: Iterable, **settings: Any) -> None:
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        base = {**self.defaults, **settings}
        self.param_groups = [{**base, **g, "params": list(g["params"])} for g in groups]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:  # torch's: detach, then zero in place
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One step of every parameter with a gradient (one without keeps no state)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad, group, self.state.setdefault(p, {}))

    @torch.no_grad()
    def lookahead(
        self, params: list[torch.Tensor], grads: list[torch.Tensor]
    ) -> list[torch.Tensor]:
        """Where the next step would move ``params`` were ``grads`` their gradients: the
        step's own rule, on copies of the parameters and of their state (both are left
        as they are). Inter-task affinity measures losses there (training/affinity.py)."""
        group_of = {id(p): g for g in self.param_groups for p in g["params"]}
        moved = []
        for p, grad in zip(params, grads, strict=True):
            state = {
                k: v.clone() if isinstance(v, torch.Tensor) else v
                for k, v in self.state.get(p, {}).items()
            }
            moved.append(p.detach().clone())
            self.update(moved[-1], grad, group_of[id(p)], state)
        return moved

    def update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        """Move ``p`` one step by ``grad`` in place, updating its ``state``."""
        raise NotImplementedError


class Adam(Optimizer):
    """``torch.optim.Adam`` with its defaults (L2 ``weight_decay`` added to the gradient)."""

    defaults = {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}

    def update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        if not state:  # torch's lazy state: a float step counter on the CPU, zero moments
            wide = torch.get_default_dtype() == torch.float64
            state["step"] = torch.tensor(0.0, dtype=torch.float64 if wide else torch.float32)
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        if weight_decay != 0:
            grad = grad.add(p, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = state["step"].item()
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
        p.addcdiv_(exp_avg, denom, value=-step_size)


class SGD(Optimizer):
    """``torch.optim.SGD`` with heavy-ball ``momentum`` (no dampening, not Nesterov)."""

    defaults = {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "nesterov": False,
        "weight_decay": 0.0,
    }

    def update(self, p: torch.Tensor, grad: torch.Tensor, group: dict, state: dict) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            grad = grad.add(p, alpha=weight_decay)
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.detach().clone()
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
            grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
        p.add_(grad, alpha=-group["lr"])


# name -> builder(parameter groups, lr, **declared hyperparameters) -> optimiser
OPTIMIZERS: dict[str, Callable[..., Optimizer]] = {
    "adam": lambda groups, lr: Adam(groups, lr=lr),
    "sgd": lambda groups, lr, momentum: SGD(groups, lr=lr, momentum=momentum),
}


def build_optimizer(
    name: str, groups: list[dict[str, Any]], lr: float, **params: float
) -> Optimizer:
    """The optimiser ``name`` over ``groups``, with its declared hyperparameters."""
    return OPTIMIZERS[name](groups, lr, **params)
