"""Run store: round trips, WAL, damaged files moved aside, stale runs, and a SIGKILLed trainer."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest

from mtl_core.errors import StoreError
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import METRIC_COLUMNS, METRIC_DTYPES


def epoch_rows(epoch: int, scale: float = 1.0) -> list[tuple[str, str, str, float]]:
    return [
        ("digit", "train", "loss", scale / (epoch + 1)),
        ("digit", "val", "loss", scale * 1.5 / (epoch + 1)),
        ("digit", "val", "accuracy", 0.1 * epoch),
        ("_run", "train", "steps", 4.0 * epoch),
    ]


@pytest.fixture
def store(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as s:
        yield s


def test_run_round_trip(store):
    """create → append epochs → finish, then read back every field."""
    config = {"dataset": "digits", "tasks": ["digit"], "epochs": 3}
    before = time.time()
    run_id = store.create_run(config, name="first", provenance={"torch": "x"}, owner="alice")
    run = store.get_run(run_id)
    assert run["name"] == "first" and run["config"] == config
    assert run["provenance"] == {"torch": "x"} and run["owner"] == "alice"
    assert run["status"] == "running" and run["message"] == "" and run["summary"] == {}
    assert before - 1 <= run["created"] <= time.time() + 1
    for epoch in range(3):
        store.append_epoch(run_id, epoch, epoch_rows(epoch))
    summary = {"main": {"digit": {"best_epoch": 2, "test_loss": 0.4}}}
    store.finish(run_id, "completed", "done", summary, {2: [("digit", "test", "loss", 0.4)]})
    run = store.get_run(run_id)
    assert (run["status"], run["message"], run["summary"]) == ("completed", "done", summary)
    frame = store.metrics(run_id)
    assert list(frame.columns) == METRIC_COLUMNS
    assert len(frame) == 3 * 4 + 1
    assert frame[(frame.epoch == 1) & (frame.metric == "loss") & (frame.split == "val")][
        "value"
    ].item() == pytest.approx(0.75)
    test = frame[frame.split == "test"]
    assert test[["epoch", "task", "value"]].values.tolist() == [[2, "digit", 0.4]]
    assert store.last_epoch(run_id) == 2


def test_unnamed_runs_get_a_default_name_and_can_be_renamed(store):
    """A run without a name is called 'run <id>'; rename strips and stores the new name."""
    run_id = store.create_run({})
    assert store.get_run(run_id)["name"] == f"run {run_id}"
    store.rename(run_id, "  baseline, 100 labels  ")
    assert store.get_run(run_id)["name"] == "baseline, 100 labels"


def test_metrics_since_epoch_and_of_several_runs(store):
    """metrics(since_epoch=k) returns only later epochs; several ids come back in one frame."""
    a, b = store.create_run({}), store.create_run({})
    for epoch in range(4):
        store.append_epoch(a, epoch, epoch_rows(epoch))
        store.append_epoch(b, epoch, epoch_rows(epoch, scale=2.0))
    assert sorted(set(store.metrics(a, since_epoch=1)["epoch"])) == [2, 3]
    assert store.metrics(a, since_epoch=3).empty
    both = store.metrics([a, b])
    assert set(both["run_id"]) == {a, b} and len(both) == 2 * 4 * 4
    assert list(store.metrics([]).columns) == METRIC_COLUMNS
    store.append_epoch(a, 3, [("digit", "val", "loss", 9.0)])  # rewriting an epoch replaces
    again = store.metrics(a, since_epoch=2)
    assert again[(again.metric == "loss") & (again.split == "val")]["value"].item() == 9.0


def test_metrics_keep_their_types_when_no_row_is_new_so_appended_curves_stay_numeric(store):
    # A live page appends each tick's new rows to a run's curves; an untyped empty frame
    # made ``value`` an object column, and pandas then averaged bands row by row in Python
    a = store.create_run({})
    store.append_epoch(a, 0, epoch_rows(0))
    for nothing in (store.metrics(a, since_epoch=0), store.metrics([])):
        assert nothing.empty and dict(nothing.dtypes.astype(str)) == METRIC_DTYPES
    curves = pd.concat([store.metrics(a), store.metrics(a, since_epoch=0)], ignore_index=True)
    assert curves["value"].dtype == "float64" and curves["epoch"].dtype == "int64"


def test_runs_are_listed_newest_first_and_filter_by_owner(store):
    """runs() is a DataFrame with parsed JSON columns, newest first, optionally per owner."""
    ids = [store.create_run({"seed": i}, owner="bob" if i % 2 else "amy") for i in range(3)]
    frame = store.runs()
    assert isinstance(frame, pd.DataFrame)
    assert frame["id"].tolist() == ids[::-1]
    assert frame["config"].tolist() == [{"seed": 2}, {"seed": 1}, {"seed": 0}]
    assert store.runs(owner="bob")["id"].tolist() == [ids[1]]


def test_runs_filter_by_ids_and_by_the_configs_seed(store):
    """A live panel reads only its runs (ids) and the identical-run check only the runs
    of its configs' seeds; an empty list means none, not all."""
    ids = [store.create_run({"seed": i % 3, "epochs": i}) for i in range(6)]
    assert store.runs(ids=[ids[4], ids[1], 999])["id"].tolist() == [ids[4], ids[1]]
    assert store.runs(seeds=[1])["id"].tolist() == [ids[4], ids[1]]
    assert store.runs(seeds={0, 2})["id"].tolist() == [ids[5], ids[3], ids[2], ids[0]]
    assert store.runs(ids=ids[:4], seeds=[0])["id"].tolist() == [ids[3], ids[0]]
    assert store.runs(ids=[]).empty and store.runs(seeds=[]).empty


