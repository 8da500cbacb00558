"""Dashboard dead ends, headless (AppTest): places where the page used to leave a user stuck.

Re-run in History opens Live on the new run; a variant or dataset change drops the tasks
it no longer offers, with a note; a dataset that is not installed turns Train off with the
how-to (naming the real data folder), and a failed download clears its progress bar;
Compare says which runs are still training or ended early. The runs the page starts stay
queued (no worker processes): what is tested is what the page asks for and shows.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import mtl_core.data.download as download_module
from mtl_core.analysis.overview import runs_overview, runs_table
from mtl_core.config import DEFAULT, RunConfig
from mtl_core.dashboard.pages.compare import caveats, progress_note, summary_table
from mtl_core.dashboard.pages.history import SO_FAR
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import datasets_ui
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.data.download import FILES
from mtl_core.errors import DataError
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train
from tests.helpers.apptest import (
    cut_short_after,
    figures,
    open_app,
    queue_only,
    texts,
    train_button,
    url_config,
    use_store,
)

TINY = RunConfig.from_dict(
    {"dataset": "digits", "train_size": 100, "width": 16, "depth": 1, "epochs": 2, "batch_size": 32}
)


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A fresh data root and run store; no Fashion-MNIST anywhere unless a test puts it."""
    path = use_store(monkeypatch, tmp_path)
    queue_only(monkeypatch)
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)
    monkeypatch.setattr(download_module, "DEBIAN_FASHION_DIR", tmp_path / "no-debian-package")
    yield path
    st.cache_resource.clear()


