"""The Insights view and the new sidebar controls, headless (streamlit.testing AppTest).

Tiny runs are trained once into a store for the whole module; each test opens the app
on that store, switches to Insights for one run and reads the charts' figures (the
chart component carries the Plotly JSON) and the text under them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.analysis.conflict_text import conflict_sentences
from mtl_core.config import DEFAULT
from mtl_core.dashboard.pages.insights import NO_SHARED_TRUNK, ONE_TASK_WEIGHT
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import (
    array,
    figures,
    open_app,
    texts,
    train_button,
    trained_store,
    url_config,
)

TINY = {
    "dataset": "digits",
    "train_size": 100,
    "width": 16,
    "depth": 1,
    "epochs": 3,
    "batch_size": 16,
}
RUNS = {
    "hard": {"aux": ["parity", "magnitude"]},
    "single": {"aux": ["parity"], "sharing": "single"},
    "stitch": {"aux": ["parity"], "sharing": "cross-stitch"},
    "upgrad": {"aux": ["parity", "bbox"], "aggregator": "upgrad"},
    "one": {},  # the digit alone
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store holding one finished tiny run per entry of RUNS: (path, {name: run id})."""
    configs = {name: {**TINY, **changes} for name, changes in RUNS.items()}
    with trained_store(tmp_path_factory, "insights", configs) as found:
        yield found


def open_insights(run_id: int) -> AppTest:
    at = open_app({"run": str(run_id)})
    at.button_group(key=picker_key(at.session_state)).set_value("Insights").run()
    assert not at.exception, at.exception
    return at


def stored_metrics(path: Path, run_id: int):
    with RunStore(path) as store:
        return store.metrics(run_id)


def test_the_conflict_heatmap_holds_the_stored_cosines_and_says_it_in_words(stored):
    path, ids = stored
    at = open_insights(ids["hard"])
    heatmap = figures(at)[f"ins_conflict_{ids['hard']}"]["data"][0]
    assert heatmap["type"] == "heatmap"
    rows = stored_metrics(path, ids["hard"])
    rows = rows[rows.task == "_conflict"]
    pairs = [("digit", "parity"), ("digit", "magnitude"), ("parity", "magnitude")]
    assert heatmap["y"] == [f"{a} ↔ {b}" for a, b in pairs]
    assert list(array(heatmap["x"])) == [0, 1, 2, 3]
    expected = {}
    for a, b in pairs:
        pair = rows[rows.metric == f"cos:{a}|{b}"].sort_values("epoch")
        expected[(a, b)] = pair.value.tolist()
    np.testing.assert_allclose(array(heatmap["z"]), np.array(list(expected.values())))
    assert heatmap["zmin"] == -heatmap["zmax"]  # white is a cosine of 0
    assert np.abs(array(heatmap["z"])).max() <= heatmap["zmax"] <= 1
    lines = figures(at)[f"ins_conflict_lines_{ids['hard']}"]["data"]
    assert [t["name"] for t in lines] == heatmap["y"]
    for sentence in conflict_sentences(expected, [0, 1, 2, 3]):
        assert sentence in texts(at)


@pytest.mark.parametrize("pairs", [["digit ↔ parity"], ["digit ↔ parity", "digit ↔ bbox"]])
def test_the_cosine_lines_name_their_pairs_in_a_legend_even_a_single_one(pairs):
    """Two tasks make one pair, one line: Plotly hides a lone trace's legend unless told."""
    from mtl_core.dashboard.figures.insights import conflict_lines

    table = pd.DataFrame([[0.1, -0.2]] * len(pairs), index=pairs, columns=[1, 2])
    fig = conflict_lines(table)
    assert [t.name for t in fig.data] == pairs
    assert fig.layout.showlegend is True


