"""A study view's live panel reads its own runs every second, never the whole store.

The Sharing depth, Trade-off and Learning curve views redraw their panel about every
second while a run of their study trains. Each redraw read and parsed every stored run
(23.6 ms with 600 stored, 42 ms with 1,200: bench/bench_store_reads.py), where a lesson's
or a comparison's panel already read only its own runs. The view reads the store once
per script run to find its study's runs; the panel then reads those alone, so a store
full of a class's other runs costs it nothing. History lists every run, so it reads them
all, but once per script run: its table's fragment takes the read its full script run made
to choose the table's refresh rate.
"""

from __future__ import annotations

import pytest
import streamlit as st

from mtl_core.config import DEFAULT
from mtl_core.dashboard.urlstate import config_to_params
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.studies.sharing_depth import depth_jobs
from tests.helpers.apptest import open_app, queue_only, use_store

PAGE = DEFAULT.replace(dataset="digits", train_size=100, width=16, depth=1, epochs=3)
SETUPS = {  # a setup each study can be drawn for
    V.depth: PAGE.replace(aux=["parity"]),
    V.pareto: PAGE.replace(tasks=["digit", "parity"]),
    V.learning: PAGE.replace(aux=["parity"]),
}


@pytest.fixture
def store(tmp_path, monkeypatch):
    queue_only(monkeypatch)
    yield use_store(monkeypatch, tmp_path)
    st.cache_resource.clear()


@pytest.mark.parametrize("view", [V.depth, V.pareto, V.learning])
def test_a_study_panel_reads_its_runs_not_the_whole_store(store, monkeypatch, view):
    with RunStore(store) as runs:
        for _, name, config in depth_jobs(SETUPS[V.depth], 1, vary_data=True):  # live runs
            runs.create_run(config.to_dict(), name=name)
        for seed in range(20):  # the class's other runs
            runs.create_run(DEFAULT.replace(seed=100 + seed).to_dict(), name=f"other {seed}")
    whole = count_whole_reads(monkeypatch)
    at = open_app(config_to_params(SETUPS[view]))
    whole.clear()
    at.button_group(key=picker_key(at.session_state)).set_value(view).run()
    assert not at.exception, at.exception
    assert len(whole) <= 1  # the view's own search for its runs, once per script run


def test_history_reads_the_whole_store_once_per_script_run(store, monkeypatch):
    with RunStore(store) as runs:
        for seed in range(5):
            runs.create_run(DEFAULT.replace(seed=100 + seed).to_dict(), name=f"run {seed}")
    whole = count_whole_reads(monkeypatch)
    at = open_app()
    whole.clear()
    at.button_group(key=picker_key(at.session_state)).set_value(V.history).run()
    assert not at.exception, at.exception
    assert at.dataframe, "History drew no table"
    assert len(at.dataframe[0].value) == 5
    assert len(whole) == 1  # the table's and the refresh rate's read, shared


def count_whole_reads(monkeypatch) -> list[int]:
    """A list that grows by one at each read of every stored run (``RunStore.runs`` without
    a selection)."""
    whole: list[int] = []
    real = RunStore.runs

    def spy(self, *args, **kwargs):
        if not args and not any(kwargs.get(k) is not None for k in ("ids", "seeds", "owner")):
            whole.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RunStore, "runs", spy)
    return whole