def select_rows(at: AppTest, rows: list[int]) -> AppTest:
    """Select History rows as the browser does (the table's selection state), and rerun."""
    at.session_state["history_table"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def history(at: AppTest) -> AppTest:
    at.button_group(key=picker_key(at.session_state)).set_value("History").run()
    assert not at.exception, at.exception
    return at


def wrong(at: AppTest) -> list[str]:
    return [e.value for e in at.error if "Something went wrong" in e.value]


# -- 1. History -> Re-run -----------------------------------------------------------------


def click_rerun(store) -> tuple[AppTest, int]:
    """History's Re-run clicked on an interrupted run ``store`` holds: the page and that run."""
    with RunStore(store) as s:
        old = s.create_run(TINY.to_dict(), name="crashed run")
        s.set_status(old, "interrupted")
    at = select_rows(history(open_app()), [0])
    at.button(key="h_rerun").click().run()
    assert not at.exception, at.exception
    return at, old


def test_rerun_in_history_opens_live_on_the_new_run(store):
    at, old = click_rerun(store)
    assert wrong(at) == []
    with RunStore(store) as s:
        runs = s.runs()
    new = int(runs.id.max())
    assert new != old and runs.set_index("id").loc[new, "name"] == "crashed run (re-run)"
    assert at.session_state["page_view"] == "Live"
    assert at.session_state["focus_run"] == new
    assert any(m.value == "#### crashed run (re-run)" for m in at.markdown)


def test_a_rerun_click_cut_short_after_its_run_started_still_opens_it_in_live(store, monkeypatch):
    """Streamlit stops a script run at its next session-state write once the browser sends
    another request: cut right after the start, Re-run left its run training and the page
    on History. The next script run now opens it in Live. The cut is a rerun raised right
    after the start, once."""
    cuts = cut_short_after(monkeypatch, "start")
    at, _ = click_rerun(store)
    assert len(cuts) == 1
    assert at.session_state["page_view"] == "Live"
    assert at.session_state["focus_run"] == cuts[0]
    with RunStore(store) as s:
        assert len(s.runs()) == 2  # started once


def test_show_and_compare_in_history_still_switch_the_view(store):
    with RunStore(store) as s:
        ids = [s.create_run(TINY.to_dict(), name=f"run {i}") for i in range(2)]
    at = select_rows(history(open_app()), [0, 1])
    at.button(key="h_compare").click().run()
    assert wrong(at) == [] and at.session_state["page_view"] == "Compare"
    assert sorted(at.session_state["compare_runs"]) == sorted(ids)
    at = select_rows(history(open_app()), [1])
    at.button(key="h_show").click().run()
    assert wrong(at) == [] and at.session_state["page_view"] == "Live"
    assert at.session_state["focus_run"] == ids[0]  # newest first: row 1 is the older run


def test_history_clears_a_selection_whose_rows_were_deleted(store):
    with RunStore(store) as s:
        ids = [s.create_run(TINY.to_dict(), name=f"run {i}") for i in range(3)]
    at = select_rows(history(open_app()), [0])
    with RunStore(store) as s:
        s.delete([ids[2]])  # the selected (newest) row goes: its position now means another run
    at.run()
    assert "the selection was cleared" in texts(at)
    assert at.session_state["history_chosen"][0] == []
    assert not [b for b in at.button if b.key in ("h_show", "h_rerun")]


def test_history_keeps_the_selected_rows_when_a_run_arrives(store):
    with RunStore(store) as s:
        first = s.create_run(TINY.to_dict(), name="first")
    at = select_rows(history(open_app()), [0])
    with RunStore(store) as s:
        s.create_run(TINY.to_dict(), name="started elsewhere")  # newest first: it would be row 0
    at.run()
    assert at.session_state["history_chosen"][0] == [first]
    assert "1 new run(s) since you selected rows" in texts(at)
    assert list(at.dataframe[0].value.name) == ["first"]
    select_rows(at, [])  # cleared: the table lists everything again, newest first
    assert list(at.dataframe[0].value.name) == ["started elsewhere", "first"]


# -- 2. Hidden but still selected ---------------------------------------------------------


def test_a_variant_change_drops_the_tasks_it_does_not_offer_with_a_note(store):
    at = open_app()
    at.sidebar.checkbox(key="c_aux_parity").check().run()
    at.sidebar.selectbox(key="c_variant").set_value("multi").run()
    assert not at.exception, at.exception
    note = " ".join(i.value for i in at.sidebar.info)
    assert "auxiliary task parity" in note and "main task digit" in note and "/ multi" in note
    assert not train_button(at).disabled and not at.sidebar.error
    assert list(url_config(at).aux) == [] and list(url_config(at).tasks) == ["left"]
    at.sidebar.selectbox(key="c_variant").set_value("plain").run()
    assert list(url_config(at).aux) == []  # dropped for good, not hidden
    assert not at.sidebar.checkbox(key="c_aux_parity").value


def test_a_dataset_change_drops_the_tasks_it_does_not_offer_with_a_note(store):
    at = open_app()
    at.sidebar.checkbox(key="c_aux_magnitude").check().run()
    at.sidebar.selectbox(key="c_dataset").set_value("fashion-mnist").run()
    note = " ".join(i.value for i in at.sidebar.info)
    assert "auxiliary task magnitude" in note and "fashion-mnist" in note
    assert at.session_state["c_aux_magnitude"] is False
    assert not any("does not fit" in e.value for e in at.sidebar.error)


# -- 3. A dataset that is not installed ---------------------------------------------------


def test_a_missing_dataset_turns_train_off_with_the_real_data_folder(store):
    at = open_app()
    at.sidebar.selectbox(key="c_dataset").set_value("fashion-mnist").run()
    assert train_button(at).disabled
    errors = [e.value for e in at.sidebar.error]
    folder = str(store.parent / "fashion-mnist")
    assert len(errors) == 1 and folder in errors[0] and "download fashion-mnist" in errors[0]
    assert "\n" not in errors[0]


def test_an_installed_dataset_keeps_train_on(store, tmp_path, monkeypatch):
    folder = tmp_path / "debian-fashion"
    folder.mkdir()
    for name in FILES:
        (folder / name).write_bytes(b"")  # presence is what the page checks; loading is not
    monkeypatch.setattr(download_module, "DEBIAN_FASHION_DIR", folder)
    at = open_app()
    at.sidebar.selectbox(key="c_dataset").set_value("fashion-mnist").run()
    assert not train_button(at).disabled and not at.sidebar.error


def test_a_failed_download_clears_its_progress_bar(store, monkeypatch):
    def offline(name, progress=None, **kwargs):
        progress(FILES[0], 4096, 10_000_000)
        raise DataError(f"could not download {FILES[0]}: timed out (no network?)")

    monkeypatch.setattr(datasets_ui, "download", offline)
    at = open_app()
    at.sidebar.selectbox(key="c_dataset").set_value("fashion-mnist").run()
    at.sidebar.button(key="download_fashion-mnist").click().run()
    assert not at.exception, at.exception
    assert any("no network" in e.value for e in at.sidebar.error)
    assert not at.get("progress")
    assert train_button(at).disabled


def test_a_download_in_the_page_turns_train_on_at_once(store, monkeypatch):
    def fake(name, progress=None, **kwargs):
        dest = store.parent / name
        dest.mkdir(parents=True, exist_ok=True)
        for file in FILES:
            progress(file, 1, 1)
            (dest / file).write_bytes(b"")
        return dest

    monkeypatch.setattr(datasets_ui, "download", fake)
    at = open_app()
    at.sidebar.selectbox(key="c_dataset").set_value("fashion-mnist").run()
    at.sidebar.button(key="download_fashion-mnist").click().run()
    assert any("ready" in s.value for s in at.sidebar.success)
    assert not at.get("progress") and not at.sidebar.warning
    assert not train_button(at).disabled


# -- 4. Compare says what is still training -----------------------------------------------


def _live_run(s: RunStore, name: str, epochs_done: int, status: str = "running") -> int:
    run = s.create_run(TINY.replace(epochs=10).to_dict(), name=name)
    s.set_status(run, status)
    for epoch in range(epochs_done + 1):
        s.append_epoch(
            run,
            epoch,
            [
                ("digit", "train", "loss", 2.0 - 0.1 * epoch),
                ("digit", "val", "loss", 2.1 - 0.1 * epoch),
                ("digit", "val", "accuracy", 0.1 * epoch),
            ],
        )
    return run


def test_compare_says_which_runs_are_still_training(store):
    at = open_app()  # the manager first: queued runs of an earlier server would be ended
    with RunStore(store) as s:
        done = train(TINY, store=s, name="finished").run_id
        running = _live_run(s, "half way", 3)
        queued = s.create_run(TINY.to_dict(), name="waiting")
        s.set_status(queued, "queued")
    at.session_state["compare_runs"] = [done, running, queued]
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    assert not at.exception, at.exception
    assert "2 of 3 runs still training" in " ".join(i.value for i in at.info)
    shown = next(d for d in at.dataframe if "epochs run" in d.value.columns)
    table = shown.value
    formats = {
        c: v["type_config"]["format"]
        for c, v in json.loads(shown.proto.columns).items()
        if "type_config" in v
    }
    # one precision a column: "0.75" stood beside "0.6167"
    assert formats == dict.fromkeys(("test accuracy", "best val loss", "gap"), "%.4f")
    columns = list(table.columns)
    assert columns.index("status") < columns.index("test accuracy") < columns.index("run")
    assert columns.index("test accuracy") < columns.index("config")
    rows = table.set_index("run")
    assert rows.loc["finished", "status"] == "completed"
    assert rows.loc["finished", "epochs run"] == "2/2" and pd.notna(
        rows.loc["finished", "test accuracy"]
    )
    assert (
        rows.loc["half way", "status"] == "running" and rows.loc["half way", "epochs run"] == "3/10"
    )
    assert pd.isna(rows.loc["half way", "test accuracy"])  # not scored until it finishes
    assert rows.loc["half way", "best epoch"] == 3
    assert rows.loc["waiting", "status"] == "queued" and rows.loc["waiting", "epochs run"] == "0/2"
    # the x axis spans the longest run's epochs from the start (Plotly's default: -1 to 6)
    assert figures(at)["compare_chart"]["layout"]["xaxis"]["range"] == [0, 10]


def test_compare_says_a_stopped_run_ended_early():
    runs = pd.DataFrame(
        {
            "id": [1, 2],
            "name": ["whole", "cut short"],
            "status": ["completed", "stopped"],
            "config": [TINY.to_dict(), TINY.replace(epochs=10).to_dict()],
            "summary": [{}, {"epochs_run": 4}],
        }
    )
    note = progress_note(runs)
    assert "1 of 2 runs ended before their last epoch (stopped)" in note
    assert "still training" not in note
    frame = pd.DataFrame(columns=["run_id", "epoch", "task", "split", "metric", "value"])
    table = summary_table(runs, frame).set_index("run")
    assert table.loc["cut short", "epochs run"] == "4/10"
    assert progress_note(runs.assign(status="completed")) == ""


def test_compare_names_the_ended_runs_still_improving_and_warns_of_one_seed_per_setup():
    # both runs "best at epoch 30/30", 0.62 against 0.75: a class read a difference of
    # how fast two networks learn, from one seed each, as sharing hurting
    falling, turned = [2.3, 1.2, 0.9, 0.8], [2.3, 0.9, 1.0, 1.2]
    rows = [
        (run, epoch, "digit", "val", "loss", value)
        for run, values in ((1, falling), (2, turned), (3, falling))
        for epoch, value in enumerate(values)
    ]
    frame = pd.DataFrame(rows, columns=["run_id", "epoch", "task", "split", "metric", "value"])
    runs = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "status": ["completed", "completed", "running"],  # #3: its newest epoch is best
            "config": [TINY.to_dict()] * 3,
        }
    )
    lines = caveats(runs, frame, [[1], [2], [3]])
    assert lines[0].startswith("Still improving at their last epoch: #1 (")
    assert "One seed per setup" in lines[1] and len(lines) == 2
    assert caveats(runs, frame, [[1, 2], [3]]) == lines[:1]  # a setup with two seeds
    assert caveats(runs.assign(status="running"), frame, [[1], [2], [3]]) == []


