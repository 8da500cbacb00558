"""The stored shared representation: trunk features at the best and latest epoch, and maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_core.analysis.projection import project
from mtl_core.analysis.summary import best_epoch
from mtl_core.data.splits import load_bundle
from mtl_core.store.runs import RunStore
from mtl_core.training.control import RunControl
from mtl_core.training.representation import SAMPLES_ARRAY, trunk_features
from mtl_core.training.trainer import _Loop, train

# A config whose digit validation loss bottoms out well before its last epoch (30 images,
# a wide net), so the best and the latest features come from different weights.
OVERFITS = {
    "train_size": 30,
    "batch_size": 10,
    "lr": 0.01,
    "width": 128,
    "depth": 2,
    "epochs": 15,
    "seed": 1,
}


def final_features(config, kept: np.ndarray) -> dict[str, np.ndarray]:
    """Trunk features on the kept validation images of a fresh run of ``config`` at its end:
    trained without a store, the loop keeps its last weights."""
    bundle = load_bundle(config.dataset, config.variant, config.data_seed)
    loop = _Loop(config, bundle, torch.device("cpu"), None, None, None, RunControl())
    loop.run()
    return trunk_features(loop.model, loop.problem.inputs[("val", False)][torch.from_numpy(kept)])


@pytest.mark.parametrize("sharing", ["hard", "single"])
def test_runs_store_features_of_every_trunk_and_the_labels(make_config, tmp_path, sharing):
    """Best and latest features come from the weights of those epochs (recomputed by runs
    that end there), differ from each other, and line up with the stored labels."""
    config = make_config(aux=["parity"], sharing=sharing, **OVERFITS)
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
        run_id = result.run_id
        best, last = result.summary["main"]["digit"]["best_epoch"], config.epochs
        assert best < last  # the precondition: best and last are different epochs
        assert best == best_epoch(result.curve("digit", "val", "loss"))
        names = store.array_names(run_id)
        kept = store.get_array(run_id, SAMPLES_ARRAY)[0].astype(np.int64)
        stored = {
            (kind, trunk): store.get_array(run_id, f"features/{kind}/{trunk}")
            for kind in ("best", "latest")
            for trunk in ("shared", "digit", "parity")
            if f"features/{kind}/{trunk}" in names
        }
        labels = {t: store.get_array(run_id, f"labels/{t}") for t in ("digit", "parity")}
    trunks = ["shared"] if sharing == "hard" else ["digit", "parity"]
    assert sorted(stored) == sorted((k, t) for k in ("best", "latest") for t in trunks)
    expected = {
        "best": final_features(
            make_config(aux=["parity"], sharing=sharing, **{**OVERFITS, "epochs": best}), kept
        ),
        "latest": final_features(config, kept),
    }
    val = load_bundle(config.dataset).val
    count = min(500, len(val))  # digits has 360 validation images: all are kept
    assert len(kept) == count and len(set(kept.tolist())) == count
    for (kind, trunk), (feats, meta) in stored.items():
        assert feats.shape == (count, config.width)
        assert meta == {
            "epoch": best if kind == "best" else last,
            "kind": kind,
            "trunk": trunk,
            "samples": SAMPLES_ARRAY,
        }
        np.testing.assert_allclose(feats, expected[kind][trunk], rtol=1e-5, atol=1e-6)
    for trunk in trunks:
        gap = np.abs(stored[("best", trunk)][0] - stored[("latest", trunk)][0]).max()
        assert gap > 1e-2  # different weights, different features
    digit, meta = labels["digit"]
    assert np.array_equal(digit, val.labels.numpy()[kept]) and meta["classes"][:2] == ["0", "1"]
    assert np.array_equal(labels["parity"][0], val.labels.numpy()[kept] % 2)
    assert labels["parity"][1]["classes"] == ["even", "odd"]


def test_deleting_a_run_deletes_its_arrays(make_config, tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = train(make_config(epochs=1), store=store).run_id
        assert store.array_names(run_id)
        store.delete([run_id])
        assert store.array_names(run_id) == []


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_projections_are_two_dimensional_and_seeded(method):
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(60, 8)).astype(np.float32)
    a = project(feats, method, seed=1)
    assert a.shape == (60, 2)
    assert np.array_equal(a, project(feats, method, seed=1))


def test_pca_keeps_the_direction_of_largest_variance():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(200, 5)) * [10, 1, 1, 1, 1]
    coords = project(feats, "pca")
    assert np.var(coords[:, 0]) > 10 * np.var(coords[:, 1])
