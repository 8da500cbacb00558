"""Optimisers: the torch optimiser each declared name builds, keyed like the catalog.

Why a registry: the trainer builds ``OPTIMIZERS[config.optimizer](groups, lr, **params)``
with the hyperparameters the optimiser declares in ``methods/catalog.py`` (each
``Param.arg``: SGD's momentum), so a new optimiser is a declaration there and one entry
here, and nothing in the trainer names it. A test checks that the names agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

# name -> builder(parameter groups, lr, **declared hyperparameters) -> torch optimiser
OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "adam": lambda groups, lr: torch.optim.Adam(groups, lr=lr),
    "sgd": lambda groups, lr, momentum: torch.optim.SGD(groups, lr=lr, momentum=momentum),
}


def build_optimizer(
    name: str, groups: list[dict[str, Any]], lr: float, **params: float
) -> torch.optim.Optimizer:
    """The optimiser ``name`` over ``groups``, with its declared hyperparameters."""
    return OPTIMIZERS[name](groups, lr, **params)