def test_the_default_setup_is_untouched(store):
    """The fixes leave a plain first visit as it was: default config, Train on, no notes."""
    at = open_app()
    assert url_config(at) == DEFAULT and not train_button(at).disabled
    assert not at.sidebar.info and not at.sidebar.error


def test_deleting_from_history_clears_the_selection(store):
    at = open_app()
    train_button(at).click().run()  # one queued run, owned by this page
    with RunStore(store) as s:
        (run,) = s.runs().id
        s.set_status(int(run), "stopped")  # a live run must be stopped before deleting
    at = select_rows(history(at), [0])
    at.checkbox(key="h_confirm").check().run()
    at.button(key="h_delete").click().run()
    assert not at.exception, at.exception
    assert wrong(at) == []
    with RunStore(store) as s:
        assert s.runs().empty
    assert "No runs yet" in texts(at)
    assert not [b for b in at.button if b.key in ("h_show", "h_delete")]


def test_compare_on_an_empty_store_says_how_to_get_runs(store):
    at = open_app()
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    (note,) = [i.value for i in at.main.info if "No runs yet" in i.value]
    assert "**Train**" in note and "lesson" in note, note


def test_projector_mode_draws_the_compare_table_in_rem_so_it_grows(store):
    """st.dataframe draws on a canvas in px: in projector mode the table is an st.table
    (HTML, sized in rem like the rest of the page), with the same rows."""
    at = open_app()
    with RunStore(store) as s:
        done = train(TINY, store=s, name="finished").run_id
        running = _live_run(s, "half way", 3)
    at.session_state["compare_runs"] = [done, running]
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    desk = next(d.value for d in at.dataframe if "epochs run" in d.value.columns)
    at.toggle(key="large_fonts").set_value(True).run()
    assert not at.exception, at.exception
    assert not [d for d in at.dataframe if "epochs run" in d.value.columns]
    shown = next(t.value for t in at.table if "epochs run" in t.value.columns)
    assert list(shown["run"]) == list(desk["run"])
    assert list(shown["epochs run"]) == list(desk["epochs run"])


