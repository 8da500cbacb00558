"""What a run keeps of a split spans every class: stored features and labels, the summary's
misclassified images, the data preview and the gradient-conflict probe.

mnist-5k (the default dataset) comes sorted by class and its validation split keeps that
order, so "the first N images" of it would be digits 0-4 only: every kept sample here is
checked against all ten classes, on mnist-5k with a tiny config.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from mtl_core.dashboard.pages import preview
from mtl_core.data import preview as data_preview
from mtl_core.data.splits import load_bundle
from mtl_core.data.tasks import Split
from mtl_core.store.runs import RunStore
from mtl_core.training.representation import SAMPLES, SAMPLES_ARRAY, kept_indices, spread_indices
from mtl_core.training.trainer import _Problem, probe_slice, train

DIGITS = set(range(10))
MNIST = {
    "dataset": "mnist-5k",
    "train_size": 100,
    "width": 16,
    "depth": 1,
    "epochs": 1,
    "batch_size": 25,
    "aux": ["parity"],
}


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """One tiny finished mnist-5k run in a store: (result, stored arrays by name)."""
    from tests.conftest import tiny_config

    path = tmp_path_factory.mktemp("kept") / "runs.sqlite"
    with RunStore(path) as store:
        result = train(tiny_config(**MNIST), store=store)
        arrays = {n: store.get_array(result.run_id, n) for n in store.array_names(result.run_id)}
    assert result.status == "completed", result.message
    return result, arrays


def test_the_mnist_5k_validation_split_is_sorted_by_class():
    """The trap itself: the first 500 validation images of mnist-5k are digits 0-4 only."""
    labels = load_bundle("mnist-5k").val.labels.numpy()
    assert set(labels[:SAMPLES].tolist()) == {0, 1, 2, 3, 4}


def test_spread_indices_take_the_classes_in_turn_and_are_seeded():
    classes = np.repeat(np.arange(10), [100, 100, 100, 100, 100, 100, 100, 100, 100, 3])
    chosen = spread_indices(classes, 500, np.random.default_rng(1))
    assert len(set(chosen.tolist())) == 500
    for k in (10, 37, 500):  # every prefix spreads: each class as evenly as its size allows
        counts = Counter(classes[chosen[:k]].tolist())
        assert set(counts) == DIGITS
        full = [c for d, c in counts.items() if d != 9]
        assert max(full) - min(full) <= 1
    assert Counter(classes[chosen].tolist())[9] == 3  # a small class gives all it has
    again = spread_indices(classes, 500, np.random.default_rng(1))
    assert np.array_equal(chosen, again)
    assert not np.array_equal(chosen, spread_indices(classes, 500, np.random.default_rng(2)))
    assert len(spread_indices(np.array([], dtype=np.int64), 16, np.random.default_rng(0))) == 0


def test_stored_features_and_labels_span_every_class(mnist_run):
    """The 500 kept validation images: 50 of each digit, positions stored with the run, a
    function of the data seed only; features and labels have a row per kept image."""
    result, arrays = mnist_run
    val = load_bundle("mnist-5k").val.labels.numpy()
    kept = arrays[SAMPLES_ARRAY][0].astype(np.int64)
    assert arrays[SAMPLES_ARRAY][1]["data_seed"] == 0
    assert np.array_equal(kept, kept_indices(val, data_seed=0))
    assert Counter(val[kept].tolist()) == dict.fromkeys(DIGITS, 50)
    labels, meta = arrays["labels/digit"]
    assert np.array_equal(labels, val[kept]) and meta["classes"][0] == "0"
    assert np.array_equal(arrays["labels/parity"][0], val[kept] % 2)
    for kind in ("best", "latest"):
        assert arrays[f"features/{kind}/shared"][0].shape == (SAMPLES, MNIST["width"])
    assert not np.array_equal(kept, kept_indices(val, data_seed=1))


def test_misclassified_images_spread_over_the_true_classes(mnist_run):
    """Sixteen errors, taken from every true class with errors in turn (not the first
    errors of the class-sorted split, which would be 0s and 1s)."""
    result, _ = mnist_run
    val = load_bundle("mnist-5k").val.labels.numpy()
    s = result.summary["main"]["digit"]
    confusion = np.array(s["confusion"])
    errors = confusion.sum(1) - np.diag(confusion)
    with_errors = int((errors > 0).sum())
    assert errors.sum() >= 16 and with_errors >= 8  # the precondition: enough to spread
    wrong = s["misclassified"]
    assert len(wrong) == 16 and len({i for i, _, _ in wrong}) == 16
    assert all(val[i] == true != pred for i, true, pred in wrong)
    classes = [true for _, true, _ in wrong]
    assert len(set(classes)) == min(16, with_errors)
    assert len(set(classes[:with_errors])) == with_errors  # round robin: any prefix spreads


def _sorted_bundle(bundle):
    """The bundle with its training split sorted by class: the trap the preview avoids."""
    order = torch.argsort(bundle.train.labels, stable=True)
    train = bundle.train
    sorted_train = Split(
        train.images[order], train.labels[order], {k: v[order] for k, v in train.extras.items()}
    )
    return dataclasses.replace(bundle, train=sorted_train)


def _preview_page() -> None:
    from mtl_core.config import RunConfig
    from mtl_core.dashboard.pages.preview import data_view

    data_view(RunConfig.from_dict({"dataset": "mnist-5k", "train_size": 3000, "aux": ["parity"]}))


def _shown_digits(at: AppTest) -> list[int]:
    captions = [img.caption for element in at.get("image") for img in element.proto.imgs]
    return [int(c.split(" · ")[0].removeprefix("digit: ")) for c in captions]


@pytest.mark.parametrize("sorted_train", [False, True])
def test_the_data_preview_shows_every_class(monkeypatch, sorted_train):
    """Twelve training images, every digit among them, also when the training split's first
    images are all one class."""
    bundle = load_bundle("mnist-5k")
    if sorted_train:
        bundle = _sorted_bundle(bundle)
        assert set(bundle.train.labels[:12].tolist()) == {0}  # the trap is set

    def fetch(dataset, variant, data_seed, train_size, tasks):  # the helper process's answer
        return data_preview.preview_of(bundle, train_size, list(tasks), preview.PREVIEW_COUNT)

    monkeypatch.setattr(preview, "fetch_preview", fetch)
    at = AppTest.from_function(_preview_page).run(timeout=60)
    assert not at.exception, at.exception
    shown = _shown_digits(at)
    assert len(shown) == 12 and set(shown) == DIGITS
    assert "the first of each class in turn" in at.markdown[0].value


def test_the_preview_takes_images_from_the_runs_training_pool():
    classes = np.repeat(np.arange(10), 30)  # sorted by class
    shown = data_preview.preview_indices(classes, 12, pool=300)
    assert set(classes[shown].tolist()) == DIGITS
    shown = data_preview.preview_indices(classes, 12, pool=45)  # the pool holds digits 0 and 1
    assert shown.max() < 45 and set(classes[shown].tolist()) == {0, 1}


def test_the_conflict_probe_of_every_task_spans_every_class(make_config):
    """The probe is a prefix of each task's pool; the pool is in nested (stratified) order,
    so the probe holds every digit, also for a task with a small label budget."""
    config = make_config(
        dataset="mnist-5k", train_size=600, aux=["parity", "loops"], task_sizes={"loops": 40}
    )
    bundle = load_bundle(config.dataset)
    problem = _Problem(config, bundle, torch.device("cpu"))
    labels = bundle.train.labels.numpy()
    for task in config.all_tasks:
        probe = labels[probe_slice(problem, task)]
        assert len(probe) == min(problem.pool[task], 256)
        assert set(probe.tolist()) == DIGITS, task
