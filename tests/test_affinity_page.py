"""The Insights view's affinity panel (headless, streamlit.testing AppTest) and its figures:
the heatmap holds the stored affinities averaged over the epochs, the lines their
evolution towards the main tasks, the caption says who helps whom in words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.analysis.affinity import affinity_sentences, evolution, mean_affinity
from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.insights import affinity_heatmap, affinity_lines
from mtl_core.dashboard.pages.insight_tables import towards
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import array, figures, open_app, texts, trained_store

TINY = {"dataset": "digits", "train_size": 100, "width": 16, "depth": 1, "epochs": 3}
RUNS = {
    "hard": {"tasks": ["digit", "parity"], "aux": ["magnitude"]},
    "off": {"aux": ["parity"], "affinity_every": 0},
    "soft": {"aux": ["parity"], "sharing": "soft"},
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    configs = {name: {**TINY, **c} for name, c in RUNS.items()}
    with trained_store(tmp_path_factory, "affinity_page", configs) as (path, ids):
        with RunStore(path) as store:
            frame = store.metrics(ids["hard"])
        yield ids, frame


def _store() -> RunStore:
    import os

    return RunStore(os.environ["MTL_STORE"])


def open_insights(run_id: int):
    at = open_app({"run": str(run_id)})
    at.button_group(key=picker_key(at.session_state)).set_value("Insights").run()
    assert not at.exception, at.exception
    return at


def test_the_affinity_heatmap_lines_and_words_hold_the_stored_affinities(stored):
    ids, frame = stored
    tasks, mains = ["digit", "parity", "magnitude"], ["digit", "parity"]
    at = open_insights(ids["hard"])
    charts = figures(at)
    heatmap = charts[f"ins_aff_{ids['hard']}"]["data"][0]
    matrix = mean_affinity(frame, tasks)
    assert heatmap["y"] == ["digit", "parity", "magnitude (aux)"]
    z = array(heatmap["z"]).astype(float).reshape(3, 3)
    expected = matrix.to_numpy()
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(z[off], expected[off])
    assert np.isnan(np.diag(z)).all()  # the diagonal is written, not coloured
    assert heatmap["text"][0][0] == f"({expected[0, 0]:+.3g})"
    lines = charts[f"ins_aff_lines_{ids['hard']}"]["data"]
    table = towards(evolution(frame, tasks), mains)
    assert [t["name"] for t in lines] == list(table.columns)
    assert {name.split(" → ")[1] for name in table.columns} == set(mains)
    for trace in lines:
        np.testing.assert_allclose(array(trace["y"]), table[trace["name"]].to_numpy())
    for sentence in affinity_sentences(matrix, mains):
        assert sentence in texts(at)


@pytest.mark.parametrize(
    ("run", "words"),
    [("off", "trained with affinity off"), ("soft", "hard sharing with two or more tasks")],
)
def test_runs_without_affinity_say_why(stored, run, words):
    ids, _ = stored
    at = open_insights(ids[run])
    assert words in texts(at)
    assert f"ins_aff_{ids[run]}" not in figures(at)


def test_the_heatmap_colour_scale_is_centred_and_spans_the_largest_other_value():
    tasks = ["a", "b"]
    matrix = pd.DataFrame([[0.9, -0.02], [0.01, 0.5]], index=tasks, columns=tasks)
    heatmap = affinity_heatmap(matrix, aux=("b",)).data[0]
    assert heatmap.zmin == -heatmap.zmax == -0.02
    assert list(heatmap.y) == ["a", "b (aux)"]


@pytest.mark.parametrize("pairs", [["parity → digit"], ["parity → digit", "bbox → digit"]])
def test_the_affinity_lines_name_their_pairs_in_a_legend_even_a_single_one(pairs):
    """One main task and one auxiliary task draw one line: Plotly hides the legend of a
    lone trace unless told, and the chart then said nothing of which pair it showed."""
    table = pd.DataFrame({p: [0.01, 0.02] for p in pairs}, index=pd.Index([1, 2], name="epoch"))
    fig = affinity_lines(table)
    assert [t.name for t in fig.data] == pairs
    assert fig.layout.showlegend is True
    assert all(t.showlegend is not False for t in fig.data)


def test_one_click_starts_every_missing_run_of_the_grouping_comparison(stored):
    """The hard run itself is the all-in-one arm's first seed: reused, not started again."""
    from mtl_core.analysis.affinity_groups import select_networks
    from mtl_core.studies.grouping import plan

    ids, frame = stored
    at = open_insights(ids["hard"])
    at.number_input(key="grp_seeds").set_value(2).run()
    button = at.button(key=f"grp_train_{ids['hard']}")
    tasks, mains = ["digit", "parity", "magnitude"], ["digit", "parity"]
    selection = select_networks(
        mean_affinity(frame, tasks).to_dict(orient="index"), tasks, mains, 2
    )
    jobs = plan(RunConfig.from_dict({**TINY, **RUNS["hard"]}), selection, 2, True)
    assert f"({len(jobs)} runs)" in button.label
    with _store() as store:
        before = len(store.runs())
    button.click().run()
    assert not at.exception, at.exception
    with _store() as store:
        started = store.runs()
    assert len(started) - before == len(jobs) - 1
    assert started.name.str.startswith(f"grouping of run {ids['hard']}: ").sum() == len(jobs) - 1


def test_one_network_of_every_task_says_there_is_nothing_to_compare_and_offers_no_training(
    stored, monkeypatch
):
    """With one network, TAG may keep every task of the run together: that grouping is the
    run itself, and the page says so instead of a button that trains it again."""
    from mtl_core.analysis.affinity_groups import Network, Selection
    from mtl_core.dashboard.pages import grouping

    ids, _ = stored
    for kept in (("digit", "parity", "magnitude"), ("digit", "parity")):
        network = Network(kept, {"digit": 0.1, "parity": 0.1})
        monkeypatch.setattr(grouping, "select_networks", lambda *a, n=network: Selection((n,), 0.2))
        at = open_insights(ids["hard"])
        offered = [b for b in at.button if b.key == f"grp_train_{ids['hard']}"]
        said = "nothing to compare it with" in texts(at)
        if len(kept) == 3:  # every task of the run: the run itself
            assert said and not offered
        else:  # magnitude left out: a setup of its own, worth training
            assert offered and not said
