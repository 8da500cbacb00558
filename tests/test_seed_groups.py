"""Seeds in the dashboard: K runs from Train, seed bands and paired sentences in Compare,
the single-task and tuned-baseline follow-ups, and the learning curve.

Finished tiny runs are trained once into a module store; tests that start runs use a
fresh store each, with the run manager's dispatch switched off (the runs stay queued:
what is tested is which runs the page asks for, not training in worker processes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.style import CUT_NOTE
from mtl_core.dashboard.groups import band_frames, paired_comparison, seed_groups
from mtl_core.dashboard.pages.studies import grid_configs
from mtl_core.dashboard.urlstate import config_to_params
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.comparison import compare_arms
from mtl_core.studies.replicates import seed_band, seed_configs
from mtl_core.studies.tuned_baseline import (
    DEFAULT_GRID,
    best_val_metric,
    grid_cells,
    select_cell,
    validation_table,
)
from mtl_core.training.trainer import train
from tests.helpers.apptest import array, figures, open_app, queue_only, texts, use_store

MULTI = RunConfig.from_dict(
    {
        "dataset": "digits",
        "train_size": 100,
        "width": 16,
        "depth": 1,
        "epochs": 3,
        "batch_size": 16,
        "aux": ["parity", "magnitude"],
    }
)
SINGLE = single_task_baselines(MULTI)[0]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Two seeds (data seed varied) of MULTI and SINGLE at 100 and 200 images, and the
    tuned baseline's grid for the 100-image seeds: (path, {name: run ids}, results)."""
    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, tmp_path_factory.mktemp("seeds"))
        ids: dict[str, list[int]] = {}
        results = {}
        with RunStore(path) as store:

            def run(config: RunConfig, name: str) -> int:
                result = train(config, store=store, name=name)
                assert result.status == "completed", result.message
                results[result.run_id] = result
                return result.run_id

            for size in (100, 200):
                for label, config in (("multi", MULTI), ("single", SINGLE)):
                    ids[f"{label}{size}"] = [
                        run(c, f"{label} {size}, seed {c.seed}, data seed {c.data_seed}")
                        for c in seed_configs(config.replace(train_size=size), 2, vary_data=True)
                    ]
            configs = seed_configs(MULTI, 2, vary_data=True)
            ids["grid"] = []
            for cell, row in zip(grid_cells(DEFAULT_GRID), grid_configs(configs), strict=True):
                if cell == {"weight_decay": 0.0, "dropout": 0.0}:  # the plain baseline: stored
                    ids["grid"] += ids["single100"]
                    continue
                ids["grid"] += [run(c, f"grid {cell}, seed {c.seed}") for c in row]
        yield path, ids, results
        st.cache_resource.clear()


@pytest.fixture
def fresh(tmp_path):
    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, tmp_path)
        yield path
        st.cache_resource.clear()


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    queue_only(monkeypatch)


def show(at: AppTest, view: str) -> AppTest:
    at.button_group(key=picker_key(at.session_state)).set_value(view).run()
    assert not at.exception, at.exception
    return at


def all_runs(path: Path):
    with RunStore(path) as store:
        return store.runs()


# -- pure helpers --------------------------------------------------------------------------


def test_groups_band_and_pairing_agree_with_the_core(stored):
    path, ids, results = stored
    runs = all_runs(path)
    groups = seed_groups(runs[runs.id.isin(ids["multi100"] + ids["single100"])])
    assert sorted(map(sorted, groups)) == sorted([ids["multi100"], ids["single100"]])
    with RunStore(path) as store:
        metrics = store.metrics(ids["multi100"])
    mean, stats = band_frames(metrics, ids["multi100"], live=False)
    band = seed_band(metrics, "digit", "val", "loss")
    pick = stats[(stats.task == "digit") & (stats.split == "val") & (stats.metric == "loss")]
    np.testing.assert_allclose(pick.sort_values("epoch").value, band["mean"])
    np.testing.assert_allclose(pick.sort_values("epoch").sd, band["std"])
    assert set(mean.run_id) == {ids["multi100"][0]}
    sentence = paired_comparison(runs, ids["single100"], ids["multi100"]).sentence()
    configs = runs.set_index("id").config
    expected = compare_arms(
        [(RunConfig.from_dict(configs[i]), results[i].summary) for i in ids["multi100"]],
        [(RunConfig.from_dict(configs[i]), results[i].summary) for i in ids["single100"]],
        label_a="hard sharing with parity, magnitude",
        label_b="single task",
    ).sentence()
    assert sentence == expected  # the multi-task group goes first, whatever the order given
    assert sentence.startswith("With 100 training images, hard sharing with parity, magnitude")


