"""Sinks: the trainer writes a run through the seven ``RunSink`` calls only, and the
in-memory sink, the SQLite store and the Ray relay (replayed as the driver replays it)
end up with the same rows, summary, provenance and arrays."""

from __future__ import annotations

import inspect
import queue

import numpy as np
import pandas as pd
import pytest

from mtl_core.errors import StoreError
from mtl_core.execution.ray_task import RelaySink
from mtl_core.store.runs import METRIC_COLUMNS, RunStore
from mtl_core.training.sink import WRITES, MemorySink, RunSink
from mtl_core.training.trainer import train

TIMED_METRICS = {"wall_time"}  # measured, so different in every run
TIMED_SUMMARY = {"elapsed", "paused"}


def protocol_methods() -> set[str]:
    return {n for n, v in vars(RunSink).items() if inspect.isfunction(v) and n[0] != "_"}


def untimed(frame: pd.DataFrame) -> pd.DataFrame:
    kept = frame[~frame.metric.isin(TIMED_METRICS)].drop(columns="run_id")
    return kept.reset_index(drop=True)


def untimed_summary(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIMED_SUMMARY}


def same_run(a, a_id: int, b, b_id: int) -> None:
    """Two sinks hold the same run: rows (the timed ones by key), status, summary, arrays."""
    rows_a, rows_b = a.metrics(a_id), b.metrics(b_id)
    assert list(rows_a.columns) == list(rows_b.columns) == METRIC_COLUMNS
    assert list(rows_a.dtypes) == list(rows_b.dtypes)
    keys = ["epoch", "task", "split", "metric"]
    assert rows_a[keys].equals(rows_b[keys])  # every row, wall_time included, same order
    pd.testing.assert_frame_equal(untimed(rows_a), untimed(rows_b), check_exact=True)
    run_a, run_b = a.get_run(a_id), b.get_run(b_id)
    for key in ("name", "config", "status", "message", "owner"):
        assert run_a[key] == run_b[key], key
    assert untimed_summary(run_a["summary"]) == untimed_summary(run_b["summary"])
    assert run_a["provenance"] == run_b["provenance"]
    assert a.array_names(a_id) == b.array_names(b_id) != []
    for name in a.array_names(a_id):
        (x, meta_x), (y, meta_y) = a.get_array(a_id, name), b.get_array(b_id, name)
        assert x.dtype == y.dtype and np.array_equal(x, y) and meta_x == meta_y, name
    assert a.last_epoch(a_id) == b.last_epoch(b_id)


def test_a_run_in_memory_equals_the_same_run_in_a_store(make_config, tmp_path):
    """Hard sharing with an auxiliary task: weights, conflict and test rows too."""
    config = make_config(aux=["parity"], epochs=2)
    memory = MemorySink()
    in_memory = train(config, sink=memory, name="twin", owner="me")
    with RunStore(tmp_path / "runs.sqlite") as store:
        in_store = train(config, sink=store, name="twin", owner="me")
        same_run(memory, in_memory.run_id, store, in_store.run_id)
        assert (store.metrics(in_store.run_id).metric == "cos:digit|parity").any()
    assert in_memory.status == in_store.status == "completed"


def test_store_is_the_old_name_of_sink(make_config, tmp_path):
    memory = MemorySink()
    result = train(make_config(epochs=1), store=memory)
    assert memory.get_run(result.run_id)["status"] == "completed"
    with pytest.raises(TypeError, match="not both"):
        train(make_config(epochs=1), sink=memory, store=memory)


