"""Determinism: the same config, seed and thread count give bitwise-equal metric tables,
in fresh processes, with three processes training at once, and in threads of one process."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mtl_core.config import from_dict
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train

HELPER = Path(__file__).parent / "helpers" / "train_rows.py"

# Exercises dropout, label budgets, a masked-input task and the soft penalty.
SETUP = {
    "dataset": "mnist-5k",
    "train_size": 200,
    "tasks": ["digit"],
    "aux": ["parity", "quadrant"],
    "task_sizes": {"parity": 1000},
    "sharing": "soft",
    "soft_lambda": 0.5,
    "width": 64,
    "depth": 2,
    "dropout": 0.2,
    "batch_size": 32,
    "epochs": 2,
    "seed": 5,
    "threads": 1,
}


def comparable(rows) -> list[tuple]:
    return [tuple(r) for r in rows if r[3] != "wall_time"]


def start(config: dict, store: Path | None = None) -> subprocess.Popen:
    command = [sys.executable, str(HELPER), json.dumps(config)]
    if store is not None:
        command.append(str(store))
    return subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    result = json.loads(out)
    assert result["status"] == "completed"
    result["rows"] = comparable(result["rows"])
    return result


@pytest.mark.slow
def test_fresh_processes_give_bitwise_equal_tables_also_when_three_run_at_once(tmp_path):
    """One process alone, then three at once writing to one store: four identical tables,
    equal to the same run in this process; another seed gives a different table."""
    store = tmp_path / "runs.sqlite"
    setup = SETUP
    alone = finish(start(setup, store))
    together = [start(setup, store) for _ in range(3)]
    results = [finish(p) for p in together]
    assert len(alone["rows"]) > 50
    for result in results:
        assert result["rows"] == alone["rows"]
    assert comparable(train(from_dict(setup)).rows) == alone["rows"]
    assert comparable(train(from_dict({**setup, "seed": 6})).rows) != alone["rows"]
    with RunStore(store) as reader:  # four processes wrote to one store: nothing was lost
        runs = reader.runs()
        assert sorted(runs["status"]) == ["completed"] * 4
        for run_id in runs["id"]:
            table = reader.metrics(int(run_id))
            stored = table[table["metric"] != "wall_time"].drop(columns="run_id")
            assert sorted(stored.itertuples(index=False, name=None)) == sorted(alone["rows"])


def test_runs_in_threads_of_one_process_stay_reproducible(make_config):
    """Two runs training at the same time in threads give the tables of a run trained alone."""
    config = make_config(aux=["parity"], dropout=0.3, epochs=4, seed=3, width=48)
    alone = comparable(train(config).rows)
    results: list = [None, None]

    def work(i):
        results[i] = comparable(train(config).rows)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == alone and results[1] == alone