def test_a_test_score_not_known_yet_shows_a_dash_at_a_desk_and_on_a_projector(store):
    """A running run is scored on its test set only at the end: its cell in Compare's
    table reads "—" (Streamlit's dataframe would print "None"), as in projector mode, and
    History's table does the same."""
    at = open_app()
    with RunStore(store) as s:
        done = train(TINY, store=s, name="finished").run_id
        running = _live_run(s, "half way", 3)
    at.session_state["compare_runs"] = [done, running]
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    desk = next(d for d in at.dataframe if "epochs run" in d.value.columns)
    test_column = next(c for c in desk.value.columns if c.startswith("test "))
    assert desk.value[test_column].isna().tolist() == [False, True]  # the case at hand
    assert desk.proto.placeholder == "—"
    at.toggle(key="large_fonts").set_value(True).run()
    assert not at.exception, at.exception
    projector = next(t for t in at.table if "epochs run" in t.value.columns)
    assert "—".encode() in projector.proto.SerializeToString()  # the styler's shown values
    at.toggle(key="large_fonts").set_value(False).run()
    (runs,) = history(at).dataframe  # History's table, where a running run has gaps too
    assert runs.proto.placeholder == "—"


def test_a_run_link_that_is_not_a_run_number_or_names_no_stored_run_gets_a_note(store):
    """``?run=abc`` used to be dropped without a word (every other unusable parameter gets
    a note), and ``?run=99999`` said the run "no longer exists" of a run never stored,
    then opened Live with its chart options above a chart it would not draw. Both get a
    note and open on the lessons."""
    at = open_app({"run": "abc"})
    notes = " ".join(w.value for w in at.warning)
    assert "ignored URL parameter 'run': 'abc' is not a run number" in notes
    at = open_app({"run": "99999"})
    notes = " ".join(w.value for w in at.warning)
    assert "ignored URL parameter 'run': no run #99999 in this store" in notes
    assert at.session_state[K.view] == V.lessons and K.focus not in at.session_state
    assert "run" not in at.query_params