class Recorder:
    """Exactly the protocol's methods, nothing else: anything more that train() called
    would be an AttributeError, recorded as a failed run."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def create_run(self, config, *, name="", owner=""):
        self.calls.append("create_run")
        return 7

    def __getattr__(self, name):
        if name not in WRITES:
            raise AttributeError(name)
        return lambda run_id, *args, **kwargs: self.calls.append(name)


def test_train_uses_only_the_protocol_calls(make_config):
    assert protocol_methods() == {"create_run", *WRITES}
    recorder = Recorder()
    result = train(make_config(epochs=2), sink=recorder)
    assert result.status == "completed" and result.run_id == 7
    assert set(recorder.calls) == {"create_run", *WRITES} - {"heartbeat", "set_status"}
    assert recorder.calls[0] == "create_run" and recorder.calls[-1] == "finish"
    assert recorder.calls.count("append_epoch") == 3  # epochs 0, 1 and 2


def test_the_three_sinks_implement_the_protocol(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        sinks = [store, MemorySink(), RelaySink(queue.Queue())]
        for sink in sinks:
            assert isinstance(sink, RunSink), type(sink).__name__
            for name in protocol_methods():  # the protocol's parameters, in its order
                wanted = list(inspect.signature(getattr(RunSink, name)).parameters.values())
                got = inspect.signature(getattr(sink, name)).parameters
                positional = [p.name for p in wanted[1:] if p.kind != p.KEYWORD_ONLY]
                assert list(got)[: len(positional)] == positional, (type(sink), name)
                for p in wanted[1:]:
                    assert got[p.name].kind == p.kind, (type(sink), name, p.name)


def test_the_ray_relay_replayed_on_a_store_gives_the_local_run(make_config, tmp_path):
    """The Ray task's sink, without Ray: its messages replayed as the driver replays them."""
    config = make_config(aux=["parity"], epochs=2)
    out: queue.Queue = queue.Queue()
    with RunStore(tmp_path / "runs.sqlite") as store:
        local = train(config, sink=store, name="relayed")
        run_id = store.create_run(config.to_dict(), name="relayed")
        relay = RelaySink(out)
        train(config, sink=relay, run_id=run_id)
        assert relay.finished
        names = []
        while not out.empty():
            kind, name, args, kwargs = out.get()
            assert kind == "store" and name in WRITES
            names.append(name)
            getattr(store, name)(run_id, *args, **kwargs)
        assert names[-1] == "finish"
        same_run(store, local.run_id, store, run_id)
    with pytest.raises(RuntimeError, match="run_id"):
        relay.create_run(config.to_dict())


def test_memory_sink_reads_like_the_store(tmp_path):
    """Upsert, since_epoch, run order, unknown ids and statuses, exports."""
    memory = MemorySink()
    with RunStore(tmp_path / "runs.sqlite") as store:
        for sink in (memory, store):
            a = sink.create_run({"x": 1})
            b = sink.create_run({"x": 2}, name="second")
            sink.append_epoch(a, 0, [("t", "val", "loss", 2), ("t", "train", "loss", 3.5)])
            sink.append_epoch(a, 1, [("t", "val", "loss", 1.0)])
            sink.append_epoch(a, 1, [("t", "val", "loss", 0.5)])  # written again: replaced
            sink.append_epoch(b, 0, [("u", "val", "loss", 9.0)])
            sink.finish(a, "completed", "", {"main": {}}, {1: [("t", "test", "loss", 0.25)]})
        pd.testing.assert_frame_equal(memory.metrics([1, 2]), store.metrics([1, 2]))
        pd.testing.assert_frame_equal(memory.metrics(1, since_epoch=0), store.metrics(1, 0))
        assert memory.metrics().equals(store.metrics([1, 2]))
        assert memory.last_epoch(1) == store.last_epoch(1) == 1
        assert memory.get_run(2)["name"] == "second" and memory.get_run(1)["name"] == "run 1"
        assert list(memory.runs().id) == list(store.runs().id) == [2, 1]
        assert list(memory.runs().columns) == list(store.runs().columns)
        memory.export_csv([1, 2], tmp_path / "memory.csv")
        store.export_csv([1, 2], tmp_path / "store.csv")
        assert (tmp_path / "memory.csv").read_text() == (tmp_path / "store.csv").read_text()
    with pytest.raises(StoreError, match="no run with id 9"):
        memory.get_run(9)
    with pytest.raises(StoreError, match="no stored array"):
        memory.get_array(1, "features/best/shared")
    with pytest.raises(ValueError, match="unknown status 'done'"):
        memory.set_status(1, "done")
