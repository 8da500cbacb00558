"""The Sweeps view, headless (streamlit.testing AppTest), and its incremental reads.

One sweep (sharing × train_size × 2 seeds) is stored once for the module, as the sweep
runner stores it: tiny runs trained at 60 and 120 images, one run failed and one still
queued at 1,000, two runs of the grid not stored yet. The run manager's workers are
switched off: nothing here trains from the page.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import RunConfig
from mtl_core.dashboard.pages.sweep_table import (
    SweepCache,
    axis_positions,
    best_vals,
    grid_size,
    sweep_runs,
    value_label,
    wants_log,
)
from mtl_core.dashboard.pages.sweeps import EXAMPLE
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train
from tests.helpers.apptest import APP, array, figures, queue_only, texts, use_store

BASE = {
    "dataset": "digits",
    "width": 16,
    "depth": 1,
    "epochs": 2,
    "batch_size": 16,
    "aux": ["parity"],
}
SPEC = {
    "name": "sharing-by-size",
    "base": BASE,
    "axes": {"sharing": ["single", "hard"], "train_size": [60, 120, 1000]},
    "seeds": [0, 1],
    "vary_data": False,
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """(path, sweep id, {(sharing, size, seed): run id}); an older empty sweep too."""
    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, tmp_path_factory.mktemp("sweeps"))
        ids = {}
        with RunStore(path) as store:
            store.create_sweep(
                "older", {"name": "older", "base": BASE, "axes": {"lr": [0.001]}, "seeds": [0]}
            )
            sweep = store.create_sweep(SPEC["name"], SPEC)
            for sharing in ("single", "hard"):
                for size in (60, 120):
                    for seed in (0, 1):
                        config = RunConfig.from_dict(
                            {**BASE, "sharing": sharing, "train_size": size, "seed": seed}
                        )
                        run_id = store.create_run(config.to_dict(), sweep=sweep, status="queued")
                        result = train(config, store=store, run_id=run_id)
                        assert result.status == "completed", result.message
                        ids[(sharing, size, seed)] = run_id
            for seed in (0, 1):
                config = {**BASE, "sharing": "hard", "train_size": 1000, "seed": seed}
                ids[("hard", 1000, seed)] = store.create_run(config, sweep=sweep, status="queued")
            store.finish(ids[("hard", 1000, 0)], "failed", "out of memory", {}, {})
        yield path, sweep, ids
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


def open_sweeps() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.button_group(key=picker_key(at.session_state)).set_value("Sweeps").run()
    assert not at.exception, at.exception
    return at


def best_accuracy(path: Path, run_ids: list[int]) -> list[float]:
    """Each run's best validation accuracy of digit, straight from the stored metrics."""
    with RunStore(path) as store:
        m = store.metrics(run_ids)
    m = m[(m.task == "digit") & (m.split == "val") & (m.metric == "accuracy")]
    return [float(m.value[m.run_id == i].max()) for i in run_ids]


# -- pure helpers ----------------------------------------------------------------------------


def test_axis_values_read_as_labels_and_wide_numeric_axes_go_log():
    assert value_label([]) == "none"
    assert value_label(["parity", "magnitude"]) == "parity,magnitude"
    assert value_label(0.001) == "0.001" and value_label(300) == "300"
    assert value_label(1.0) == value_label(1)  # a float field given as an int in the file
    assert axis_positions([True, False]) is None and axis_positions(["hard"]) is None
    assert wants_log(axis_positions([100, 300, 1000]))
    assert not wants_log(axis_positions([100, 300])) and not wants_log(axis_positions([0, 1000]))
    assert grid_size(SPEC) == 12


def test_only_what_changed_is_read_again(stored):
    path, sweep, ids = stored
    calls = {"runs": 0, "metrics": 0}
    with RunStore(path) as store:
        runs, metrics = store.runs, store.metrics

        def counted_runs(*args, **kwargs):
            calls["runs"] += 1
            return runs(*args, **kwargs)

        def counted_metrics(*args, **kwargs):
            calls["metrics"] += 1
            return metrics(*args, **kwargs)

        store.runs, store.metrics = counted_runs, counted_metrics
        cache = SweepCache()
        first = sweep_runs(store, store.sweeps(), cache)
        best_vals(store, first[sweep], cache)
        assert calls == {"runs": 2, "metrics": 1}
        again = sweep_runs(store, store.sweeps(), cache)  # the finished sweep: not read again
        best = best_vals(store, again[sweep], cache)
        assert calls == {"runs": 3, "metrics": 1}  # only the live sweep's runs, no metrics
        assert set(best) == {i for k, i in ids.items() if k[1] != 1000}


# -- the view --------------------------------------------------------------------------------


def test_the_picker_lists_sweeps_newest_first_with_their_counts(stored):
    path, sweep, ids = stored
    at = open_sweeps()
    picker = at.selectbox(key=K.sweep)
    assert picker.options[0] == (
        f"sharing-by-size (#{sweep}) · 10 runs: 8 completed, 0 running, 1 failed, 1 queued"
    )
    assert picker.options[1].startswith("older (#") and "0 runs" in picker.options[1]
    assert (
        "sharing (2) × train_size (3) × 2 seeds = 12 runs in the grid, 10 of them stored."
        in texts(at)
    )


