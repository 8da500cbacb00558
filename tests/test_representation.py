"""The stored shared representation: trunk features at the best and latest epoch, and maps."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_core.representation import project
from mtl_core.store import RunStore
from mtl_core.summary import best_epoch
from mtl_core.trainer import train


@pytest.mark.parametrize("sharing", ["hard", "single"])
def test_runs_store_features_of_every_trunk_and_the_labels(make_config, tmp_path, sharing):
    config = make_config(aux=["parity"], sharing=sharing, epochs=4)
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
        names = store.array_names(result.run_id)
        trunks = ["shared"] if sharing == "hard" else ["digit", "parity"]
        for kind in ("best", "latest"):
            for trunk in trunks:
                feats, meta = store.get_array(result.run_id, f"features/{kind}/{trunk}")
                assert feats.shape == (len(feats), config.width) and 0 < len(feats) <= 500
                assert meta["kind"] == kind and meta["trunk"] == trunk
        labels, meta = store.get_array(result.run_id, "labels/digit")
        assert labels.shape == (len(feats),) and set(np.unique(labels)) <= set(range(10))
        assert meta["classes"][:2] == ["0", "1"]
        assert {"labels/digit", "labels/parity"} <= set(names)
        val_losses = result.curve("digit", "val", "loss")
        _, best_meta = store.get_array(result.run_id, f"features/best/{trunks[0]}")
        _, latest_meta = store.get_array(result.run_id, f"features/latest/{trunks[0]}")
        assert best_meta["epoch"] == best_epoch(val_losses) and latest_meta["epoch"] == 4


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
