"""``insights`` and ``embed``: a stored run's Insights numbers from the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_core.cli.main import main
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train


@pytest.fixture
def store_with_runs(make_config, tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        hard = train(make_config(aux=["parity", "loops"], epochs=3), store=store)
        stitch = train(make_config(aux=["parity"], sharing="cross-stitch", epochs=2), store=store)
    return str(path), hard, stitch


def test_insights_prints_conflict_sentences_cosines_and_weights(store_with_runs, capsys):
    path, hard, _ = store_with_runs
    assert main(["insights", str(hard.run_id), "--store", path]) == 0
    out = capsys.readouterr().out
    assert out.count("digit and parity ") == 1 and "parity and loops " in out
    cosine = hard.value(3, "_conflict", "train", "cos:digit|parity")
    assert f"{cosine:.3f}" in out
    assert "task weights:" in out and "cross-stitch" not in out


def test_insights_of_a_cross_stitch_run_shows_its_mixing_weights(store_with_runs, capsys):
    path, _, stitch = store_with_runs
    assert main(["insights", str(stitch.run_id), "--store", path]) == 0
    out = capsys.readouterr().out
    assert "not measured: conflict is measured on a shared trunk" in out
    assert "alpha:1:digit:parity" in out and "trunk distance:" in out


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_embed_writes_a_2d_map_with_every_tasks_labels(store_with_runs, tmp_path, capsys, method):
    path, hard, _ = store_with_runs
    out = tmp_path / "map.csv"
    assert (
        main(["embed", str(hard.run_id), "--store", path, "--method", method, "--out", str(out)])
        == 0
    )
    frame = pd.read_csv(out)
    with RunStore(path) as store:
        features, _ = store.get_array(hard.run_id, "features/best/shared")
    assert list(frame.columns) == ["x", "y", "digit", "parity", "loops"]
    assert len(frame) == len(features)
    assert set(frame["parity"]) <= {"even", "odd"}


def test_embed_refuses_bad_input_in_one_line(store_with_runs, capsys):
    path, _, stitch = store_with_runs
    assert main(["embed", str(stitch.run_id), "--store", path, "--trunk", "shared"]) == 2
    assert (
        capsys.readouterr().err == f"error: trunk: run {stitch.run_id} has trunks digit, parity\n"
    )
    assert main(["embed", str(stitch.run_id), "--store", path, "--method", "umap"]) == 2
    assert capsys.readouterr().err.startswith("error: method: use pca or tsne")
