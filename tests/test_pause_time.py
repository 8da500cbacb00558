"""A pause is not training time: elapsed, stored wall times and the time-left estimate
leave it out.

A tiny run is paused after its first epoch for ``PAUSE`` seconds (a timer resumes it);
every epoch trains in a few milliseconds, so any reported time that held the pause would
be at least ``PAUSE`` long.
"""

from __future__ import annotations

import threading
import time

import pytest

from mtl_core.store.runs import RunStore
from mtl_core.training.control import RunControl
from mtl_core.training.trainer import train

PAUSE = 1.5  # seconds


@pytest.fixture(scope="module")
def paused_run(tmp_path_factory):
    """A tiny stored run paused after epoch 1: (result, stored summary, callback events,
    stored wall times per epoch, the real seconds from the epoch-0 callback to each later
    callback and to the end)."""
    from tests.conftest import tiny_config

    control = RunControl()
    events, seen = [], {}

    def on_epoch(event):
        events.append(event)
        seen[event.epoch] = time.monotonic()
        if event.epoch == 1:
            control.pause()
            threading.Timer(PAUSE, control.resume).start()

    path = tmp_path_factory.mktemp("pause") / "runs.sqlite"
    with RunStore(path) as store:
        result = train(tiny_config(epochs=3), store=store, control=control, callback=on_epoch)
        seen["end"] = time.monotonic()
        metrics = store.metrics(result.run_id)
        stored = store.get_run(result.run_id)["summary"]
    wall = metrics[metrics.metric == "wall_time"].set_index("epoch").value.sort_index()
    real = {k: v - seen[0] for k, v in seen.items()}
    assert result.status == "completed", result.message
    assert real[2] - real[1] >= PAUSE  # the precondition: the run really waited
    return result, stored, events, wall.to_dict(), real


def test_the_summary_elapsed_leaves_the_pause_out(paused_run):
    """From the epoch-0 callback to the end, the summary's elapsed grows by the real time
    minus the pause, which the summary records as ``paused``."""
    result, stored, events, _, real = paused_run
    assert stored == result.summary
    assert PAUSE - 0.05 <= result.summary["paused"] <= real[2] - real[1]
    assert result.summary["elapsed"] - events[0].elapsed <= real["end"] - PAUSE + 0.01


def test_stored_wall_times_leave_the_pause_out(paused_run):
    """Epoch 2, during which the run waited, took no longer than a tiny epoch takes."""
    _, _, _, wall, real = paused_run
    assert sorted(wall) == [0, 1, 2, 3]
    assert max(wall.values()) < PAUSE / 3
    assert sum(wall.values()) <= real["end"] - PAUSE


def test_the_callbacks_elapsed_does_not_jump_over_the_pause(paused_run):
    _, _, events, _, real = paused_run
    elapsed = [e.elapsed for e in events]
    assert [e.epoch for e in events] == [0, 1, 2, 3]
    assert elapsed == sorted(elapsed)
    assert elapsed[2] - elapsed[1] <= real[2] - real[1] - PAUSE + 0.01


def test_the_time_left_estimate_of_the_live_view_uses_the_stored_wall_times(paused_run):
    """The dashboard's progress bar adds the stored wall times: paused time stays out."""
    import pandas as pd

    from mtl_core.dashboard.pages.live import eta_seconds

    _, _, _, wall, _ = paused_run
    frame = pd.DataFrame(
        {
            "epoch": list(wall),
            "task": "_run",
            "split": "train",
            "metric": "wall_time",
            "value": list(wall.values()),
        }
    )
    elapsed, left = eta_seconds(frame, planned=6)
    assert elapsed == pytest.approx(sum(wall.values())) and elapsed < PAUSE / 3
    assert left == pytest.approx(elapsed)  # 3 of 6 epochs done: as long again
