"""Sharing modes: which trunk each task uses, and the soft-sharing penalties.

- ``single``: one trunk per task, no coupling: the single-task baseline.
- ``hard``: one shared trunk, one head per task.
- ``soft``: one trunk per task, coupled by a penalty on corresponding trunk weights:
  ``l2`` (Duong et al. 2015) pulls the trunks towards equality; ``trace`` (after Yang &
  Hospedales 2017) is the nuclear norm of each layer's matrix of task weights, which
  pushes the trunks towards a shared low-rank structure rather than towards equality.
- ``cross-stitch``: one trunk (column) per task, whose activations are mixed after
  each block by learned weights (Misra et al. 2016): see ``stitch.py``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from mtl_core.models.trunks import SHARED_KEY, MultiTaskNet


@dataclass(frozen=True)
class SharingMode:
    name: str
    per_task_trunks: bool
    penalised: bool
    help: str

    def trunk_of(self, tasks: tuple[str, ...]) -> dict[str, str]:
        return {t: (t if self.per_task_trunks else SHARED_KEY) for t in tasks}


SHARING = {
    "single": SharingMode("single", True, False, "one independent network per task"),
    "hard": SharingMode("hard", False, False, "one shared trunk, one head per task"),
    "soft": SharingMode("soft", True, True, "one trunk per task, tied by a penalty"),
    "cross-stitch": SharingMode(
        "cross-stitch", True, False, "one trunk per task, mixed by learned cross-stitch units"
    ),
}


def _stacked(model: MultiTaskNet) -> list[torch.Tensor]:
    """For each trunk parameter, a (tasks, weights) matrix of its flattened copies (the
    task trunks, or a branched model's branches: ``MultiTaskNet.task_trunks``)."""
    trunks = model.task_trunks() or list(model.trunks.values())
    per_trunk = [list(t.parameters()) for t in trunks]
    return [torch.stack([p.reshape(-1) for p in group]) for group in zip(*per_trunk, strict=True)]


def l2_penalty(model: MultiTaskNet) -> torch.Tensor:
    """Σ over task pairs of ‖w_i − w_j‖², divided by the number of weights in one trunk."""
    mats = _stacked(model)
    n_weights = sum(m.shape[1] for m in mats)
    total = mats[0].new_zeros(())
    for m in mats:
        for i, j in itertools.combinations(range(m.shape[0]), 2):
            total = total + (m[i] - m[j]).pow(2).sum()
    return total / n_weights


def trace_penalty(model: MultiTaskNet) -> torch.Tensor:
    """Σ over layers of the nuclear norm of [w_1 … w_T] / √(weights in the layer).

    Dividing by √n keeps λ's meaning when the width changes (the norm grows like √n).
    """
    total = None
    for m in _stacked(model):
        term = torch.linalg.matrix_norm(m.T, ord="nuc") / m.shape[1] ** 0.5
        total = term if total is None else total + term
    return total


PENALTIES = {"l2": l2_penalty, "trace": trace_penalty}


@torch.no_grad()
def mean_trunk_distance(model: MultiTaskNet) -> float:
    """Mean Euclidean distance between task trunks over all pairs (0 with one trunk)."""
    mats = _stacked(model)
    n_trunks = mats[0].shape[0]
    pairs = list(itertools.combinations(range(n_trunks), 2))
    if not pairs:
        return 0.0
    dists = [sum((m[i] - m[j]).pow(2).sum() for m in mats).sqrt() for i, j in pairs]
    return float(torch.stack(dists).mean())
