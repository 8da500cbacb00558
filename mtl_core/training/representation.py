"""The shared representation: trunk outputs on validation images (mapped in 2-D by
mtl_core/analysis/projection.py).

The trainer stores, for the best and the latest epoch, each trunk's features on
``SAMPLES`` validation images (and those images' labels), so the dashboard and the CLI
can draw a PCA map, or a t-SNE map on request, without keeping checkpoints.

Which images: not the first ``SAMPLES`` of the split, which is in source order (mnist-5k
comes sorted by class, so its first 500 validation images are digits 0-4 only), but a
seeded choice spread over every class (``spread_indices``), a function of the data seed
only, so runs on the same split keep the same images. Their positions in the validation
split are stored with the run as the array ``samples/val``.
"""

from __future__ import annotations

import numpy as np
import torch

from mtl_core.seeds import numpy_rng

SAMPLES = 500
# Positions in the validation split of the kept images (float32 in the store, like every
# array: exact for splits below 2**24 images).
SAMPLES_ARRAY = "samples/val"


def spread_indices(classes: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``count`` positions of ``classes``, spread over every class (round robin).

    Each class's members are shuffled and the classes take turns, one member each per
    round (in a fresh random order every round), so any prefix of the result holds every
    class as evenly as their sizes allow: with ``count`` at least the number of classes,
    each class is in it.
    """
    classes = np.asarray(classes)
    turn = np.empty(len(classes), dtype=np.int64)  # the round in which a member is taken
    for value in np.unique(classes):
        members = np.flatnonzero(classes == value)
        rng.shuffle(members)
        turn[members] = np.arange(len(members))
    seat = rng.random(len(classes))  # the order of the classes within a round
    return np.lexsort((seat, turn))[:count]


def kept_indices(classes: np.ndarray, data_seed: int, count: int = SAMPLES) -> np.ndarray:
    """The validation images whose features a run stores: ``count`` spread over classes."""
    return spread_indices(classes, count, numpy_rng(data_seed, "kept", "val"))


@torch.inference_mode()
def trunk_features(model, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Features of ``x`` from every trunk (or cross-stitch column), keyed by trunk name."""
    model.eval()
    out: dict[str, np.ndarray] = {}
    for key in model.trunk_keys():
        out.update({name: f.cpu().numpy() for name, f in model.named_features(x, key).items()})
    return out
