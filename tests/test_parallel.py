"""The batch runner: worker processes give the curves of in-process training bit for bit,
runs show in the store as queued then finished, a failing run does not stop the others,
and Ctrl-C ends the batch with every run stopped (queued ones never start). The first two
tests pin the scheduler core (``scheduler.py``) that this batch, the dashboard's manager
and the Ray driver share, without starting a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import deque
from concurrent.futures.process import BrokenProcessPool

import pytest

from mtl_core.data.download import FILES
from mtl_core.errors import ConfigError, DataError
from mtl_core.execution.parallel import Progress, run_configs
from mtl_core.execution.scheduler import Batch, Slots, deferring_sigint, failure, finish_live
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train
from tests.helpers.waiting import wait_for


def comparable(rows) -> list[tuple]:
    return [tuple(r) for r in rows if r[3] != "wall_time"]


def stored_rows(store: RunStore, run_id: int) -> list[tuple]:
    """The run's rows as the store holds them: (epoch, task, split, metric, value)."""
    metrics = store.metrics(run_id)[["epoch", "task", "split", "metric", "value"]]
    return sorted(comparable(metrics.itertuples(index=False, name=None)))


def test_the_core_records_an_end_once_and_reports_it_in_input_order(tmp_path, make_config):
    reports: list[Progress] = []

    class Two(Batch):
        def in_flight(self) -> int:
            return 0

    with RunStore(tmp_path / "runs.sqlite") as store:
        ids = [store.create_run(make_config().to_dict(), status="queued") for _ in range(2)]
        batch = Two(ids, store, reports.append)
        batch.queue.remove(1)  # started; its worker records its end
        store.finish(ids[1], "completed", "", {}, {})
        batch.record(1, "failed", "died")  # the core must not overwrite it
        batch.drop_queued("stopped before it started")
        assert [store.get_run(i)["status"] for i in ids] == ["stopped", "completed"]
        assert [r.status for r in batch.finished()] == ["stopped", "failed"]
        assert not finish_live(store, ids[0], "failed", "again")
        assert store.get_run(ids[0])["message"] == "stopped before it started"
    assert [(p.done, p.failed, p.ended) for p in reports] == [(1, 1, 1), (2, 1, 0)]
    assert failure(BrokenProcessPool(), "died", "int") == ("failed", "died")
    assert failure(KeyboardInterrupt(), "died", "int") == ("interrupted", "int")
    assert failure(ValueError("bad\nmore"), "died", "int") == (
        "failed",
        "internal error: ValueError: bad",
    )


def test_a_run_no_worker_could_start_for_fails_alone_and_its_slot_serves_a_later_one():
    launched, refused = [], []
    slots = Slots(2, make_pool=object)  # a stand-in for a one-process pool

    def launch(slot, job):
        if job == 0:
            slots.pool(slot)
            raise OSError("no memory")
        slot.job = job
        launched.append((slots.slots.index(slot), job))

    queue = deque([0, 1, 2, 3])
    slots.dispatch(queue, launch, lambda job, exc: refused.append((job, type(exc).__name__)))
    assert refused == [(0, "OSError")]
    assert launched == [(1, 1)]  # the next slot takes the next run, oldest first
    assert list(queue) == [2, 3]  # they wait in the queue, not in a pool
    assert slots.slots[0].job is None and slots.slots[0].pool is None  # a new one next time
    slots.dispatch(queue, launch, lambda job, exc: refused.append(job))
    assert launched[-1] == (0, 2) and list(queue) == [3]
    slots.release(slots.slots[1], 1, None)
    slots.dispatch(queue, launch, lambda job, exc: refused.append(job))
    assert launched[-1] == (1, 3) and not queue


def test_a_ctrl_c_while_a_worker_starts_is_held_until_it_is_tracked_then_raised():
    before = signal.getsignal(signal.SIGINT)
    steps = []
    with pytest.raises(KeyboardInterrupt), deferring_sigint():
        os.kill(os.getpid(), signal.SIGINT)
        steps.append("the start went on")  # not cut halfway by the Ctrl-C
    assert steps == ["the start went on"]
    assert signal.getsignal(signal.SIGINT) is before