def test_delete_removes_runs_and_their_metrics_only(store):
    """Deleted runs and their rows are gone; other runs are untouched."""
    keep, drop = store.create_run({}), store.create_run({})
    for run_id in (keep, drop):
        store.append_epoch(run_id, 0, epoch_rows(0))
    store.delete([drop])
    with pytest.raises(StoreError, match=f"no run with id {drop}"):
        store.get_run(drop)
    assert store.metrics(drop).empty
    assert len(store.metrics(keep)) == 4
    assert store.runs()["id"].tolist() == [keep]


def test_export_csv_and_json(store, tmp_path):
    """Exports hold every metric row of the chosen runs, with names, and read back exactly."""
    a, b = store.create_run({"seed": 1}, name="a"), store.create_run({"seed": 2}, name="b")
    for epoch in range(2):
        store.append_epoch(a, epoch, epoch_rows(epoch))
        store.append_epoch(b, epoch, epoch_rows(epoch, 3.0))
    csv = pd.read_csv(store.export_csv([a, b], tmp_path / "out.csv"))
    assert list(csv.columns) == ["run_id", "run_name", *METRIC_COLUMNS[1:]]
    assert len(csv) == 16 and set(csv["run_name"]) == {"a", "b"}
    pd.testing.assert_frame_equal(
        csv.drop(columns="run_name"), store.metrics([a, b]), check_dtype=False
    )
    data = json.loads(store.export_json([b], tmp_path / "out.json").read_text())
    assert [run["name"] for run in data] == ["b"] and data[0]["config"] == {"seed": 2}
    assert len(data[0]["metrics"]) == 8
    assert {"epoch", "task", "split", "metric", "value"} == set(data[0]["metrics"][0])
    with pytest.raises(StoreError):
        store.export_csv([a, 999], tmp_path / "bad.csv")
    assert not (tmp_path / "bad.csv").exists()


WRITER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from mtl_core.store.runs import RunStore
path, name, go, epochs, rows = sys.argv[2], sys.argv[3], Path(sys.argv[4]), *map(int, sys.argv[5:])
with RunStore(path) as store:
    run_id = store.create_run({}, name=name)
    Path(f"{go}.{name}").touch()  # ready: wait for the other writer
    while not go.exists():
        time.sleep(0.001)
    start = time.time()
    for epoch in range(epochs):
        store.append_epoch(run_id, epoch, [("t", "train", f"m{i}", epoch + i / rows)
                                           for i in range(rows)])
    end = time.time()
