"""Stratified sampling in numpy alone: the split's draws, without scikit-learn.

The split (``splits.py``) was drawn by scikit-learn's ``train_test_split(...,
stratify=labels, random_state=state)``. Importing scikit-learn took about 1.1 s of every
worker's start-up (the forkserver's preload, a cold first click's wait), for two
functions. They are written out here, draw for draw (the same ``RandomState`` calls in the
same order), so every split stays bit-identical to the one scikit-learn drew: the golden
tests pin the splits, and ``tests/test_stratify.py`` compares with scikit-learn itself.

An exported script (``mtl_core/store/script/parts_data.py``) copies these functions'
source, so a script and the library cannot drift apart.
"""

from __future__ import annotations

import numpy as np


def approximate_mode(class_counts, n_draws, rng):
    """Per-class sample counts proportional to the class sizes (scikit-learn's rule): the
    floor of each share, then one more for the largest remainders, ties broken by ``rng``."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rng.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def stratified_split(idx, labels, test_size, state):
    """Split ``idx`` into (rest, test) stratified by ``labels``, as scikit-learn's
    ``train_test_split(idx, test_size=test_size, stratify=labels, random_state=state)``
    does with a whole-number ``test_size``."""
    rng = np.random.RandomState(state)
    n_test = test_size
    n_train = len(labels) - n_test
    classes, y_indices, class_counts = np.unique(labels, return_inverse=True, return_counts=True)
    if class_counts.min() < 2 or min(n_train, n_test) < len(classes):
        raise ValueError(
            f"cannot stratify {len(labels)} samples of {len(classes)} classes (smallest"
            f" {class_counts.min()}) into {n_train} and {n_test}"
        )
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = approximate_mode(class_counts, n_train, rng)
    t_i = approximate_mode(class_counts - n_i, n_test, rng)
    train, test = [], []
    for i in range(len(classes)):
        members = class_indices[i].take(rng.permutation(class_counts[i]), mode="clip")
        train.extend(members[: n_i[i]])
        test.extend(members[n_i[i] : n_i[i] + t_i[i]])
    return idx[rng.permutation(train)], idx[rng.permutation(test)]


def nested_order(labels, rng):
    """A permutation whose every prefix is (nearly) stratified by class: a train size, or
    a task's labelled pool of n images, is the first n of the training split.

    Each class is shuffled; its i-th member gets the position (i + u) / count_c, with a
    random u in [0, 1); sorting by position interleaves the classes in proportion.
    """
    position = np.empty(len(labels))
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        rng.shuffle(members)
        position[members] = (np.arange(len(members)) + rng.random(len(members))) / len(members)
    return np.argsort(position, kind="stable")
