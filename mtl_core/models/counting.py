"""A config's parameter count, by arithmetic: the sidebar shows it without importing torch.

The same number as ``MultiTaskNet.param_count()`` of the model the trainer builds (the
run's provenance stores that one as ``param_count``); ``tests/test_counting.py`` checks
the two agree for every backbone and sharing mode, with and without sharing depth.
No torch here, and nothing from ``models/`` that imports it; ``mtl_core.config`` takes
``trunk_layers`` from here (the models layer sits below the config).
"""

from __future__ import annotations

from typing import Any

from mtl_core.data.tasks import get_task

CONV_CHANNELS = (10, 20)  # the cnn's two conv blocks (trunks.cnn_trunk), 5×5 kernels
KERNEL = 5 * 5
SMALL_IMAGES = {"digits": (8, 8)}  # every other dataset has 28×28 images


def trunk_layers(backbone: str, depth: int) -> int:
    """The layers of a trunk that ``shared_layers`` counts: the dense layers, and the cnn's
    two convolution blocks (the blocks of ``trunks.block_bounds``; tests/test_branching.py
    checks that the two agree)."""
    return depth + (len(CONV_CHANNELS) if backbone == "cnn" else 0)


def image_shape(dataset: str) -> tuple[int, int]:
    """The dataset's image shape (every variant keeps it), known without loading it."""
    return SMALL_IMAGES.get(dataset, (28, 28))


def layer_params(
    backbone: str, shape: tuple[int, int], width: int, depth: int, pieces: int
) -> list[int]:
    """The parameters of each layer of one trunk, in the order ``shared_layers`` counts."""
    height, wide = shape
    out: list[int] = []
    size = height * wide
    if backbone == "cnn":
        channels = 1
        for c in CONV_CHANNELS:
            out.append(channels * c * KERNEL + c)
            channels = c
        size = CONV_CHANNELS[-1] * (height // 4) * (wide // 4)
    units = width * (pieces if backbone == "maxout" else 1)
    for _ in range(depth):
        out.append(size * units + units)
        size = width
    return out


def param_count(config: Any) -> int:
    """The trainable parameters of the model a ``RunConfig`` trains (without a weighting's)."""
    shape = image_shape(config.dataset)
    layers = layer_params(config.backbone, shape, config.width, config.depth, config.pieces)
    assert len(layers) == trunk_layers(config.backbone, config.depth)
    tasks = len(config.all_tasks)
    heads = sum((config.width + 1) * get_task(t).out_dim(*shape) for t in config.all_tasks)
    trunk = sum(layers)
    if config.sharing == "hard":
        k = len(layers) if config.shared_layers < 0 else config.shared_layers
        return sum(layers[:k]) + tasks * sum(layers[k:]) + heads
    if config.sharing == "cross-stitch":
        return tasks * trunk + len(layers) * tasks * tasks + heads
    return tasks * trunk + heads