print(json.dumps({"run_id": run_id, "start": start, "end": end}))
"""


def test_wal_mode_and_busy_timeout(store, tmp_path):
    """The file is in WAL mode (seen from another connection) and writers wait when busy:
    two processes commit many epochs to one store at the same time, each epoch one
    transaction; neither fails, and every row of both lands."""
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    epochs, rows = 300, 40
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(PROJECT_ROOT),
                str(store.path),
                name,
                str(go),
                str(epochs),
                str(rows),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"go.{n}").exists() for n in "ab"):
        assert time.monotonic() < deadline and all(w.poll() is None for w in writers), [
            w.communicate() for w in writers if w.poll() is not None
        ]
        time.sleep(0.01)
    go.touch()  # both start writing now
    outcomes = [w.communicate(timeout=120) for w in writers]
    assert [w.returncode for w in writers] == [0, 0], [err for _, err in outcomes]
    reports = [json.loads(out) for out, _ in outcomes]
    assert max(r["start"] for r in reports) < min(r["end"] for r in reports)  # they overlapped
    for report in reports:
        metrics = store.metrics(report["run_id"])
        assert len(metrics) == epochs * rows
        assert sorted(set(metrics.epoch)) == list(range(epochs))
    assert store.integrity_ok()


def test_a_reader_sees_committed_epochs_while_a_writer_holds_the_store(tmp_path):
    """Two stores on one file: a reader reads committed epochs even inside a write lock."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as writer, RunStore(path) as reader:
        run_id = writer.create_run({})
        writer.append_epoch(run_id, 0, epoch_rows(0))
        writer._conn.execute("BEGIN IMMEDIATE")
        writer._conn.execute("DELETE FROM metrics")
        assert len(reader.metrics(run_id)) == 4  # WAL: the uncommitted delete is invisible
        writer._conn.execute("ROLLBACK")


def test_a_write_cut_short_by_sigterm_leaves_no_transaction_open(store, tmp_path):
    """A worker's SIGTERM (SystemExit) or a Ctrl-C between two statements of a write: the
    cut write is rolled back, so the record the worker then makes of its end is kept (it
    used to join the open transaction, and was lost with it)."""
    run_id = store.create_run({})
    real = store._conn

    class Cut:
        """The store's connection, with a signal landing once inside a transaction."""

        landed = False

        def __getattr__(self, name):
            return getattr(real, name)

        def execute(self, sql, params=()):
            if real.in_transaction and not Cut.landed:
                Cut.landed = True
                raise SystemExit(128 + signal.SIGTERM)
            return real.execute(sql, params)

    store._conn = Cut()
    with pytest.raises(SystemExit):
        store.append_epoch(run_id, 1, epoch_rows(1))
    store._conn = real
    assert Cut.landed and not real.in_transaction
    store.finish(run_id, "interrupted", "cut short", {}, {})
    with RunStore(tmp_path / "runs.sqlite") as other:
        run = other.get_run(run_id)
        assert (run["status"], run["message"]) == ("interrupted", "cut short")
        assert other.last_epoch(run_id) == -1  # nothing of the cut epoch


def test_threads_can_share_one_store(store):
    """Several threads appending to their own runs through one store lose nothing."""
    ids = [store.create_run({}) for _ in range(4)]

    def work(run_id):
        for epoch in range(20):
            store.append_epoch(run_id, epoch, epoch_rows(epoch))

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.metrics(ids)) == 4 * 20 * 4


def test_a_file_that_is_not_a_store_is_refused_not_moved(tmp_path):
    """A file that is not SQLite is the user's: refused, kept in place byte for byte."""
    path = tmp_path / "runs.sqlite"
    garbage = b"this is not an SQLite database\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="is not a run store"):
        RunStore(path)
    assert path.read_bytes() == garbage and [p.name for p in tmp_path.iterdir()] == ["runs.sqlite"]


