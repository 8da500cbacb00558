"""Gradient conflict: how the tasks' gradients on the shared parameters point.

The cosine of two tasks' gradients is positive when a step for one also helps the
other, negative when the tasks pull the shared trunk in opposite directions (they
"conflict", Yu et al. 2020). Measured each epoch on a fixed probe of training images in
eval mode, so recording it changes no random stream and no weight.
"""

from __future__ import annotations

import itertools

import torch

PROBE_SIZE = 256  # training images per task in the probe


def task_gradients(
    losses: dict[str, torch.Tensor], shared: list[torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Each task's gradient on ``shared``, flattened into one vector."""
    grads = {}
    for task, loss in losses.items():
        parts = torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
        grads[task] = torch.cat(
            [
                (g if g is not None else torch.zeros_like(p)).reshape(-1)
                for g, p in zip(parts, shared, strict=True)
            ]
        )
    return grads


def pairwise_cosines(grads: dict[str, torch.Tensor]) -> dict[tuple[str, str], float]:
    """cos(g_a, g_b) for every pair of tasks, in the tasks' order; 0 if a gradient is 0."""
    out = {}
    for a, b in itertools.combinations(grads, 2):
        denom = grads[a].norm() * grads[b].norm()
        out[(a, b)] = float(grads[a] @ grads[b] / denom) if denom > 0 else 0.0
    return out
