"""Ctrl-C is prompt on a busy machine: SIGINT to a `seeds` batch's process group at every
stage of a batch (runs just stored while workers start, the first run starting, two runs
training, runs ending and the next ones starting), while two other processes keep both
cores busy. Every try exits within 30 s with status 130 and one "interrupted" line, leaves
no run queued or running, and no process of the command behind.

Two causes made such a Ctrl-C hang or misfire (mtl_core/execution/parallel.py): the batch waited for
workers still importing torch before it could stop their runs, and a worker started in a
window where SIGINT was ignored or half registered could lose the signal or outlive the
batch. A worker whose run has not begun is now ended at once, workers fork from a
forkserver that ignores SIGINT from its start, and a worker start defers a Ctrl-C until
the worker is tracked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from tests.helpers.waiting import wait_for

pytestmark = pytest.mark.slow
EXIT_WITHIN = 30.0


@pytest.fixture(scope="module")
def busy_cores():
    """Two processes that keep both cores busy for the whole module."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for burner in burners:
        burner.kill()
        burner.wait()


def moment_reached(store: Path, moment: str) -> bool:
    if not store.exists():
        return False
    try:
        with RunStore(store, stale_after=3600) as reader:
            runs = reader.runs()
            running = runs.id[runs.status == "running"].tolist()
            if moment == "stored":
                return len(runs) == 4
            if moment == "first run starts":
                return bool(running)
            if moment == "two runs train":
                return len(running) == 2 and all(reader.last_epoch(int(i)) >= 2 for i in running)
            return bool((runs.status == "completed").any())  # a run ends, the next starts
    except Exception:  # the store is still being created
        return False


@pytest.mark.parametrize("moment", ["stored", "first run starts", "two runs train", "a run ends"])
def test_ctrl_c_exits_promptly_at_every_stage_of_a_batch(busy_cores, tmp_path, moment):
    """Runs too long to end by themselves (workers start in milliseconds now, so a short
    batch could end before the signal lands); for "a run ends", a sweep whose short runs
    end while its long ones train."""
    store = tmp_path / "runs.sqlite"
    tiny = ["--dataset", "digits", "--train-size", "60", "--width", "16", "--depth", "1"]
    if moment == "a run ends":
        sweep = tmp_path / "sweep.yaml"
        sweep.write_text(
            "base: {dataset: digits, train_size: 60, width: 16, depth: 1}\n"
            "axes: {epochs: [2, 10000]}\nseeds: [0, 1]\n"
        )
        command = ["sweep", str(sweep), "--yes", "--quiet", "--store", str(store)]
    else:
        command = [
            "seeds",
            *tiny,
            "--epochs",
            "10000",
            "--k",
            "4",
            "--quiet",
            "--store",
            str(store),
        ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mtl_core", *command],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(
            lambda: moment_reached(store, moment) or proc.poll() is not None,
            240,
            f"the moment '{moment}'",
        )
        assert proc.poll() is None, "the batch ended before the moment came"
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=EXIT_WITHIN)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert took < EXIT_WITHIN
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted", err
    with RunStore(store, stale_after=3600) as reader:
        statuses = reader.runs().status.tolist()
    assert len(statuses) == 4 and not {"queued", "running", "paused"} & set(statuses), statuses

    def no_process_left() -> bool:  # workers, the forkserver, the resource tracker
        found = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        return found.stdout.strip() == ""

    wait_for(no_process_left, 10, "the batch's processes to exit")
