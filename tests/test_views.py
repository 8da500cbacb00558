"""The view registry drives the page (mtl_core/dashboard/views.py), headless (AppTest).

One tiny finished run is stored for the module. The view control must offer exactly the
declared views, in the declared order; selecting each one must draw that view (its own
mark: a chart key or a line of text no other view draws) and nothing goes wrong.
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import RunConfig
from mtl_core.dashboard import views
from mtl_core.dashboard.pages.live import MISTAKES
from mtl_core.dashboard.pages.sweeps import EMPTY
from mtl_core.dashboard.state import K
from mtl_core.dashboard.urlstate import config_to_params
from mtl_core.dashboard.viewnames import V, every_name
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train
from tests.helpers.apptest import figures, open_app, queue_only, use_store

TINY = RunConfig.from_dict(
    {
        "dataset": "digits",
        "train_size": 100,
        "width": 16,
        "depth": 1,
        "epochs": 2,
        "batch_size": 16,
        "aux": ["parity"],
    }
)


@pytest.fixture(scope="module")
def run_id(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, tmp_path_factory.mktemp("views"))
        with RunStore(path) as store:
            result = train(TINY, store=store, name="tiny")
        assert result.status == "completed", result.message
        yield result.run_id
        st.cache_resource.clear()


@pytest.fixture(autouse=True)
def no_workers(monkeypatch):
    queue_only(monkeypatch)


def marks(at: AppTest, run_id: int) -> set[str]:
    """The views whose own mark the page shows."""
    charts = figures(at)
    text = [e.value for e in [*at.main.markdown, *at.main.caption, *at.main.info]]
    found = {
        V.lessons: any(t.startswith("Each lesson asks one question") for t in text),
        V.live: "live_chart" in charts,
        V.insights: f"ins_conflict_{run_id}" in charts,
        V.compare: "compare_chart" in charts,
        V.learning: "learning_curve" in charts,
        V.depth: "sharing_depth" in charts,
        V.pareto: any(t.startswith("No trade-off to study") or "weighs w and" in t for t in text),
        V.sweeps: EMPTY in text,
        V.history: any(t.startswith("Select rows to show") for t in text),
        V.data: any("training images (of" in t for t in text),
    }
    return {name for name, shown in found.items() if shown}


def open_page(run_id: int) -> AppTest:
    return open_app(config_to_params(TINY), **{K.focus: run_id, K.compare: [run_id]})


def test_every_view_name_has_exactly_one_declared_view():
    assert len(set(views.names())) == len(views.names())
    assert sorted(views.names()) == sorted(every_name())


def test_the_view_control_offers_exactly_the_declared_views_in_order(run_id):
    at = open_page(run_id)
    control = at.button_group(key=picker_key(at.session_state))
    assert control.options == views.names()
    assert control.value == views.DEFAULT


@pytest.mark.parametrize("name", views.names())
def test_every_declared_view_can_be_selected_and_draws_itself(run_id, name):
    at = open_page(run_id)
    at.button_group(key=picker_key(at.session_state)).set_value(name).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == []  # app.page shows a failing view as an error
    assert marks(at, run_id) == {name}


def test_a_finished_runs_mistakes_are_drawn_only_once_asked_for(run_id):
    """Live's "Where does it go wrong?" stays empty while closed (no images fetched, sent or
    laid out on every script run); opened, it draws the confusion matrix with the page's
    own chart (not st.plotly_chart, whose Plotly.js is a 4.7 MB download) and the
    misclassified images."""
    at = open_page(run_id)
    assert marks(at, run_id) == {V.live}
    assert f"confusion_{run_id}_digit" not in figures(at)
    assert not at.main.get("image") and not at.main.get("plotly_chart")
    at.session_state[MISTAKES.format(run_id=run_id)] = True  # the user opens it
    at.run()
    assert not at.exception, at.exception
    matrix = figures(at)[f"confusion_{run_id}_digit"]
    assert [trace["type"] for trace in matrix["data"]] == ["heatmap"]
    assert matrix["data"][0]["x"] == [str(n) for n in range(10)]  # every class, labelled
    assert matrix["layout"]["xaxis"]["type"] == matrix["layout"]["yaxis"]["type"] == "category"
    # its colours from none (a two-class matrix drew its errors white) and its counts written
    heat = matrix["data"][0]
    assert heat["zmin"] == 0 and heat["zmax"] >= 1 and heat["texttemplate"] == "%{z}"
    assert len(at.main.get("image")) == 12, "the misclassified images are not all drawn"
    assert not at.main.get("plotly_chart")
