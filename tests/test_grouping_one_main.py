"""Insights' "Train the suggested grouping" for a run of one main task (headless AppTest).

With one main task TAG chooses one network: the run itself (every auxiliary task kept),
the main task alone (its single-task run), or the main task with some of the auxiliary
tasks. Only the last is a comparison of its own; in the first two the page showed a form
that could train nothing (Networks fixed at 1 and greyed out, Seeds, a heading) above a
note sending the reader to Live. It now shows one line and Live's *Compare with
single-task*, which starts the same baselines Live would and opens Compare.
"""

from __future__ import annotations

import pytest

from mtl_core.analysis.affinity_groups import Network, Selection
from mtl_core.dashboard.pages import grouping
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import figures, open_app, queue_only, texts, trained_store

TOKEN = "fedcba9876543210" * 2  # the page session's owner token (no cookie in AppTest)
TINY = {"dataset": "digits", "train_size": 100, "width": 16, "depth": 1, "epochs": 3}
ONE_MAIN = {**TINY, "aux": ["parity", "magnitude"]}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """One finished run of one main task (digit) and two auxiliary tasks, owned by TOKEN."""
    with trained_store(tmp_path_factory, "grouping_one_main", {"one": ONE_MAIN}, TOKEN) as found:
        path, ids = found
        yield path, ids["one"]


def choose(monkeypatch, *kept: str) -> None:
    """TAG's choice, whatever the run's affinities: one network of ``kept``."""
    network = Network(kept, {"digit": 0.0})
    monkeypatch.setattr(grouping, "select_networks", lambda *a: Selection((network,), 0.0))


def open_insights(run_id: int, owner: str = TOKEN):
    at = open_app({"run": str(run_id)}, **{K.owner: owner})
    at.button_group(key=picker_key(at.session_state)).set_value("Insights").run()
    assert not at.exception, at.exception
    return at


def keys(at) -> set[str]:
    return {w.key for w in [*at.button, *at.number_input] if w.key}


@pytest.mark.parametrize(
    ("kept", "words"),
    [
        (("digit", "parity", "magnitude"), "this run itself (**digit + parity + magnitude**)"),
        (("digit",), "**digit** alone, its single-task run"),
    ],
)
def test_a_grouping_with_nothing_of_its_own_is_one_line_and_the_single_task_button(
    stored, monkeypatch, kept, words
):
    _, run_id = stored
    choose(monkeypatch, *kept)
    at = open_insights(run_id)
    said = texts(at)
    assert f"With one main task, TAG's suggested grouping is {words}" in said
    assert "compare this run with single-task instead" in said
    assert "Train the suggested grouping" not in said  # no heading, no form
    assert not {"grp_n", "grp_seeds", f"grp_train_{run_id}"} & keys(at)
    assert f"grp_single_{run_id}" in keys(at)


def test_a_grouping_of_some_auxiliary_tasks_is_trained_with_seeds_and_no_networks_input(
    stored, monkeypatch
):
    """digit + parity without magnitude is a setup of its own: the form stays, with Seeds
    but without the Networks input, which one main task could never change."""
    _, run_id = stored
    choose(monkeypatch, "digit", "parity")
    at = open_insights(run_id)
    assert "Train the suggested grouping" in texts(at)
    assert {"grp_seeds", f"grp_train_{run_id}"} <= keys(at)
    assert not {"grp_n", f"grp_single_{run_id}"} & keys(at)


def test_the_single_task_button_starts_the_baseline_and_opens_compare(stored, monkeypatch):
    path, run_id = stored
    queue_only(monkeypatch)
    choose(monkeypatch, "digit", "parity", "magnitude")
    at = open_insights(run_id)
    at.button(key=f"grp_single_{run_id}").click().run()
    assert not at.exception, at.exception
    with RunStore(path) as store:
        runs = store.runs()
    (base,) = [i for i in runs.id if i != run_id]
    with RunStore(path) as store:
        config = store.get_run(int(base))["config"]
    assert (config["tasks"], config["aux"], config["sharing"]) == (["digit"], [], "single")
    assert at.session_state[K.compare] == [run_id, int(base)]
    assert at.session_state[K.view] == "Compare"


def test_another_sessions_run_gets_the_line_without_a_button(stored, monkeypatch):
    """Only the session that trained a run starts runs for it, as in Live."""
    _, run_id = stored
    choose(monkeypatch, "digit", "parity", "magnitude")
    at = open_insights(run_id, owner="0" * 32)
    assert "the browser session that trained this run can compare it" in texts(at)
    assert f"grp_single_{run_id}" not in keys(at)


def test_the_affinity_lines_of_one_main_task_name_their_pairs_in_a_legend(stored):
    """One main task and two auxiliary tasks: two lines towards digit, each named."""
    _, run_id = stored
    figure = figures(open_insights(run_id))[f"ins_aff_lines_{run_id}"]
    assert [t["name"] for t in figure["data"]] == ["parity → digit", "magnitude → digit"]
    assert figure["layout"]["showlegend"] is True