def test_a_path_that_cannot_be_opened_is_an_error_not_damage(tmp_path):
    """A folder given as the store path raises StoreError and is neither moved nor touched."""
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    with pytest.raises(StoreError, match="is a folder, not a run store"):
        RunStore(folder)
    assert (folder / "keep.txt").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["folder"]


def test_a_store_from_a_newer_version_is_refused_not_moved(tmp_path):
    """A store written by a newer schema raises StoreError and is left in place."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="newer version"):
        RunStore(path)
    assert path.exists() and not list(tmp_path.glob("*.broken-*"))


def age_heartbeat(path, run_id: int, seconds: float) -> None:
    """Pretend the run's last heartbeat was `seconds` ago, as after a crash."""
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET heartbeat = heartbeat - ? WHERE id = ?", (seconds, run_id))
    conn.close()


def test_stale_heartbeat_marks_a_run_interrupted_on_reopen(tmp_path):
    """Opening a store marks live runs whose heartbeat is older than stale_after as
    interrupted; fresh, finished and recently beating runs keep their status."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        stale, paused, done, fresh, beating = (store.create_run({}) for _ in range(5))
        store.set_status(paused, "paused")
        store.finish(done, "completed", "", {}, {})
        store.append_epoch(stale, 0, epoch_rows(0))
        for run_id in (stale, paused, done, beating):
            age_heartbeat(path, run_id, 120)
        store.heartbeat(beating)  # still alive: a heartbeat arrived after the aging
    with RunStore(path, stale_after=60) as store:
        status = {i: store.get_run(i)["status"] for i in (stale, paused, done, fresh, beating)}
        assert "heartbeat" in store.get_run(stale)["message"]
        assert len(store.metrics(stale)) == 4  # its finished epochs are kept
    assert status == {
        stale: "interrupted",
        paused: "interrupted",
        done: "completed",
        fresh: "running",
        beating: "running",
    }


def test_stale_after_is_measured_in_real_time(tmp_path):
    """With a small stale_after, a run that stops beating is interrupted after that long."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run_id = store.create_run({})
    with RunStore(path, stale_after=30) as store:
        assert store.get_run(run_id)["status"] == "running"
    time.sleep(0.5)
    with RunStore(path, stale_after=0.3) as store:
        assert store.get_run(run_id)["status"] == "interrupted"


def wait_for(predicate, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Poll until predicate() holds; fail early, with its stderr, if the process died."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the trainer exited early: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the trainer")
        time.sleep(0.05)


@pytest.mark.slow
def test_a_sigkilled_trainer_keeps_its_epochs_and_shows_interrupted(tmp_path):
    """kill -9 during training: every committed epoch is complete, the run shows
    'interrupted' as soon as the store is opened, and the file passes integrity_check."""
    path = tmp_path / "runs.sqlite"
    command = [
        sys.executable,
        "-m",
        "mtl_core",
        "train",
        "--dataset",
        "digits",
        "--train-size",
        "100",
        "--width",
        "16",
        "--depth",
        "1",
        "--epochs",
        "10000",
        "--threads",
        "1",
        "--store",
        str(path),
        "--quiet",
    ]
    proc = subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_for(path.exists, proc)
        with RunStore(path) as reader:
            wait_for(lambda: len(reader.runs()) == 1 and reader.last_epoch(1) >= 2, proc)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
            assert proc.returncode == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    with RunStore(path, stale_after=60) as store:  # the heartbeat is fresh, but the
        run = store.get_run(1)  # process is gone: noticed at once (tests/test_liveness.py)
        frame = store.metrics(1)
        assert store.integrity_ok()
    assert run["status"] == "interrupted"
    epochs = sorted(set(frame["epoch"]))
    assert len(epochs) >= 3 and epochs == list(range(len(epochs)))
    keys = frame.groupby("epoch").apply(
        lambda g: frozenset(zip(g.task, g.split, g.metric, strict=True)), include_groups=False
    )
    assert len(set(keys.iloc[1:])) == 1  # every trained epoch holds the same complete set
    assert keys.iloc[0] < keys.iloc[1]  # epoch 0 has no objective yet
    assert frame["value"].notna().all()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_a_store_from_before_pause_requests_gains_the_request_column(tmp_path):
    """Stores written before the ``request`` column existed open and accept requests."""
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
        " created REAL NOT NULL, config TEXT NOT NULL, provenance TEXT NOT NULL DEFAULT '{}',"
        " status TEXT NOT NULL, message TEXT NOT NULL DEFAULT '', heartbeat REAL NOT NULL,"
        " summary TEXT NOT NULL DEFAULT '{}', owner TEXT NOT NULL DEFAULT '');"
        "INSERT INTO runs (name, created, config, status, heartbeat)"
        " VALUES ('old', 0, '{}', 'completed', 0);"
    )
    conn.commit()
    conn.close()
    with RunStore(path) as store:
        assert store.pending_request(1) == ""
        store.request(1, "stop")
        assert store.pending_request(1) == "stop"


