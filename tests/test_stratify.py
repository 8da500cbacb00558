"""The split's numpy draws (mtl_core/data/stratify.py) are scikit-learn's, draw for draw:
the same indices as ``train_test_split(..., stratify=...)`` for balanced, skewed and tied
class counts, so removing scikit-learn from the worker moved no split (the golden tests
pin the library's splits too)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from mtl_core.data.stratify import stratified_split

LABELS = {
    "balanced": np.repeat(np.arange(10), 50),
    "skewed": np.repeat(np.arange(4), [300, 90, 7, 3]),
    "ties": np.repeat(np.arange(7), 30),  # equal remainders: the tie-break draws
    "shuffled": np.random.default_rng(5).integers(0, 6, 421),
}


@pytest.mark.parametrize("name", sorted(LABELS))
@pytest.mark.parametrize("test_size", [11, 60, 137])
@pytest.mark.parametrize("state", [0, 12345, 2**32 - 1])
def test_the_split_draws_what_scikit_learn_draws(name, test_size, state):
    labels = LABELS[name]
    idx = np.arange(len(labels)) * 3 + 1  # not 0..n-1: the result indexes idx
    want_rest, want_test = train_test_split(
        idx, test_size=test_size, stratify=labels, random_state=state
    )
    got_rest, got_test = stratified_split(idx, labels, test_size, state)
    np.testing.assert_array_equal(got_rest, want_rest)
    np.testing.assert_array_equal(got_test, want_test)


def test_a_split_that_cannot_be_stratified_says_why():
    with pytest.raises(ValueError, match="cannot stratify 5 samples of 2 classes"):
        stratified_split(np.arange(5), np.array([0, 0, 0, 0, 1]), 2, 0)
