"""What the page shows of the data, as plain numpy arrays and strings.

The dashboard's server process keeps torch and scikit-learn out (they would cost it
hundreds of MB and seconds per start), so it asks a worker process for these
(``mtl_core.execution.offload``): the preview's images with every task's label, and the
validation images a run got wrong. Arrays cross the process boundary; tensors do not.

The preview takes the earliest training images of each class in turn
(``preview_indices``), so every class shows even when the first images of the split happen
to repeat a class.
"""

from __future__ import annotations

import numpy as np

from mtl_core.data.tasks import Split, class_names_for, get_task


def preview_indices(classes: np.ndarray, count: int, pool: int) -> np.ndarray:
    """``count`` positions among the first ``pool`` training images, classes taking turns.

    Each class offers its members in training order (a seeded, stratified order: see
    ``mtl_core.data.splits``), so the preview shows images the run trains on, every class
    among them whenever ``count`` is at least the number of classes in the pool.
    """
    classes = np.asarray(classes)[:pool]
    rank = np.zeros(len(classes), dtype=np.int64)  # how many of its class come before
    for value in np.unique(classes):
        members = np.flatnonzero(classes == value)
        rank[members] = np.arange(len(members))
    return np.lexsort((np.arange(len(classes)), rank))[:count]


def _label(task_name: str, split: Split, index: int, family: str) -> str:
    task = get_task(task_name)
    one = Split(
        split.images[index : index + 1],
        split.labels[index : index + 1],
        {k: v[index : index + 1] for k, v in split.extras.items()},
    )
    target = task.make_target(one)[0]
    if task.is_classification:
        return f"{task_name}: {class_names_for(task, family)[int(target)]}"
    if task_name == "angle":
        return f"angle: {float(target) * 45:+.0f}°"
    if task_name == "bbox":
        return f"bbox: {float(target[0]):.2f}×{float(target[1]):.2f}"
    return f"{task_name}: {target.numel()} pixels"


def training_preview(
    dataset: str, variant: str, data_seed: int, train_size: int, tasks: list[str], count: int
) -> dict:
    """The preview of a setup: images (k, H, W), one caption each, the family, the sizes."""
    from mtl_core.data.splits import load_bundle

    return preview_of(load_bundle(dataset, variant, data_seed), train_size, tasks, count)


def preview_of(bundle, train_size: int, tasks: list[str], count: int) -> dict:
    """``training_preview`` of a prepared ``mtl_core.data.splits.Bundle``."""
    split = bundle.train
    shown = preview_indices(split.labels.numpy(), count, train_size)
    return {
        "images": split.images[shown, 0].numpy().copy(),
        "captions": [
            " · ".join(_label(t, split, int(i), bundle.family) for t in tasks) for i in shown
        ],
        "family": bundle.family,
        "sizes": (len(bundle.train), len(bundle.val), len(bundle.test)),
    }


def validation_images(dataset: str, variant: str, data_seed: int, indices: list[int]) -> dict:
    """Validation images by position (a run's misclassified ones) and the data's family."""
    from mtl_core.data.splits import load_bundle

    bundle = load_bundle(dataset, variant, data_seed)
    return {
        "images": bundle.val.images[list(indices), 0].numpy().copy(),
        "family": bundle.family,
    }