def test_runs_without_a_shared_trunk_say_where_conflict_is_measured(stored):
    _, ids = stored
    at = open_insights(ids["single"])
    assert NO_SHARED_TRUNK in texts(at)
    charts = figures(at)
    assert f"ins_conflict_{ids['single']}" not in charts
    distance = charts[f"ins_distance_{ids['single']}"]["data"]
    assert len(distance) == 1 and len(array(distance[0]["y"])) == 4  # epochs 0..3


def test_the_weights_chart_has_one_line_per_task_titled_by_the_method(stored):
    path, ids = stored
    at = open_insights(ids["hard"])
    weights = figures(at)[f"ins_weights_{ids['hard']}"]
    assert [t["name"] for t in weights["data"]] == ["digit", "parity", "magnitude"]
    assert "fixed weighting" in weights["layout"]["title"]["text"]
    at = open_insights(ids["upgrad"])
    weights = figures(at)[f"ins_weights_{ids['upgrad']}"]
    assert [t["name"] for t in weights["data"]] == ["digit", "parity", "bbox"]
    assert "upgrad" in weights["layout"]["title"]["text"]
    rows = stored_metrics(path, ids["upgrad"])
    digit = rows[(rows.task == "digit") & (rows.metric == "weight")].sort_values("epoch")
    np.testing.assert_allclose(array(weights["data"][0]["y"]), digit.value.to_numpy())


def test_a_single_task_run_says_it_has_no_weights_instead_of_a_flat_line(stored):
    _, ids = stored
    at = open_insights(ids["one"])
    assert f"ins_weights_{ids['one']}" not in figures(at)
    assert ONE_TASK_WEIGHT in [e.value for e in at.info]


def test_cross_stitch_shows_every_mixing_coefficient(stored):
    path, ids = stored
    at = open_insights(ids["stitch"])
    stitch = figures(at)[f"ins_stitch_{ids['stitch']}"]["data"]
    rows = stored_metrics(path, ids["stitch"])
    coefficients = set(rows.metric[rows.task == "_stitch"])
    assert len(stitch) == len(coefficients) == 4  # one unit, 2 × 2 weights
    assert {t["name"] for t in stitch} == {
        "digit ← digit",
        "digit ← parity",
        "parity ← digit",
        "parity ← parity",
    }
    assert f"ins_distance_{ids['stitch']}" in figures(at)


def test_the_pca_map_has_a_point_per_stored_sample_and_t_sne_waits_for_the_button(stored):
    path, ids = stored
    run_id = ids["hard"]
    with RunStore(path) as store:
        features, _ = store.get_array(run_id, "features/best/shared")
    at = open_insights(run_id)
    charts = figures(at)
    pca = markers(charts[f"ins_pca_{run_id}"])
    assert sum(len(array(t["x"])) for t in pca) == len(features)
    assert [t["name"] for t in pca] == [str(d) for d in range(10)]  # digit classes, by name
    assert f"ins_tsne_chart_{run_id}" not in charts
    at.selectbox(key=f"ins_colour_{run_id}").set_value("parity").run()
    pca = markers(figures(at)[f"ins_pca_{run_id}"])
    assert [t["name"] for t in pca] == ["even", "odd"]
    at.button(key=f"ins_tsne_{run_id}").click().run()
    assert not at.exception, at.exception
    tsne = markers(figures(at)[f"ins_tsne_chart_{run_id}"])
    assert sum(len(array(t["x"])) for t in tsne) == len(features)


def markers(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t["mode"] == "markers"]


def test_each_class_is_named_on_the_map_at_the_median_of_its_points(stored):
    """Ten colours are hard to tell apart on a projector: each class's name stands at the
    centre of its points, and goes with them when its legend entry hides them."""
    _, ids = stored
    pca = figures(open_insights(ids["hard"]))[f"ins_pca_{ids['hard']}"]["data"]
    names = {t["name"]: t for t in pca if t["mode"] == "text"}
    assert sorted(names) == [str(d) for d in range(10)]
    for trace in markers({"data": pca}):
        label = names[trace["name"]]
        assert label["text"] == [f"<b>{trace['name']}</b>"]
        assert label["legendgroup"] == trace["legendgroup"] == trace["name"]
        xs, ys = array(trace["x"]), array(trace["y"])
        np.testing.assert_allclose([*label["x"], *label["y"]], [np.median(xs), np.median(ys)])


