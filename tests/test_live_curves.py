"""The Live panel reads its curves through ``Curves`` (mtl_core/dashboard/pages/live.py),
numpy cuts of one frame instead of a pandas filter per curve: each cut must be the curve
the filter gave (the same values, in epoch order, indexed by epoch, with the same types),
whatever order the frame's rows come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.dashboard.pages.live import Curves
from mtl_core.store.schema import metric_frame

KEYS = [
    ("digit", "val", "loss"),
    ("digit", "train", "accuracy"),
    ("parity", "val", "loss"),
    ("_run", "train", "wall_time"),
    ("absent", "val", "loss"),
]


def _frame(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (1, epoch, task, split, metric, float(rng.random()))
        for epoch in range(40)
        for task in ("digit", "parity")
        for split in ("train", "val")
        for metric in ("loss", "accuracy")
    ] + [(1, epoch, "_run", "train", "wall_time", 0.05 + epoch) for epoch in range(1, 40)]
    order = rng.permutation(len(rows))  # rows arrive in any order (incremental reads)
    return metric_frame([rows[i] for i in order])


def _filtered(frame: pd.DataFrame, task: str, split: str, metric: str) -> pd.Series:
    """The pandas filter the panel used before."""
    sel = frame[(frame.task == task) & (frame.split == split) & (frame.metric == metric)]
    return sel.sort_values("epoch").set_index("epoch").value


@pytest.mark.parametrize("seed", [0, 1])
def test_each_curve_is_the_one_the_pandas_filter_gave(seed):
    frame = _frame(seed)
    curves = Curves(frame)
    for key in KEYS:
        pd.testing.assert_series_equal(curves(*key), _filtered(frame, *key))
        assert list(curves(*key).index) == sorted(curves(*key).index)


def test_an_empty_frame_gives_empty_curves():
    empty = metric_frame([])
    pd.testing.assert_series_equal(Curves(empty)(*KEYS[0]), _filtered(empty, *KEYS[0]))