def test_a_truncated_store_is_moved_aside_and_a_fresh_one_starts(tmp_path):
    """Half of a real store file is not a database any more: kept aside, never deleted."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        for _ in range(50):
            run_id = store.create_run({"x": "y" * 500})
            store.append_epoch(run_id, 0, [("digit", "val", "loss", 1.0)] * 1)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    store = RunStore(path)
    try:
        assert store.moved_aside is not None and store.moved_aside.exists()
        assert store.moved_aside.read_bytes() == data[: len(data) // 2]
        assert store.runs().empty and store.integrity_ok()
    finally:
        store.close()


def test_sweeps_group_runs_and_old_stores_gain_the_column(tmp_path):
    """A sweep holds its spec; runs(sweep=id) lists only its runs; a store from before
    sweeps gains the runs.sweep column when opened."""
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:  # the runs table as it was before sweeps
        conn.execute(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT "
            "NULL, created REAL NOT NULL, config TEXT NOT NULL, provenance TEXT NOT "
            "NULL DEFAULT '{}', status TEXT NOT NULL, message TEXT NOT NULL DEFAULT "
            "'', heartbeat REAL NOT NULL, summary TEXT NOT NULL DEFAULT '{}', owner "
            "TEXT NOT NULL DEFAULT '', request TEXT NOT NULL DEFAULT '')"
        )
        conn.execute(
            "INSERT INTO runs (name, created, config, status, heartbeat) "
            "VALUES ('old', 0, '{}', 'completed', 0)"
        )
    with RunStore(path) as store:
        spec = {
            "name": "grid",
            "base": {},
            "axes": {"sharing": ["single", "hard"]},
            "seeds": [0, 1],
            "vary_data": False,
        }
        sweep = store.create_sweep("grid", spec)
        ids = [store.create_run({"seed": s}, status="queued", sweep=sweep) for s in (0, 1)]
        store.create_run({"seed": 9})
        assert sorted(store.runs(sweep=sweep)["id"]) == ids
        assert store.get_sweep(sweep)["spec"] == spec
        listed = store.sweeps()
        assert listed.loc[0, "name"] == "grid" and listed.loc[0, "runs"] == 2
        assert store.get_run(1)["sweep"] is None


def test_many_threads_of_one_store_each_get_their_own_run(tmp_path):
    """A server shares one RunStore (one SQLite connection) between its pages' threads:
    every create_run returns its own new id, none lost (ten pages once lost a run)."""
    import threading

    store = RunStore(tmp_path / "runs.sqlite")
    ids: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def page(n: int) -> None:
        start.wait()
        try:
            for i in range(40):
                run_id = store.create_run({"seed": n * 100 + i}, owner=f"page{n}")
                store.heartbeat(run_id)
                ids.append(run_id)
                store.runs(owner=f"page{n}")
        except BaseException as exc:  # recorded: the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=page, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    assert len(ids) == len(set(ids)) == 320
    assert sorted(store.runs().id) == sorted(ids)
    store.close()


def test_only_the_first_claim_of_a_queued_run_wins(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run({}, status="queued")
        assert store.claim(run_id) is True
        assert store.claim(run_id) is False  # running now: no second worker trains it
        assert store.get_run(run_id)["status"] == "running"
