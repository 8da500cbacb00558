"""Gradient aggregation on the shared trunk, through torchjd (Jacobian descent).

Instead of back-propagating one weighted sum of losses, ``mtl_backward`` computes each
task's gradient on the shared parameters (one row of a Jacobian) and an aggregator
turns the rows into one update: MGDA (Désidéri 2012; Sener & Koltun 2018), PCGrad (Yu
et al. 2020), UPGrad (Quinton & Rey 2024) and CAGrad (Liu et al. 2021). Heads get their
own task's gradient as usual. Fixed weights scale the losses (the rows) first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torchjd.aggregation import MGDA, Aggregator, CAGrad, PCGrad, UPGrad
from torchjd.autojac import jac_to_grad, mtl_backward

AGGREGATORS: dict[str, Callable[[float], Aggregator]] = {
    "mgda": lambda c: MGDA(),
    "pcgrad": lambda c: PCGrad(),
    "upgrad": lambda c: UPGrad(),
    "cagrad": lambda c: CAGrad(c=c),
}


def build_aggregator(name: str, cagrad_c: float = 0.5) -> Aggregator | None:
    return None if name == "none" else AGGREGATORS[name](cagrad_c)


def aggregated_backward(
    losses: Sequence[torch.Tensor],
    features: Sequence[torch.Tensor],
    heads: Sequence[Sequence[torch.Tensor]],
    shared: Sequence[torch.Tensor],
    aggregator: Aggregator,
) -> torch.Tensor | None:
    """Fill ``.grad`` of the heads (their own task's gradient) and of the shared
    parameters (the aggregated Jacobian). Returns the weights the aggregator gave the
    rows, or None for an aggregator that is not a weighting of the rows."""
    mtl_backward(
        list(losses),
        features=list(features),
        tasks_params=[list(h) for h in heads],
        shared_params=list(shared),
    )
    return jac_to_grad(list(shared), aggregator)
