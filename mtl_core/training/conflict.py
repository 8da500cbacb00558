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


def pair_metric(a: str, b: str) -> str:
    """The store's metric name of a pair's cosine (row task ``_conflict``)."""
    return f"cos:{a}|{b}"


def parse_pair(metric: str) -> tuple[str, str]:
    a, _, b = metric.removeprefix("cos:").partition("|")
    return a, b


def conflict_sentences(cosines: dict[tuple[str, str], list[float]], epochs: list[int]) -> list[str]:
    """Plain words for each pair: how often its gradients conflict over the training epochs
    (epoch 0, before any update, is not counted), graded by how often and how strongly."""
    lines = []
    for (a, b), values in cosines.items():
        trained = [(e, v) for e, v in zip(epochs, values, strict=True) if e > 0]
        if not trained:
            continue
        bad = [e for e, v in trained if v < 0]
        mean = sum(v for _, v in trained) / len(trained)
        counted = f"{len(bad)} of {len(trained)} training epochs"
        if not bad:
            lines.append(
                f"{a} and {b} never conflict: their gradients on the shared trunk "
                f"agree in every training epoch (mean cosine {mean:+.2f})."
            )
        elif mean < 0:
            lines.append(
                f"{a} and {b} conflict: negative cosine in {counted} (mean "
                f"{mean:+.2f}): a step that lowers one loss tends to raise the other."
            )
        elif len(bad) < 0.1 * len(trained):
            lines.append(
                f"{a} and {b} rarely conflict: negative cosine in {counted} "
                f"(first at epoch {bad[0]}; mean {mean:+.2f})."
            )
        else:
            lines.append(
                f"{a} and {b} often conflict: negative cosine in {counted} (first at "
                f"epoch {bad[0]}), though on average they agree (mean {mean:+.2f})."
            )
    return lines