def test_the_chart_draws_one_band_per_colour_with_the_seed_mean(stored):
    path, sweep, ids = stored
    at = open_sweeps()
    fig = figures(at)[f"sweep_chart_{sweep}"]
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert [t["name"] for t in lines] == ["sharing = single", "sharing = hard"]
    for trace in lines:
        sharing = trace["name"].removeprefix("sharing = ")
        assert list(array(trace["x"])) == [60.0, 120.0]
        means, sds = [], []
        for size in (60, 120):
            values = best_accuracy(path, [ids[(sharing, size, s)] for s in (0, 1)])
            means.append(np.mean(values))
            sds.append(np.std(values, ddof=1))
        np.testing.assert_allclose(array(trace["y"]), means)
        band = next(t for t in fig["data"] if t["name"] == f"{trace['name']} ± sd")
        assert band["fill"] == "toself"
        np.testing.assert_allclose(
            array(band["y"]), [*np.add(means, sds), *np.subtract(means, sds)[::-1]]
        )
        dots = next(t for t in fig["data"] if t["name"] == f"{trace['name']} · runs")
        assert len(array(dots["y"])) == 4 and dots["marker"]["opacity"] < 1
    assert fig["layout"]["xaxis"]["type"] == "log"  # 60 to 1,000 images in the file
    assert (
        "8 of the sweep's 10 runs are in the picture; at these values, 1 still queued or "
        "training and 1 ended without a result."
    ) in texts(at)
    # a band over 2 seeds ran from 0.77 to 0.93 with nothing saying it is no interval
    assert "With 2 seeds a point, the band is only their spread and no interval" in texts(at)


def test_a_categorical_axis_with_the_others_held(stored):
    path, sweep, ids = stored
    at = open_sweeps()
    at.selectbox(key=f"sw_x_{sweep}").set_value("sharing").run()
    at.selectbox(key=f"sw_colour_{sweep}").set_value("(one line)").run()
    assert not at.exception, at.exception
    held = at.selectbox(key=f"sw_hold_{sweep}_train_size")
    assert held.value == "60" and held.options == ["all (averaged)", "60", "120", "1000"]
    fig = figures(at)[f"sweep_chart_{sweep}"]
    assert fig["layout"]["xaxis"]["type"] == "category"
    (line,) = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert line["x"] == ["single", "hard"]
    expected = [
        np.mean(best_accuracy(path, [ids[(s, 60, k)] for k in (0, 1)])) for s in ("single", "hard")
    ]
    np.testing.assert_allclose(array(line["y"]), expected)
    assert "Held at train_size = 60." in texts(at)


def test_the_table_opens_a_run_in_insights_or_live(stored):
    path, sweep, ids = stored
    at = open_sweeps()
    table = at.dataframe[0].value
    assert list(table.columns) == [
        "run",
        "sharing",
        "train_size",
        "seed",
        "status",
        "best val accuracy",
        "test accuracy",
    ]
    assert len(table) == 10 and table.status.tolist().count("completed") == 8
    run_id = ids[("hard", 120, 1)]
    row = table[table.run == run_id].iloc[0]
    assert row["best val accuracy"] == pytest.approx(best_accuracy(path, [run_id])[0])
    at.selectbox(key=f"sw_open_{sweep}").set_value(run_id).run()
    at.button(key="sw_insights").click().run()
    assert not at.exception, at.exception
    assert at.session_state[K.focus] == run_id
    assert at.session_state[K.view] == "Insights"
    assert at.selectbox(key="insight_select").value == run_id
    at.button_group(key=picker_key(at.session_state)).set_value("Sweeps").run()
    at.selectbox(key=f"sw_open_{sweep}").set_value(ids[("single", 60, 0)]).run()
    at.button(key="sw_live").click().run()
    assert (at.session_state[K.focus], at.session_state[K.view]) == (ids[("single", 60, 0)], "Live")


def test_without_sweeps_the_page_says_how_to_start_one(fresh):
    at = open_sweeps()
    assert "python -m mtl_core sweep sweep.yaml" in at.info[0].value
    assert at.code[0].value == EXAMPLE and len(EXAMPLE.splitlines()) == 3


def test_a_new_server_leaves_a_sweeps_queued_runs_to_the_sweep_runner(tmp_path):
    """Queued runs of a sweep are the CLI runner's to start; other queued runs are orphans."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        sweep = store.create_sweep("s", {"name": "s", "axes": {}, "seeds": [0]})
        waiting = store.create_run({"epochs": 2}, sweep=sweep, status="queued")
        orphan = store.create_run({"epochs": 2}, status="queued")
        # queued by a server from before runs recorded their process (a live process's
        # queued runs are its own: tests/test_runs.py)
        store._execute("UPDATE runs SET process = '' WHERE id IN (?, ?)", (waiting, orphan))
    manager = RunManager(path)
    try:
        assert manager.store.get_run(waiting)["status"] == "queued"
        assert manager.store.get_run(orphan)["status"] == "interrupted"
    finally:
        manager.shutdown()
