"""The Live view keeps its parts in place while a run moves from queued to running.

A live page redraws as a fragment: an element that moves to another position in the page
is drawn anew there, while the browser keeps the old one until the fragment's run ends.
When the "starting" line went away, Pause and Stop moved up one place and the page briefly
showed two Pause buttons (a browser test saw both). Every part that comes and goes keeps
its own slot, so Pause, Stop and the chart sit at the same place in every state.
"""

from __future__ import annotations

from mtl_core.dashboard.state import K
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from tests.helpers.apptest import open_app, train_button


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


def test_no_cards_before_the_first_trained_epoch_then_cards_that_say_their_epoch(fresh):
    """A live run's cards redraw every few seconds; a default run trains in about two, so
    its cards showed the untrained network (best validation loss 2.30 "at epoch 0") beside
    a chart that had moved on. Before a trained epoch there are none, and a line says when
    they come."""
    at = open_app({"epochs": "3", "dataset": "digits", "train_size": "100"})
    train_button(at).click().run()
    run = at.session_state[K.focus]
    with RunStore(fresh) as store:
        store.set_status(run, Status.RUNNING)
        store.append_epoch(
            run, 0, [("digit", "train", "loss", 2.31), ("digit", "val", "loss", 2.30)]
        )
    at.run()
    assert not at.exception, at.exception
    assert not at.metric
    assert any("appear once an epoch has trained" in c.value for c in at.caption)
    with RunStore(fresh) as store:
        rows = [("digit", "train", "loss", 1.2), ("digit", "val", "loss", 1.4)]
        store.append_epoch(run, 1, [*rows, ("_run", "train", "wall_time", 0.03)])
    at.run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:1] == ["1.4000"]
    assert any(c.value.startswith("These cards show epoch 1 of 3") for c in at.caption)
