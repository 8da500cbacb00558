"""A live chart the tab already holds is not sent again (widgets/plot.py: ``held``).

A page's full rerun while its run trained (any control changed) sent the whole figure
again and the browser redrew it, points the feed had already drawn: on a classroom server
that held a page's main thread for about a second, the largest gap between its live
points. The page now sends the figure only when the tab lacks it: a new run, a display
control changed, the run ended, or the tab says it has none (the ``lost`` trigger).
The browser side: tests/e2e/test_browser.py.
"""

from __future__ import annotations

from mtl_core.dashboard.state import K
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from tests.helpers.apptest import components, figures, fire, open_app, train_button

ROWS = [("digit", "train", "loss", 2.3), ("digit", "val", "loss", 2.2)]


def live_chart(at) -> tuple[object, dict]:
    (found,) = [(e, data) for e, data in components(at) if data.get("key") == "live_chart"]
    return found


def training(store_path) -> object:
    """A page whose run trains: the click's script run sent the chart (the run queued),
    then the run started and stored epoch 0."""
    at = open_app({"epochs": "5", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    assert "live_chart" in figures(at)  # the feed's from now on
    with RunStore(store_path) as store:
        store.set_status(at.session_state[K.focus], Status.RUNNING)
        store.append_epoch(at.session_state[K.focus], 0, ROWS)
    return at


def test_a_rerun_while_the_run_trains_leaves_the_tab_its_chart(fresh, monkeypatch):
    from mtl_core.dashboard.widgets import plot

    heights = []  # the element's height, sent with each drawing (its place and size)
    drawn = plot._chart
    monkeypatch.setattr(plot, "_chart", lambda **kw: heights.append(kw["height"]) or drawn(**kw))
    at = training(fresh)
    sent = figures(at)["live_chart"]["layout"]["height"]
    with RunStore(fresh) as store:
        store.append_epoch(at.session_state[K.focus], 1, ROWS)
    at.number_input(key="c_data_seed").set_value(7).run()  # a full rerun, as in a class
    assert not at.exception, at.exception
    _, data = live_chart(at)
    assert data["figure"] is None  # the tab's chart goes on, fed
    assert data["feed"]["status"] == "running"
    assert heights[-1] == sent, "the chart keeps its place and size"


def test_a_changed_display_sends_the_figure_anew(fresh):
    at = training(fresh)
    at.slider(key="smoothing").set_value(0.5).run()
    assert not at.exception, at.exception
    smoothed = [
        t["meta"]["smoothing"] for t in figures(at)["live_chart"]["data"] if "feed" in t["meta"]
    ]
    assert smoothed and set(smoothed) == {0.5}


def test_a_tab_without_the_chart_is_sent_it(fresh):
    """The tab says it holds no figure (``lost``): the next run sends one."""
    at = training(fresh).run()
    assert "live_chart" not in figures(at)
    fire(at, live_chart(at)[0], "lost", 1)
    assert not at.exception, at.exception
    assert "live_chart" in figures(at)


def test_an_ended_run_is_sent_its_whole_figure(fresh):
    at = training(fresh)
    with RunStore(fresh) as store:
        store.finish(at.session_state[K.focus], Status.COMPLETED, "", {}, {})
    at.run()
    assert not at.exception, at.exception
    _, data = live_chart(at)
    assert data["figure"] is not None and data["feed"] is None