def test_batch_equals_sequential_bitwise_and_survives_a_failing_run(
    tmp_path, monkeypatch, make_config
):
    """Four runs, two workers: the run on a damaged dataset fails (in its worker, with the
    loader's message), the other three complete, and the rows their workers stored (read
    back from the store) are exactly those the same configs store when trained here one
    after another at the same thread count, as are their summaries; all four were stored
    as queued before any trained, and their results come back in input order."""
    bad = tmp_path / "idx"
    bad.mkdir()
    for name in FILES:
        (bad / name).write_bytes(b"not an IDX file")
    monkeypatch.setenv("MTL_DATA_DIR", str(bad))
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "root"))
    base = make_config(train_size=50, width=16, epochs=3, aux=["parity"], dropout=0.3)
    configs = [
        base,
        base.replace(dataset="mnist", train_size=50),
        base.replace(seed=1),
        base.replace(seed=2, sharing="soft"),
    ]
    path = tmp_path / "runs.sqlite"
    seen: list[Progress] = []
    first_look: dict[int, str] = {}

    def progress(state: Progress) -> None:
        if not seen:  # the first report comes right after the first runs were handed out
            with RunStore(path) as reader:
                runs = reader.runs()
            first_look.update(zip(runs["id"], runs["status"], strict=True))
        seen.append(state)

    results = run_configs(
        configs, workers=2, store_path=path, names=list("abcd"), progress=progress
    )

    assert [r.run_id for r in results] == [1, 2, 3, 4]
    assert [r.status for r in results] == ["completed", "failed", "completed", "completed"]
    assert "not an MNIST-style IDX file" in results[1].message
    assert sorted(first_look) == [1, 2, 3, 4]
    assert first_look[3] == first_look[4] == "queued"  # two slots: these waited
    assert (seen[-1].done, seen[-1].running, seen[-1].failed) == (4, 0, 1)
    assert max(s.running for s in seen) == 2
    with RunStore(path) as batch, RunStore(tmp_path / "sequential.sqlite") as sequential:
        for config, result in zip(configs, results, strict=True):
            if result.status != "completed":
                continue
            alone = train(config, store=sequential)
            assert comparable(result.rows) == comparable(alone.rows)
            stored = stored_rows(batch, result.run_id)
            assert stored and stored == sorted(comparable(alone.rows))
            assert stored == stored_rows(sequential, alone.run_id)
            untimed = [
                {k: v for k, v in s.get_run(i)["summary"].items() if k != "elapsed"}
                for s, i in ((batch, result.run_id), (sequential, alone.run_id))
            ]
            assert untimed[0]["main"] and untimed[0] == untimed[1]
    with RunStore(path) as reader:
        runs = reader.runs().sort_values("id")
        assert list(runs["status"]) == ["completed", "failed", "completed", "completed"]
        assert list(runs["name"]) == list("abcd")
        stored = reader.metrics(3)
    assert len(stored) == len(results[2].rows)


def test_bad_batches_are_refused_before_anything_is_stored(tmp_path, monkeypatch, make_config):
    """Workers out of range, too few names, or a dataset whose files are missing: one
    error, no store file."""
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "root"))
    path = tmp_path / "runs.sqlite"
    config = make_config()
    with pytest.raises(ConfigError, match="^workers: "):
        run_configs([config], workers=0, store_path=path)
    with pytest.raises(ConfigError, match="^names: "):
        run_configs([config, config], names=["one"], store_path=path)
    with pytest.raises(DataError, match="mnist not found"):
        run_configs([config, config.replace(dataset="mnist")], store_path=path)
    assert not path.exists()
    assert run_configs([], store_path=path) == []


@pytest.mark.slow
def test_ctrl_c_stops_every_run_of_the_batch(tmp_path):
    """Ctrl-C to the whole process group (as a terminal sends it) while two of four runs
    train: the two end as stopped with their epochs and a summary, the two queued ones
    as stopped without starting; exit 130, no traceback, no worker left behind."""
    store = tmp_path / "runs.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "seeds",
            "--dataset",
            "digits",
            "--train-size",
            "60",
            "--width",
            "16",
            "--depth",
            "1",
            "--epochs",
            "10000",
            "--k",
            "4",
            "--quiet",
            "--store",
            str(store),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for(store.exists, 60, "the store")
        with RunStore(store) as reader:

            def two_training() -> bool:
                runs = reader.runs()
                training = runs.id[runs.status == "running"]
                return len(training) == 2 and all(reader.last_epoch(int(i)) >= 2 for i in training)

            wait_for(two_training, 60, "two runs training")
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            runs = reader.runs().sort_values("id")
            epochs = [reader.last_epoch(int(i)) for i in runs["id"]]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "interrupted"
    assert list(runs["status"]) == ["stopped"] * 4
    assert [bool(s) for s in runs["summary"]] == [True, True, False, False]
    assert epochs[0] >= 2 and epochs[1] >= 2 and epochs[2:] == [-1, -1]
    assert set(runs["message"][2:]) == {"stopped before it started (Ctrl-C)"}

    def no_process_left() -> bool:  # workers, and the resource tracker that outlives them
        found = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True)
        return found.stdout.strip() == ""

    wait_for(no_process_left, 10, "the batch's processes to exit")
