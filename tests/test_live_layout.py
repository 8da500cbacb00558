"""The Live view keeps its parts in place while a run moves from queued to running.

A live page redraws as a fragment: an element that moves to another position in the page
is drawn anew there, while the browser keeps the old one until the fragment's run ends.
When the "starting" line went away, Pause and Stop moved up one place and the page briefly
showed two Pause buttons (a browser test saw both). Every part that comes and goes keeps
its own slot, so Pause, Stop and the chart sit at the same place in every state.
"""

from __future__ import annotations

import json

import pytest

from mtl_core.config import DEFAULT, from_dict
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.models.counting import param_count
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from tests.helpers.apptest import array, figures, open_app, texts, train_button


def path_of(block, key: str, prefix=()) -> tuple[int, ...] | None:
    """Where the element with widget key ``key`` sits in the page's tree."""
    for index, node in getattr(block, "children", {}).items():
        if getattr(node, "key", None) == key:
            return (*prefix, index)
        found = path_of(node, key, (*prefix, index))
        if found is not None:
            return found
    return None


def chart_path(block, prefix=()) -> tuple[int, ...] | None:
    for index, node in getattr(block, "children", {}).items():
        if node.type == "bidi_component":
            return (*prefix, index)
        found = chart_path(node, (*prefix, index))
        if found is not None:
            return found
    return None


def test_pause_stop_and_the_chart_keep_their_place_from_queued_to_running(fresh):
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()  # ``fresh``: the run stays queued in this page's manager
    assert not at.exception, at.exception
    run = at.session_state[K.focus]
    assert any(i.value.startswith("queued") for i in at.info)  # the line that goes
    queued = [path_of(at.main, f"{b}_{run}") for b in ("pause", "stop")], chart_path(at.main)
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
    at.run()
    assert not at.exception, at.exception
    assert not any(i.value.startswith("queued") for i in at.info)
    running = [path_of(at.main, f"{b}_{run}") for b in ("pause", "stop")], chart_path(at.main)
    assert None not in queued[0] and queued[1] is not None
    assert running == queued


def cards_data(at) -> dict:
    """What the page gave its cards component (widgets/cards.py)."""
    (data,) = [
        json.loads(e.proto.json)
        for e in at.get("bidi_component")
        if e.proto.component_name.endswith("cards")
    ]
    return data


def test_the_cards_get_every_stored_epochs_numbers_and_the_test_score_at_the_end(fresh):
    """The page gives its cards the numbers of every epoch it has read (the chart's feed
    then moves them on: tests/e2e/test_browser.py), the parameter count before the trainer
    stored its own, and the test score once the run has ended."""
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    run = at.session_state[K.focus]
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
        store.append_epoch(
            run, 0, [("digit", "train", "loss", 2.31), ("digit", "val", "loss", 2.30)]
        )
        config = from_dict(store.get_run(run)["config"])
    at.run()
    assert not at.exception, at.exception
    data = cards_data(at)
    assert data["live"] and data["numbers"]["epoch"] == 0  # the browser says "once an epoch…"
    assert data["params"] == param_count(config)
    assert [c["task"] for c in data["cards"]] == ["digit"] and data["cards"][0]["test"] is None
    assert not any("These cards show epoch" in c.value for c in at.caption)
    with RunStore(fresh) as store:
        rows = [("digit", "train", "loss", 1.2), ("digit", "val", "loss", 1.4)]
        store.append_epoch(run, 1, [*rows, ("_run", "train", "wall_time", 0.03)])
        summary = {"best_epoch": 1, "best_val_loss": 1.4, "train_loss": 1.2, "gap": 0.2}
        main = {"digit": {**summary, "test_metric": 0.9}}
        store.finish(run, Status.COMPLETED, "", {"main": main}, {})
    at.run()
    assert not at.exception and not at.error, (at.exception, at.error)
    data = cards_data(at)
    assert not data["live"] and data["numbers"]["epoch"] == 1
    assert data["numbers"]["tasks"]["digit"] == {
        "best": 1,
        "loss": 1.4,
        "gap": pytest.approx(0.2),
        "rising": None,
        "diverging": None,
        "improving": True,  # ended at its lowest validation loss: the card says so
    }
    assert data["cards"][0]["test"] == 0.9


