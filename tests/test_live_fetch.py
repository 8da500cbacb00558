"""A live page reads from the store only what can still change.

A lesson page polls once a second while its 15 runs train; each tick used to ask the
store for every run's new epochs, the 14 that had ended too. Checked with a real run
store and a counting wrapper around it: a live run is asked again on every tick, a run
that has ended is asked once more (its last epochs) and then never again, and what is
returned is the run's whole curve either way.
"""

from __future__ import annotations

import pytest
import streamlit as st

from mtl_core.dashboard.pages.live import cached_metrics
from mtl_core.dashboard.state import K
from mtl_core.store.runs import RunStore


class Counting:
    """The manager's store, counting ``metrics`` reads per run."""

    def __init__(self, store: RunStore):
        self.store, self.asked = store, {}

    def metrics(self, run_id, since_epoch=-1):
        self.asked[run_id] = self.asked.get(run_id, 0) + 1
        return self.store.metrics(run_id, since_epoch=since_epoch)


class Manager:
    def __init__(self, store):
        self.store = Counting(store)


@pytest.fixture
def manager(tmp_path):
    st.session_state.pop(K.curves, None)
    with RunStore(tmp_path / "runs.sqlite") as store:
        yield Manager(store)
    st.session_state.pop(K.curves, None)


def _epoch(store: RunStore, run_id: int, epoch: int) -> None:
    store.append_epoch(run_id, epoch, [("digit", "val", "loss", 1.0 / (epoch + 1))])


def test_a_live_run_is_read_every_tick_and_an_ended_one_once_more_then_never(manager):
    store = manager.store.store
    run = store.create_run({})
    _epoch(store, run, 0)
    assert len(cached_metrics(manager, run, live=True)) == 1
    _epoch(store, run, 1)
    assert len(cached_metrics(manager, run, live=True)) == 2  # a new epoch on the next tick
    _epoch(store, run, 2)  # its last epoch, stored before the status said "completed"
    store.finish(run, "completed", "", {}, {})
    for _ in range(5):  # the page saw it ended: one read for the last epoch, then none
        frame = cached_metrics(manager, run, live=False)
        assert sorted(frame.epoch) == [0, 1, 2]
    assert manager.store.asked[run] == 3
    assert frame["value"].dtype == "float64"


def test_a_run_seen_ended_at_its_first_read_is_read_once(manager):
    store = manager.store.store
    run = store.create_run({})
    for epoch in range(4):
        _epoch(store, run, epoch)
    store.finish(run, "completed", "", {}, {})
    for _ in range(3):
        assert len(cached_metrics(manager, run, live=False)) == 4
    assert manager.store.asked[run] == 1
