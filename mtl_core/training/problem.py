"""The data of one run on its device, and what is measured on it.

``_Problem`` holds each split's inputs and each task's targets (the training targets cut
to the task's labelled pool, with the auxiliary shuffle applied); ``evaluate`` gives the
mean loss and metric per task on a split, ``mistakes`` the validation confusion matrix
and some misclassified images, ``probe_slice`` the images the gradient-conflict rows are
measured on. Apart from the loop (``loop.py``) because these read a model and never
change it: the loop, the summary at the end and the tests all measure the same way.
"""

from __future__ import annotations

import torch

from mtl_core.config import RunConfig
from mtl_core.data.splits import Bundle
from mtl_core.data.tasks import Task, get_task
from mtl_core.models.trunks import MultiTaskNet
from mtl_core.seeds import numpy_rng, torch_generator
from mtl_core.store.schema import Row
from mtl_core.training.conflict import PROBE_SIZE
from mtl_core.training.representation import spread_indices

EVAL_CHUNK = 4096


class _Problem:
    """The data of one run on its device: inputs per split, targets per task and split."""

    def __init__(self, config: RunConfig, bundle: Bundle, device: torch.device) -> None:
        self.tasks: dict[str, Task] = {name: get_task(name) for name in config.all_tasks}
        self.pool = {name: config.task_size(name) for name in self.tasks}
        self.splits = {"train": bundle.train, "val": bundle.val, "test": bundle.test}
        self.inputs: dict[tuple[str, bool], torch.Tensor] = {}
        self.targets: dict[tuple[str, str], torch.Tensor] = {}
        for split_name, split in self.splits.items():
            for name, task in self.tasks.items():
                key = (split_name, task.masks_input)
                if key not in self.inputs:
                    self.inputs[key] = task.prepare_input(split.images).to(device)
                target = task.make_target(split)
                if split_name == "train":
                    target = target[: self.pool[name]].clone()
                    target = _shuffle_fraction(target, config.shuffle_of(name), config, name)
                self.targets[(name, split_name)] = target.to(device)


def _shuffle_fraction(target: torch.Tensor, fraction: float, config: RunConfig, task: str):
    """Permute the targets of a random ``fraction`` of samples among themselves."""
    count = round(fraction * len(target))
    if count < 2:
        return target
    gen = torch_generator(config.data_seed, "shuffle", task)
    chosen = torch.randperm(len(target), generator=gen)[:count]
    target[chosen] = target[chosen[torch.randperm(count, generator=gen)]]
    return target


def _groups(problem: _Problem, model: MultiTaskNet) -> dict[tuple[str, bool], list[str]]:
    """Tasks that see the same input through the same trunk share one forward pass."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for name, task in problem.tasks.items():
        groups.setdefault((model.trunk_of[name], task.masks_input), []).append(name)
    return groups


@torch.inference_mode()
def evaluate(
    model: MultiTaskNet, problem: _Problem, split: str, only: list[str] | None = None
) -> list[Row]:
    """Mean loss and metric per task; on ``train``, over each task's own labelled pool."""
    model.eval()
    rows: list[Row] = []
    for (trunk_key, masked), names in _groups(problem, model).items():
        names = [n for n in names if only is None or n in only]
        if not names:
            continue
        x = problem.inputs[(split, masked)]
        size = max(problem.pool[n] for n in names) if split == "train" else len(x)
        sums = {n: [torch.zeros(()), torch.zeros(())] for n in names}
        for start in range(0, size, EVAL_CHUNK):
            chunk = x[start : min(size, start + EVAL_CHUNK)]
            feats = model.features(chunk, trunk_key)
            for n in names:
                stop = min(len(chunk), problem.targets[(n, split)].shape[0] - start)
                if stop <= 0:
                    continue
                out = model.head(n, feats)[:stop]
                target = problem.targets[(n, split)][start : start + stop]
                loss, metric = problem.tasks[n].loss_sum_and_metric_sum(out, target)
                sums[n][0] += loss.cpu()
                sums[n][1] += metric.cpu()
        for n in names:
            count = problem.targets[(n, split)].shape[0]
            task = problem.tasks[n]
            rows.append((n, split, "loss", float(sums[n][0]) / count))
            rows.append((n, split, task.metric, float(sums[n][1]) / count))
    return rows


MISCLASSIFIED = 16  # misclassified validation images kept in the summary, per task


@torch.inference_mode()
def mistakes(
    model: MultiTaskNet, problem: _Problem, task: str, seed: int, keep: int = MISCLASSIFIED
) -> dict:
    """Validation confusion matrix (rows: true class) and some misclassified images.

    The images are a seeded choice among the errors, spread over the true classes (the
    validation split may be sorted by class: its first errors would be 0s and 1s only),
    listed round robin over those classes, so any prefix of the list spreads too.
    """
    model.eval()
    x = problem.inputs[("val", problem.tasks[task].masks_input)]
    preds = torch.cat(
        [model(x[i : i + EVAL_CHUNK], task).argmax(1).cpu() for i in range(0, len(x), EVAL_CHUNK)]
    )
    true = problem.targets[(task, "val")].cpu()
    k = len(problem.tasks[task].class_names)
    confusion = torch.bincount(true * k + preds, minlength=k * k).reshape(k, k)
    errors = torch.nonzero(preds != true).flatten().numpy()
    chosen = spread_indices(true.numpy()[errors], keep, numpy_rng(seed, "misclassified", task))
    wrong = errors[chosen]
    return {
        "confusion": confusion.tolist(),
        "misclassified": [[int(i), int(true[i]), int(preds[i])] for i in wrong],
    }


def probe_slice(problem: _Problem, task: str) -> slice:
    """The gradient-conflict probe of a task: the first ``PROBE_SIZE`` images of its pool.

    A prefix, yet spread over every class: the training split is stored in nested order,
    whose every prefix is stratified (see ``data.py``). Keeping it a prefix keeps the
    stored cosines of earlier runs comparable.
    """
    return slice(0, min(problem.pool[task], PROBE_SIZE))
