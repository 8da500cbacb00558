"""Prepared data for a run: a stratified, seeded train/validation/test split.

The training split is stored in *nested order*: its first ``n`` images are a stratified
sample of size ``n`` for every ``n``. A train size, or a task's label budget, is then a
prefix, so smaller subsets are nested in larger ones, and validation and test never
move when the train size changes: curves of different runs stay comparable.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from mtl_core.data.datasets import get_dataset, load_raw
from mtl_core.data.stratify import nested_order, stratified_split
from mtl_core.data.tasks import Split
from mtl_core.data.variants import apply_variant
from mtl_core.seeds import derive_seed, numpy_rng, torch_generator


@dataclass(frozen=True)
class Bundle:
    dataset: str
    variant: str
    family: str
    data_seed: int
    train: Split  # in nested order
    val: Split
    test: Split

    @property
    def image_shape(self) -> tuple[int, int]:
        return int(self.train.images.shape[-2]), int(self.train.images.shape[-1])

    @cached_property
    def data_hash(self) -> str:
        """SHA-256 over every prepared array: stored with each run as provenance."""
        digest = hashlib.sha256()
        for split in (self.train, self.val, self.test):
            digest.update(split.images.numpy().tobytes())
            digest.update(split.labels.numpy().tobytes())
            for key in sorted(split.extras):
                digest.update(key.encode() + split.extras[key].numpy().tobytes())
        return digest.hexdigest()


def split_indices(
    labels: np.ndarray, val_size: int, test_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stratified train / val / test indices; train comes back in nested order."""
    state = derive_seed(seed, "split") % 2**32
    idx = np.arange(len(labels))
    if test_size:
        idx, test = stratified_split(idx, labels, test_size, state)
    else:
        test = np.array([], dtype=np.int64)
    train, val = stratified_split(idx, labels[idx], val_size, state + 1)
    order = nested_order(labels[train], numpy_rng(seed, "nested-order"))
    return train[order], np.sort(val), np.sort(test)


def _make_split(
    images: np.ndarray, labels: np.ndarray, variant: str, seed: int, part: str
) -> Split:
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    y = torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))
    x, extras = apply_variant(variant, x, y, torch_generator(seed, "variant", variant, part))
    return Split(x.contiguous(), y, extras)


_cache: dict[tuple, Bundle] = {}
_lock = threading.Lock()


def load_bundle(
    dataset: str,
    variant: str = "plain",
    data_seed: int = 0,
    data_dir: str | Path | None = None,
) -> Bundle:
    """The prepared split, cached per process (tensors are shared read-only)."""
    key = (dataset, variant, int(data_seed), str(data_dir) if data_dir else None)
    with _lock:
        if key in _cache:
            return _cache[key]
        spec = get_dataset(dataset)
        raw = load_raw(dataset, data_dir)
        train, val, test = split_indices(raw.labels, spec.val_size, spec.test_size, data_seed)
        if raw.test_images is not None:
            test_x, test_y = raw.test_images, raw.test_labels
        else:
            test_x, test_y = raw.images[test], raw.labels[test]
        bundle = Bundle(
            dataset,
            variant,
            spec.family,
            int(data_seed),
            _make_split(raw.images[train], raw.labels[train], variant, data_seed, "train"),
            _make_split(raw.images[val], raw.labels[val], variant, data_seed, "val"),
            _make_split(test_x, test_y, variant, data_seed, "test"),
        )
        _cache[key] = bundle
        return bundle