def test_what_am_i_looking_at_says_so_when_the_charts_show_the_metric(fresh):
    """The explanation speaks of losses (a U shape, its star); beside accuracy curves it
    described another chart. A line above it says what the charts show."""
    from mtl_core.dashboard.widgets.explainer import METRIC_NOTE

    with RunStore(fresh) as store:
        run = store.create_run(DEFAULT.to_dict(), name="done")
        store.set_status(run, Status.COMPLETED, "")
    at = open_app({"run": str(run)})
    assert METRIC_NOTE not in texts(at)
    at.button_group(key="view").set_value("metric").run()
    assert not at.exception, at.exception
    assert METRIC_NOTE in texts(at)


def test_pause_says_at_once_that_it_was_asked(fresh):
    """A run honours Pause and Stop between batches: for about a second after a click
    the page went on as before (Stop could be clicked again). The click now asks before
    the redraw, which shows the button as asked and greyed until the run's status moves."""
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    run = at.session_state[K.focus]
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
    at.run()
    at.button(key=f"pause_{run}").click().run()
    assert not at.exception, at.exception
    pause = at.button(key=f"pause_{run}")
    assert (pause.label, pause.disabled) == ("Pausing…", True)
    assert not at.button(key=f"stop_{run}").disabled
    with RunStore(fresh) as store:
        assert store.pending_request(run) == "pause"
        store.set_status(run, Status.PAUSED)
    at.run()
    assert at.button(key=f"resume_{run}").label == "Resume"


def test_no_best_epoch_star_before_a_live_runs_first_trained_epoch(fresh):
    """At epoch 0 the chart's star said "best epoch 0" (the untrained network) beside
    cards that wait for a trained epoch; the star comes with epoch 1, as they do. Each
    state is opened by a new page (the run's link): a page that holds the live chart is
    sent no figure again, and its feed keeps the same rule (``first_shown``, plot.py)."""
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    run = at.session_state[K.focus]
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
        store.append_epoch(run, 0, [("digit", "train", "loss", 2.3), ("digit", "val", "loss", 2.3)])

    def star_x(at) -> list:
        chart = figures(at)["live_chart"]
        (star,) = [t for t in chart["data"] if (t.get("meta") or {}).get("star")]
        return list(array(star["x"])) if star.get("x") is not None else []

    assert star_x(open_app({"run": str(run)}, painted=False)) == []
    with RunStore(fresh) as store:
        rows = [("digit", "train", "loss", 1.2), ("digit", "val", "loss", 1.4)]
        store.append_epoch(run, 1, [*rows, ("_run", "train", "wall_time", 0.03)])
    assert star_x(open_app({"run": str(run)}, painted=False)) == [1]


def test_the_train_clicks_own_script_run_draws_an_epoch_0_stored_meanwhile(fresh, monkeypatch):
    """Epoch 0 takes tens of milliseconds on a warm worker: the click's script run waits for
    it (briefly) right before Live reads the run's curves, so the first point is drawn at
    once rather than a second later by the feed. A stand-in worker stores it 0.1 s after
    the start."""
    import threading

    from mtl_core.dashboard.runs import RunManager

    started = RunManager.start

    def start(self, config, **kwargs):
        run = started(self, config, **kwargs)
        with self._lock:  # handed to a free slot at once, as with a free worker
            self._queue.remove(run)

        def worker() -> None:
            with RunStore(fresh) as store:
                store.set_status(run, Status.RUNNING)
                store.append_epoch(
                    run, 0, [("digit", "train", "loss", 2.3), ("digit", "val", "loss", 2.2)]
                )

        threading.Timer(0.1, worker).start()
        return run

    monkeypatch.setattr(RunManager, "start", start)
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert K.first_epoch not in at.session_state  # the wait was taken, once
    val = [t for t in figures(at)["live_chart"]["data"] if t.get("name") == "digit · val"]
    assert [list(array(t["y"])) for t in val] == [[2.2]]


def test_a_click_whose_run_waits_for_a_slot_does_not_wait_for_its_first_epoch(fresh, monkeypatch):
    """Queued behind other runs (``fresh``: no worker takes it), the run has no epoch 0 to
    show within the click's script run: it draws at once, without checking the store."""
    checks: list[int] = []
    last_epoch = RunStore.last_epoch

    def check(self, run_id):  # the wait's look at the store, every 5 ms
        checks.append(run_id)
        return last_epoch(self, run_id)

    monkeypatch.setattr(RunStore, "last_epoch", check)
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert K.first_epoch not in at.session_state  # the Train click's own script run drew
    with RunStore(fresh) as store:
        assert store.runs().status.tolist() == ["queued"]
    assert checks == []


