"""A pause is not training time: elapsed, stored wall times and the time-left estimate
leave it out.

The trainer's clock (``time.monotonic`` as ``mtl_core.training.loop`` reads it) is replaced
by a fake one that moves ``TICK`` per reading, and a pause after the first epoch moves it
``PAUSE`` seconds at once while the run waits. Every check compares fake times, so none
depends on how fast the machine is: a reported time that held the pause would be at least
``PAUSE`` long, while a whole tiny run is a few hundred readings, far less than ``PAUSE``.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import mtl_core.training.loop as loop
from mtl_core.store.runs import RunStore
from mtl_core.training.control import RunControl
from mtl_core.training.trainer import train

PAUSE = 1000.0  # fake seconds spent paused
TICK = 0.001  # fake seconds per reading of the clock


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        self.now += TICK
        return self.now


class ClockedControl(RunControl):
    """A pause that lasts ``PAUSE`` seconds of the fake clock, then resumes by itself."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock, self.waited = clock, 0

    def wait_while_paused(self, tick, every: float = 0.5) -> None:
        self.waited += 1
        self.clock.now += PAUSE
        self.resume()
        super().wait_while_paused(tick, every)


@pytest.fixture(scope="module")
def paused_run(tmp_path_factory):
    """A tiny stored run paused after epoch 1: (result, stored summary, callback events,
    stored wall times per epoch, the fake seconds from the epoch-0 callback to each later
    callback and to the end)."""
    from tests.conftest import tiny_config

    clock = FakeClock()
    control = ClockedControl(clock)
    events, seen = [], {}

    def on_epoch(event):
        events.append(event)
        seen[event.epoch] = clock.now
        if event.epoch == 1:
            control.pause()

    path = tmp_path_factory.mktemp("pause") / "runs.sqlite"
    with pytest.MonkeyPatch.context() as patch, RunStore(path) as store:
        patch.setattr(loop, "time", SimpleNamespace(monotonic=clock.monotonic))
        result = train(tiny_config(epochs=3), store=store, control=control, callback=on_epoch)
        seen["end"] = clock.now
        metrics = store.metrics(result.run_id)
        stored = store.get_run(result.run_id)["summary"]
    wall = metrics[metrics.metric == "wall_time"].set_index("epoch").value.sort_index()
    real = {k: v - seen[0] for k, v in seen.items()}
    assert result.status == "completed", result.message
    assert control.waited == 1  # the precondition: the run really waited, once
    assert real[2] - real[1] >= PAUSE
    assert real["end"] < 1.5 * PAUSE  # the run itself is short next to the pause
    return result, stored, events, wall.to_dict(), real


def test_the_summary_elapsed_leaves_the_pause_out(paused_run):
    """From the epoch-0 callback to the end, the summary's elapsed grows by the clock's
    time minus the pause, which the summary records as ``paused``."""
    result, stored, events, _, real = paused_run
    assert stored == result.summary
    assert PAUSE <= result.summary["paused"] <= real[2] - real[1]
    assert result.summary["paused"] == pytest.approx(PAUSE, abs=0.01)
    assert result.summary["elapsed"] - events[0].elapsed <= real["end"] - PAUSE + 0.01
    assert result.summary["elapsed"] < PAUSE / 3


def test_stored_wall_times_leave_the_pause_out(paused_run):
    """Epoch 2, during which the run waited, took no longer than a tiny epoch takes."""
    _, _, _, wall, real = paused_run
    assert sorted(wall) == [0, 1, 2, 3]
    assert max(wall.values()) < PAUSE / 3
    assert sum(wall.values()) <= real["end"] - PAUSE + 0.01


def test_the_callbacks_elapsed_does_not_jump_over_the_pause(paused_run):
    _, _, events, _, real = paused_run
    elapsed = [e.elapsed for e in events]
    assert [e.epoch for e in events] == [0, 1, 2, 3]
    assert elapsed == sorted(elapsed)
    assert elapsed[2] - elapsed[1] <= real[2] - real[1] - PAUSE + 0.01
    assert elapsed[-1] < PAUSE / 3


def test_the_live_views_clock_adds_the_stored_wall_times(paused_run):
    """The Live view's progress line adds the stored wall times: paused time stays out
    (of the time so far and of the estimate of the time left made from it)."""
    import pandas as pd

    from mtl_core.dashboard.pages.live import Curves, clock

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
    done, elapsed = clock(Curves(frame))
    assert done == max(wall)
    assert elapsed == pytest.approx(sum(wall.values())) and elapsed < PAUSE / 3


EVALUATION = 50.0  # fake seconds one evaluation of a split takes


def test_an_epochs_wall_time_counts_its_evaluation(tmp_path, monkeypatch):
    """The progress line sums the stored wall times and estimates the time left from
    them. They counted the training alone, and the evaluation after it (slower than the
    training on small runs) nowhere: the line said "about 10 s left" of a run that ended
    16 s later. Here each evaluation of a split takes ``EVALUATION`` fake seconds."""
    from tests.conftest import tiny_config

    clock = FakeClock()
    real = loop.evaluate

    def slow(*args, **kwargs):
        clock.now += EVALUATION
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(loop, "evaluate", slow)
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(tiny_config(epochs=2), store=store)
        metrics = store.metrics(result.run_id)
    assert result.status == "completed", result.message
    wall = metrics[metrics.metric == "wall_time"].set_index("epoch").value
    assert all(2 * EVALUATION <= wall[e] < 3 * EVALUATION for e in (0, 1, 2)), wall.to_dict()