def test_a_regression_task_colours_the_map_on_a_scale(stored):
    _, ids = stored
    run_id = ids["upgrad"]
    at = open_insights(run_id)
    at.selectbox(key=f"ins_colour_{run_id}").set_value("bbox").run()
    (trace,) = figures(at)[f"ins_pca_{run_id}"]["data"]
    assert trace["marker"]["colorscale"] and len(array(trace["marker"]["color"])) == 360


def test_the_run_selectbox_switches_runs(stored):
    _, ids = stored
    at = open_insights(ids["hard"])
    at.selectbox(key="insight_select").set_value(ids["single"]).run()
    assert NO_SHARED_TRUNK in texts(at)
    at.run()  # the choice sticks across reruns
    assert at.selectbox(key="insight_select").value == ids["single"]


def test_the_run_picker_leaves_the_status_to_the_panel_that_refreshes(stored):
    """The picker is drawn once per script run while the panel under it redraws as the run
    trains: a status in its labels said "queued" beside a panel that said "running"."""
    _, ids = stored
    at = open_insights(ids["hard"])
    options = at.selectbox(key="insight_select").options
    assert sorted(options) == sorted(f"{name} (#{i})" for name, i in ids.items())
    assert any(c.value.startswith("completed · epoch ") for c in at.caption)


# -- the new sidebar controls ---------------------------------------------------------------


def test_cross_stitch_and_aggregator_controls_make_the_config(stored):
    at = open_app()
    assert not [n for n in at.sidebar.number_input if n.key == "c_stitch_init"]
    at.sidebar.checkbox(key="c_aux_parity").check().run()
    at.sidebar.radio(key="c_sharing").set_value("cross-stitch").run()
    at.sidebar.number_input(key="c_stitch_init").set_value(0.8)
    at.sidebar.number_input(key="c_stitch_lr").set_value(20.0).run()
    assert url_config(at) == DEFAULT.replace(
        aux=["parity"], sharing="cross-stitch", stitch_init=0.8, stitch_lr=20.0
    )
    at.sidebar.radio(key="c_sharing").set_value("hard").run()
    at.sidebar.selectbox(key="c_aggregator").set_value("cagrad").run()
    at.sidebar.number_input(key="c_cagrad_c").set_value(0.3).run()
    config = url_config(at)
    assert (config.sharing, config.aggregator, config.cagrad_c) == ("hard", "cagrad", 0.3)
    assert not train_button(at).disabled


def test_weighting_options_show_only_for_their_method(stored):
    at = open_app()
    keys = lambda: {n.key for n in at.sidebar.number_input}  # noqa: E731
    assert not {"c_dwa_temperature", "c_gradnorm_alpha"} & keys()
    at.sidebar.selectbox(key="c_weighting").set_value("dwa").run()
    assert "c_dwa_temperature" in keys() and "c_gradnorm_alpha" not in keys()
    at.sidebar.number_input(key="c_dwa_temperature").set_value(4.0).run()
    assert url_config(at) == DEFAULT.replace(weighting="dwa", dwa_temperature=4.0)


def test_an_aggregator_without_a_shared_trunk_is_explained_and_disables_train(stored):
    at = open_app()
    at.sidebar.checkbox(key="c_aux_parity").check().run()
    at.sidebar.radio(key="c_sharing").set_value("single").run()
    at.sidebar.selectbox(key="c_aggregator").set_value("mgda").run()
    assert train_button(at).disabled
    (error,) = at.sidebar.error
    assert error.value.startswith("aggregator:") and "sharing=hard" in error.value
    assert "\n" not in error.value