def _runs_when_the_sidebar_is_drawn(fresh, monkeypatch) -> list[int]:
    """How many runs the store holds each time the page draws its sidebar's controls."""
    from mtl_core.dashboard.widgets import controls

    seen: list[int] = []
    drawn = controls.sidebar

    def sidebar(draw: bool = True):
        with RunStore(fresh) as store:
            seen.append(len(store.runs()))
        return drawn(draw)

    monkeypatch.setattr(controls, "sidebar", sidebar)
    return seen


def test_a_plain_train_click_starts_its_run_before_the_sidebar_is_drawn(fresh, monkeypatch):
    """Train's callback starts a plain click's run before the script body, so the worker
    trains epoch 0 while the page draws its widgets (widgets/train_start.py)."""
    seen = _runs_when_the_sidebar_is_drawn(fresh, monkeypatch)
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert seen[-1] == 1  # stored before the sidebar was drawn
    with RunStore(fresh) as store:
        assert len(store.runs()) == 1  # and only once
    assert at.session_state[K.view] == V.live and at.session_state[K.focus] == 1
    train_button(at).click().run()  # the same setup again: the stored run is offered
    assert [b.key for b in at.sidebar.button if b.key.startswith("twin_")]
    with RunStore(fresh) as store:
        assert len(store.runs()) == 1


def test_a_click_that_comes_with_a_changed_control_starts_after_the_sidebar(fresh, monkeypatch):
    """A control changed in the same request is sanitised by the sidebar first: such a
    click is left to the script run, which starts the run with the new value."""
    seen = _runs_when_the_sidebar_is_drawn(fresh, monkeypatch)
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    at.sidebar.number_input(key="c_epochs").set_value(4)
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert seen[-1] == 0
    with RunStore(fresh) as store:
        (config,) = store.runs().config
    assert config["epochs"] == 4


def test_the_train_clicks_script_run_names_the_run_before_it_waits_for_epoch_0(fresh, monkeypatch):
    """While a cold worker starts, the wait for epoch 0 takes its whole half second: the
    view the click replaced is gone by then, so the run's heading is drawn first, not a
    blank main area."""
    import streamlit as st

    from mtl_core.dashboard.pages import live

    events: list[str] = []
    markdown = st.markdown

    def noted_markdown(body, *args, **kwargs):
        events.append(str(body))
        return markdown(body, *args, **kwargs)

    def noted_wait(manager, run_id, limit=0.5):
        events.append("wait")

    monkeypatch.setattr(st, "markdown", noted_markdown)
    monkeypatch.setattr(live, "wait_for_first_epoch", noted_wait)
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert "wait" in events
    heading = next(i for i, e in enumerate(events) if e.startswith("#### "))
    assert heading < events.index("wait"), events


def test_the_explainer_calls_a_training_loss_that_rose_too_unstable_not_overfitting():
    from mtl_core.dashboard.widgets.explainer import run_lines

    task = {"best_epoch": 2, "best_val_loss": 0.6, "train_loss": 0.4, "gap": 0.2}
    run = {"name": "run 1", "summary": {"main": {"digit": {**task, "rising_since": 2}}}}
    (overfit,) = run_lines(run)
    assert overfit.endswith("kept rising: overfitting.")
    numbers = {"tasks": {"digit": {"diverging": 2}}}  # as card_numbers says
    (unstable,) = run_lines(run, numbers)
    assert "From epoch 2 on, the training loss rose too" in unstable
    assert "unstable" in unstable and "kept rising: overfitting" not in unstable


def test_an_ended_runs_panels_keep_one_x_axis_from_0_to_its_epochs(fresh):
    # ended, each panel was fitted to its own points and star: the digit panel ran past
    # epoch 30 to fit its star, the parity panel stopped at 30, with other ticks
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100", "aux": "parity"})
    train_button(at).click().run()
    run = at.session_state[K.focus]
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
        for epoch, loss in enumerate((2.3, 1.5, 1.2, 1.0)):
            rows = [(t, s, "loss", loss) for t in ("digit", "parity") for s in ("train", "val")]
            store.append_epoch(run, epoch, rows)
        summary = {"best_epoch": 3, "best_val_loss": 1.0, "train_loss": 1.0, "gap": 0.0}
        store.finish(
            run, Status.COMPLETED, "", {"main": {"digit": {**summary, "test_metric": 0.5}}}, {}
        )
    at.run()
    assert not at.exception, at.exception
    layout = figures(at)["live_chart"]["layout"]
    ranges = [layout[k].get("range") for k in layout if k.startswith("xaxis")]
    assert len(ranges) == 2 and ranges == [[0, 3], [0, 3]], ranges