def test_history_shows_each_runs_results_before_its_wide_columns(store):
    """Lesson runs' names are long: with the results after the time and the config, a
    1400-pixel page showed History's results only to a reader who scrolled the table."""
    with RunStore(store) as runs:
        train(TINY, store=runs, name="Sharing helps · shuffled control · seed 38839")
        columns = list(runs_overview(runs.runs()).columns)
    assert columns.index("test metric") < columns.index("created") < columns.index("config")
    assert columns[:6] == ["id", "name", "status", "task", "best val loss", "test metric"]


def test_history_says_which_actions_take_the_first_of_several_selected_runs(store):
    """With two rows selected, Rename and Show curves acted on the first without a word."""
    with RunStore(store) as runs:
        ids = [runs.create_run(TINY.to_dict(), name=f"run {k}") for k in (1, 2)]
        for run in ids:
            runs.set_status(run, "completed", "")
    at = open_app(**{K.large: True})  # projector mode: the runs are picked in a list
    at.button_group(key=picker_key(at.session_state)).set_value(V.history).run()
    at.multiselect(key="history_picked").set_value(ids).run()
    assert not at.exception, at.exception
    said = " ".join(c.value for c in at.caption)
    assert f"act on the first selected run, #{ids[0]} (run 1)" in said
    assert "Delete on all 2" in said


def test_history_shows_a_training_runs_best_validation_loss_so_far(store):
    """A run still training has no summary yet: History left its best val loss empty, the
    one number a teacher looks at while a class trains. It shows the best so far now, of
    the first main task, and says so; the CLI's list does the same."""
    losses = [0.9, 0.5, 0.7]  # epochs 1-3; the best so far is epoch 2's
    with RunStore(store) as runs:
        run = runs.create_run(TINY.replace(tasks=["digit", "parity"]).to_dict(), name="live one")
        runs.set_status(run, "running", "")
        for epoch, loss in enumerate(losses, start=1):
            rows = [("digit", "val", "loss", loss), ("digit", "train", "loss", loss / 2)]
            rows += [("parity", "val", "loss", loss / 10)]  # not the first main task
            runs.append_epoch(run, epoch, rows)
        listed = runs_table(runs, runs.runs())
    assert listed.set_index("id").loc[run, "best val loss"] == min(losses)
    at = history(open_app())
    shown = at.dataframe[0].value.set_index("id")
    assert shown.loc[run, "best val loss"] == min(losses)
    assert SO_FAR in [c.value for c in at.caption]