# -- Train with K seeds -------------------------------------------------------------------


def test_train_with_k_seeds_starts_k_runs_and_opens_the_band(fresh):
    at = open_app(config_to_params(MULTI))
    at.sidebar.number_input(key="c_seeds").set_value(3).run()  # the data-seed box wakes up
    at.sidebar.checkbox(key="c_vary_data_seed").check().run()
    next(b for b in at.sidebar.button if b.key == "train").click().run()
    assert not at.exception, at.exception
    runs = all_runs(fresh).sort_values("id")
    assert [(c["seed"], c["data_seed"]) for c in runs.config] == [(0, 0), (1, 1), (2, 2)]
    assert all(RunConfig.from_dict(c).replace(seed=0, data_seed=0) == MULTI for c in runs.config)
    assert set(runs.status) == {"queued"}
    assert at.session_state["page_view"] == "Compare"
    assert at.session_state["compare_runs"] == list(runs.id)
    assert "compare_chart" in figures(at)  # empty until the queued runs train


def test_k_seeds_over_the_session_limit_start_nothing(fresh, monkeypatch):
    monkeypatch.setenv("MTL_MAX_RUNS_PER_SESSION", "2")
    st.cache_resource.clear()
    at = open_app()
    at.sidebar.number_input(key="c_seeds").set_value(3).run()
    next(b for b in at.sidebar.button if b.key == "train").click().run()
    assert all_runs(fresh).empty
    assert any("MTL_MAX_RUNS_PER_SESSION=2" in e.value for e in at.sidebar.error)


# -- Compare: bands, sentence, follow-ups ---------------------------------------------------


def test_compare_draws_each_seed_group_as_a_mean_with_a_band_and_says_the_difference(stored):
    path, ids, _ = stored
    chosen = ids["multi100"] + ids["single100"]
    at = show(open_app(compare_runs=chosen), "Compare")
    traces = figures(at)["compare_chart"]["data"]
    bands = [t for t in traces if t.get("fill") == "toself"]
    means = [t for t in traces if "(mean of 2 seeds)" in t["name"] and t.get("fill") is None]
    assert len(bands) == len(means) == 2 * 2  # 2 groups × train/val, one panel (digit)
    with RunStore(path) as store:
        metrics = store.metrics(ids["multi100"])
    val = metrics[(metrics.task == "digit") & (metrics.split == "val") & (metrics.metric == "loss")]
    mean = next(
        t
        for t in means
        if t["name"].startswith("multi 100") and t["name"].endswith("val") and t["xaxis"] == "x"
    )
    np.testing.assert_allclose(array(mean["y"]), val.groupby("epoch").value.mean())
    sentence = paired_comparison(all_runs(path), ids["multi100"], ids["single100"]).sentence()
    assert sentence in texts(at)
    assert CUT_NOTE in texts(at)  # the bands are cut at the metric's bounds, and it says so
    at.toggle(key="seed_bands").set_value(False).run()
    traces = figures(at)["compare_chart"]["data"]
    assert not [t for t in traces if t.get("fill") == "toself"]


def test_compare_colours_follow_the_runs_not_the_order_they_were_picked_in(stored):
    _, ids, _ = stored

    def colours(chosen: list[int]) -> dict[str, str]:
        at = show(open_app(compare_runs=chosen), "Compare")
        traces = figures(at)["compare_chart"]["data"]
        return {t["name"]: t["line"]["color"] for t in traces if t.get("line", {}).get("color")}

    runs = [ids["multi100"][0], ids["single200"][0], ids["single100"][0]]
    picked = colours(runs)
    assert picked == colours(runs[::-1]) and len(set(picked.values())) == 3
    groups = ids["single100"] + ids["multi100"]  # two seed groups, drawn as bands
    picked = colours(groups)
    assert picked == colours(groups[::-1]) and len(set(picked.values())) == 2


def test_single_task_over_k_seeds_starts_the_matched_baselines(fresh):
    with RunStore(fresh) as store:
        ids = [train(c, store=store).run_id for c in seed_configs(MULTI, 2, vary_data=True)]
    at = show(open_app(compare_runs=ids), "Compare")
    at.button(key=f"single_{ids[0]}").click().run()
    assert not at.exception, at.exception
    runs = all_runs(fresh).sort_values("id")
    new = runs[~runs.id.isin(ids)]
    expected = [SINGLE.replace(seed=i, data_seed=i).to_dict() for i in (0, 1)]
    assert list(new.config) == expected and set(new.status) == {"queued"}
    assert at.session_state["compare_runs"] == ids + list(new.id)
    at.run()  # the baselines are in the comparison: the button is gone
    assert not [b for b in at.button if b.key == f"single_{ids[0]}"]


