"""Seeds of a config, the key that groups replicates, and the mean ± sd band per epoch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.errors import ConfigError
from mtl_core.studies.replicates import band_key, group_runs, seed_band, seed_configs, seed_name


@pytest.mark.parametrize("k", [0, 11, -1, 2.5, True, "3"])
def test_k_outside_1_to_10_names_k(make_config, k):
    with pytest.raises(ConfigError, match=r"^k: .*from 1 to 10"):
        seed_configs(make_config(), k)


def test_only_the_seeds_vary(make_config):
    """seed = base + i always; data_seed = base + i only with vary_data; nothing else."""
    base = make_config(seed=7, data_seed=3, aux=["parity"])
    same_data = seed_configs(base, 10)
    assert [c.seed for c in same_data] == list(range(7, 17))
    assert {c.data_seed for c in same_data} == {3}
    varied = seed_configs(base, 4, vary_data=True)
    assert [(c.seed, c.data_seed) for c in varied] == [(7, 3), (8, 4), (9, 5), (10, 6)]
    assert seed_configs(base, 1) == [base]
    for config in same_data + varied:
        assert config.replace(seed=7, data_seed=3) == base
        assert band_key(config) == band_key(base)
    assert seed_name("hard", varied[1], vary_data=True) == "hard, seed 8, data seed 4"
    assert seed_name("", varied[1]) == "seed 8"


def test_band_key_groups_replicates_only(make_config):
    """Equal except for the seeds: one group; any other field: another group. A stored
    config that lacks a newer field groups with a config that has its default."""
    a = make_config(seed=1)
    stored = {
        k: v for k, v in a.replace(seed=2, data_seed=5).to_dict().items() if k != "aggregator"
    }
    configs = {1: a, 2: stored, 3: a.replace(width=8), 4: a.replace(seed=9, width=8)}
    assert band_key(stored) == band_key(a)
    assert sorted(group_runs(configs).values()) == [[1, 2], [3, 4]]


def test_seed_band_matches_numpy_on_a_hand_made_frame():
    """Mean, sd (ddof 1) and n per epoch of one (task, split, metric); other rows and an
    early-stopped run (no epoch 3) are handled."""
    values = {10: [0.9, 0.7, 0.6, 0.5], 11: [1.1, 0.8, 0.4, 0.45], 12: [1.0, 0.75, 0.55]}
    rows = []
    for run_id, curve in values.items():
        for epoch, value in enumerate(curve):
            rows.append((run_id, epoch, "digit", "val", "loss", value))
            rows.append((run_id, epoch, "digit", "train", "loss", value / 2))
            rows.append((run_id, epoch, "parity", "val", "loss", 5.0))
    frame = pd.DataFrame(rows, columns=["run_id", "epoch", "task", "split", "metric", "value"])
    band = seed_band(frame, "digit", "val", "loss")
    assert list(band["epoch"]) == [0, 1, 2, 3]
    for epoch in range(3):
        column = np.array([curve[epoch] for curve in values.values()])
        row = band[band["epoch"] == epoch].iloc[0]
        assert row["mean"] == pytest.approx(column.mean(), abs=1e-15)
        assert row["std"] == pytest.approx(column.std(ddof=1), abs=1e-15)
        assert row["n"] == 3
    last = band.iloc[3]
    assert last["n"] == 2 and last["mean"] == pytest.approx(0.475)
    assert last["std"] == pytest.approx(np.std([0.5, 0.45], ddof=1))
    one = seed_band(frame, "digit", "val", "loss", run_ids=[12])
    assert one["std"].isna().all() and list(one["n"]) == [1, 1, 1]
    assert seed_band(frame, "recon", "val", "loss").empty