def test_is_it_just_regularisation_starts_the_grid_and_reuses_stored_runs(fresh):
    with RunStore(fresh) as store:
        ids = [train(c, store=store).run_id for c in seed_configs(MULTI, 2)]
        train(SINGLE, store=store)  # seed 0 of the grid's first cell is stored already
    at = show(open_app(compare_runs=ids), "Compare")
    at.button(key=f"tuned_{ids[0]}").click().run()
    assert not at.exception, at.exception
    queued = all_runs(fresh)
    queued = queued[queued.status == "queued"]
    assert len(queued) == len(grid_cells(DEFAULT_GRID)) * 2 - 1
    (progress,) = at.get("progress")
    assert "1 of 18 runs finished" in progress.proto.text


def test_the_tuned_baseline_is_chosen_on_validation_and_compared(stored):
    path, ids, results = stored
    at = show(open_app(compare_runs=ids["multi100"]), "Compare")
    text = texts(at)
    runs = all_runs(path).set_index("id")
    cells = grid_cells(DEFAULT_GRID)
    per_cell = [ids["grid"][2 * i : 2 * i + 2] for i in range(len(cells))]
    table = validation_table(
        cells, [[best_val_metric(results[i], "digit") for i in row] for row in per_cell]
    )
    cell = select_cell(table, higher_is_better=True)
    chosen = per_cell[[{k: float(v) for k, v in c.items()} for c in cells].index(cell)]
    expected = compare_arms(
        [(RunConfig.from_dict(runs.config[i]), results[i].summary) for i in ids["multi100"]],
        [(RunConfig.from_dict(runs.config[i]), results[i].summary) for i in chosen],
        label_a="hard sharing with parity, magnitude",
        label_b="the tuned single-task baseline ("
        + ", ".join(
            f"{'weight decay' if k == 'weight_decay' else k} {v:g}" for k, v in cell.items()
        )
        + ")",
    ).sentence()
    assert f"**Is it just regularisation?** {expected}" in text


# -- the learning curve --------------------------------------------------------------------


def test_the_learning_curve_draws_stored_runs_by_size_with_bands(stored):
    path, ids, results = stored
    at = show(open_app(config_to_params(MULTI)), "Learning curve")
    fig = figures(at)["learning_curve"]
    assert fig["layout"]["xaxis"]["type"] == "log"
    lines = {t["name"]: t for t in fig["data"] if t.get("fill") is None}
    assert list(lines) == ["single task", "hard sharing"]
    assert len([t for t in fig["data"] if t.get("fill") == "toself"]) == 2
    for name, label in (("single task", "single"), ("hard sharing", "multi")):
        assert list(array(lines[name]["x"])) == [100, 200]
        expected = [
            np.mean([best_val_metric(results[i], "digit") for i in ids[f"{label}{s}"]])
            for s in (100, 200)
        ]
        np.testing.assert_allclose(array(lines[name]["y"]), expected)
    text = texts(at)
    assert CUT_NOTE in text
    assert "With 100 training images, hard sharing" in text
    assert "With 200 training images, hard sharing" in text
    (table,) = [d.value for d in at.dataframe]  # its headings in words, not val_mean
    assert list(table.columns) == [
        "training images",
        "arm",
        "seeds",
        "best validation accuracy: mean",
        "validation sd",
        "test accuracy: mean",
        "test sd",
    ]
    at.button(key="lc_compare").click().run()
    curve = [i for k in ("multi100", "single100", "multi200", "single200") for i in ids[k]]
    assert at.session_state["page_view"] == "Compare"
    assert sorted(at.session_state["compare_runs"]) == sorted(curve)


def test_the_learning_curve_form_starts_only_the_missing_runs(fresh):
    with RunStore(fresh) as store:
        for c in seed_configs(MULTI, 2, vary_data=True):
            train(c, store=store)
    at = show(open_app(config_to_params(MULTI)), "Learning curve")
    at.text_input(key="lc_sizes").input("100, 200")
    at.number_input(key="c_curve_seeds").set_value(2)
    next(b for b in at.button if b.label.startswith("Train the missing runs")).click().run()
    assert not at.exception, at.exception
    queued = all_runs(fresh)
    queued = queued[queued.status == "queued"]
    # 100 images: the 2 single-task seeds (the multi-task ones are stored); 200: 2 × 2
    assert sorted((c["train_size"], len(c["aux"])) for c in queued.config) == [
        (100, 0),
        (100, 0),
        (200, 0),
        (200, 0),
        (200, 2),
        (200, 2),
    ]
