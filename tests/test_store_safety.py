"""A path given as the run store is the user's: only a run store is ever opened, created or
moved aside. Every entry point (the store itself, CLI train, seeds and sweep, the dashboard
through MTL_STORE, the worker) is given a foreign text file, a foreign SQLite database, a
folder, a link to a device and a damaged run store: the foreign ones keep their bytes, their
inode and their folder's listing; the damaged store is moved aside and training goes on.
(The Ray driver's case lives in tests/test_ray_backend.py, beside its Ray instance.)"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from pathlib import Path

import pytest
import streamlit as st

from mtl_core.cli.main import main as cli
from mtl_core.errors import StoreError
from mtl_core.execution.worker import train_stored
from mtl_core.store.runs import RunStore
from mtl_core.store.safety import APPLICATION_ID, classify
from tests.helpers.apptest import open_app, queue_only, use_store

TINY = [
    "--dataset",
    "digits",
    "--train-size",
    "60",
    "--width",
    "8",
    "--depth",
    "1",
    "--epochs",
    "1",
    "--batch-size",
    "32",
]


def make_text(path: Path) -> None:
    path.write_text("id,value\n1,2\n3,4\n")


def make_sqlite(path: Path) -> None:
    """Another application's database, in WAL mode like ours, with a table of its own."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
    conn.execute("INSERT INTO notes (text) VALUES ('keep me')")
    conn.commit()
    conn.close()


def make_app_sqlite(path: Path) -> None:
    """Another application's database that even has a table called runs."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)")
    conn.commit()
    conn.close()


def make_folder(path: Path) -> None:
    path.mkdir()
    (path / "keep.txt").write_text("precious")


def make_device_link(path: Path) -> None:
    path.symlink_to("/dev/null")


def make_dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere" / "runs.sqlite")


FOREIGN = {
    "text file": make_text,
    "sqlite database": make_sqlite,
    "another app's database": make_app_sqlite,
    "folder": make_folder,
    "link to a device": make_device_link,
    "dangling link": make_dangling_link,
}


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below ``folder``: kind, inode and content hash (links not followed)."""
    out = {}
    for entry in sorted(folder.rglob("*")):
        info = entry.lstat()
        digest = ""
        if stat.S_ISREG(info.st_mode):
            digest = hashlib.sha256(entry.read_bytes()).hexdigest()
        elif stat.S_ISLNK(info.st_mode):
            digest = os.readlink(entry)
        out[str(entry.relative_to(folder))] = (stat.S_IFMT(info.st_mode), info.st_ino, digest)
    return out


def damaged_store(path: Path) -> bytes:
    """A real run store with runs, cut in half (as a full disk or a bad copy leaves it)."""
    with RunStore(path) as store:
        for _ in range(40):
            run_id = store.create_run({"x": "y" * 500})
            store.append_epoch(run_id, 0, [("digit", "val", "loss", 1.0)])
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return data[: len(data) // 2]


@pytest.fixture(params=list(FOREIGN))
def foreign(request, tmp_path) -> tuple[Path, dict]:
    """A foreign path in a folder of its own, and the snapshot it must keep."""
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    FOREIGN[request.param](path)
    return path, snapshot(folder)


def assert_untouched(path: Path, before: dict) -> None:
    assert snapshot(path.parent) == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)  # the device is still a device


def assert_moved_aside(path: Path, damaged: bytes) -> Path:
    moved = list(path.parent.glob("runs.sqlite.broken-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == damaged
    return moved[0]


# -- the store itself --------------------------------------------------------------------


def test_a_foreign_path_is_refused_in_one_line_and_left_untouched(foreign):
    path, before = foreign
    with pytest.raises(StoreError) as caught:
        RunStore(path)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    assert "choose another --store or MTL_STORE path" in message
    assert_untouched(path, before)


def test_a_damaged_run_store_is_moved_aside_and_a_fresh_one_starts(tmp_path):
    path = tmp_path / "runs.sqlite"
    damaged = damaged_store(path)
    assert classify(path) in ("store", "damaged")  # recognised as a run store, not refused
    with RunStore(path) as store:
        assert store.moved_aside == assert_moved_aside(path, damaged)
        assert store.runs().empty and store.integrity_ok()


def test_a_damaged_store_from_before_the_application_id_is_still_recognised(tmp_path):
    """Old stores have application_id 0: their schema page is what marks them."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.create_run({"old": True})
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert classify(path) == "store"  # readable: its tables say it is a run store
    data = bytearray(path.read_bytes())
    data[100] = 0xFF  # the schema b-tree's page type: unreadable, its text still there
    path.write_bytes(bytes(data))
    assert classify(path) == "damaged"
    with RunStore(path) as store:
        assert store.moved_aside is not None and store.runs().empty


def test_an_old_store_is_opened_kept_and_marked_as_a_run_store(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        run_id = store.create_run({"old": True})
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    with RunStore(path) as store:
        assert store.moved_aside is None and store.get_run(run_id)["config"] == {"old": True}
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    conn.close()


def test_a_new_store_never_replaces_a_file_that_appears_while_it_is_made(tmp_path, monkeypatch):
    """The store is built aside and linked into place: a file that won the race is kept."""
    import mtl_core.store.safety as store_file

    path = tmp_path / "runs.sqlite"
    real = store_file._create_new

    def racing(target, initialise):
        make_text(target)  # someone else's file appears between the check and the create
        return real(target, initialise)

    monkeypatch.setattr(store_file, "_create_new", racing)
    with pytest.raises(StoreError, match="not an SQLite database"):
        RunStore(path)
    assert path.read_text() == "id,value\n1,2\n3,4\n"
    assert [p.name for p in tmp_path.iterdir()] == ["runs.sqlite"]


def test_moving_aside_never_replaces_an_earlier_broken_copy(tmp_path):
    path = tmp_path / "runs.sqlite"
    first = damaged_store(path)
    with RunStore(path):
        pass
    second = damaged_store(path)  # damaged again within the same second
    with RunStore(path):
        pass
    kept = sorted(p.read_bytes() for p in tmp_path.glob("runs.sqlite.broken-*"))
    assert kept == sorted([first, second])


def test_a_store_below_a_file_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="cannot use it as the run store"):
        RunStore(tmp_path / "notes.txt" / "runs.sqlite")
    assert (tmp_path / "notes.txt").read_text() == "mine"


# -- the CLI -----------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli(list(args))
    return code, capsys.readouterr().err


def test_cli_train_refuses_a_foreign_store_with_exit_2(foreign, capsys):
    path, before = foreign
    code, err = run_cli(capsys, "train", *TINY, "--quiet", "--store", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert (
        len(lines) == 1
        and "is " in lines[0]
        and "choose another --store or MTL_STORE path" in lines[0]
    )
    assert_untouched(path, before)


def test_cli_train_moves_a_damaged_store_aside_and_trains(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    damaged = damaged_store(path)
    code, _ = run_cli(capsys, "train", *TINY, "--quiet", "--store", str(path))
    assert code == 0
    assert_moved_aside(path, damaged)
    with RunStore(path) as store:
        assert store.runs().status.tolist() == ["completed"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["text file", "sqlite database", "folder"])
def test_cli_seeds_refuses_a_foreign_store_before_any_worker_starts(kind, tmp_path, capsys):
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    FOREIGN[kind](path)
    before = snapshot(folder)
    code, err = run_cli(capsys, "seeds", *TINY, "--k", "2", "--quiet", "--store", str(path))
    assert code == 2 and "choose another --store or MTL_STORE path" in err
    assert_untouched(path, before)


@pytest.mark.slow
def test_cli_seeds_moves_a_damaged_store_aside_and_trains(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    damaged = damaged_store(path)
    code, _ = run_cli(capsys, "seeds", *TINY, "--k", "2", "--quiet", "--store", str(path))
    assert code == 0
    assert_moved_aside(path, damaged)
    with RunStore(path) as store:
        assert store.runs().status.tolist() == ["completed", "completed"]


def sweep_file(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        "name: tiny\nbase: {dataset: digits, train_size: 60, width: 8, depth: 1, epochs: 1}\n"
        "axes: {lr: [0.01]}\nseeds: [0]\n"
    )
    return sweep


@pytest.mark.parametrize("kind", ["text file", "sqlite database", "folder"])
def test_cli_sweep_refuses_a_foreign_store_before_asking(kind, tmp_path, capsys):
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    FOREIGN[kind](path)
    before = snapshot(folder)
    code, err = run_cli(
        capsys, "sweep", str(sweep_file(tmp_path)), "--yes", "--quiet", "--store", str(path)
    )
    assert code == 2 and "choose another --store or MTL_STORE path" in err
    assert_untouched(path, before)


@pytest.mark.slow
def test_cli_sweep_moves_a_damaged_store_aside_and_trains(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    damaged = damaged_store(path)
    code, _ = run_cli(
        capsys,
        "sweep",
        str(sweep_file(tmp_path)),
        "--yes",
        "--quiet",
        "--workers",
        "1",
        "--store",
        str(path),
    )
    assert code == 0
    assert_moved_aside(path, damaged)
    with RunStore(path) as store:
        assert store.runs().status.tolist() == ["completed"]


# -- the worker --------------------------------------------------------------------------


def test_the_worker_refuses_a_foreign_store(foreign):
    path, before = foreign
    config = {"dataset": "digits", "train_size": 60, "width": 8, "depth": 1, "epochs": 1}
    with pytest.raises(StoreError, match="choose another --store or MTL_STORE path"):
        train_stored(str(path), 1, config)
    assert_untouched(path, before)


# -- the dashboard -----------------------------------------------------------------------


@pytest.fixture
def dashboard_store(tmp_path, monkeypatch):
    queue_only(monkeypatch)
    path = use_store(monkeypatch, tmp_path)
    yield path
    st.cache_resource.clear()  # the next test must not inherit this store's manager


@pytest.mark.parametrize("kind", ["text file", "sqlite database", "folder", "link to a device"])
def test_the_dashboard_names_a_foreign_store_and_leaves_it(kind, dashboard_store):
    FOREIGN[kind](dashboard_store)
    before = snapshot(dashboard_store.parent)
    at = open_app()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert str(dashboard_store) in errors[0] and "choose another" in errors[0]
    assert_untouched(dashboard_store, before)


def test_the_dashboard_moves_a_damaged_store_aside_and_says_so(dashboard_store):
    damaged = damaged_store(dashboard_store)
    at = open_app()
    moved = assert_moved_aside(dashboard_store, damaged)
    notes = [w.value for w in at.warning if "moved aside" in w.value]
    assert len(notes) == 1 and str(moved) in notes[0] and "\n" not in notes[0]


def test_opening_a_store_keeps_the_locks_of_this_process_s_other_connections(tmp_path):
    """Checking a path must not drop this process's SQLite locks on it (a plain open and
    close of the file would): another process closing its connection would then see no
    reader, checkpoint and delete the WAL under this process's feet and corrupt the store."""
    import subprocess
    import sys

    path = tmp_path / "runs.sqlite"
    first = RunStore(path)
    run_id = first.create_run({"x": 1})
    first.append_epoch(run_id, 0, [("digit", "val", "loss", 1.0)])
    second = RunStore(path)  # a second store in this process: classify() runs on an open file
    code = (
        f"from mtl_core.store.runs import RunStore\n"
        f"s = RunStore({str(path)!r})\n"
        f"s.append_epoch({run_id}, 1, [('digit', 'val', 'loss', 0.5)])\n"
        f"s.close()\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])
    assert Path(f"{path}-wal").exists()  # the other process did not think it was the last
    first.append_epoch(run_id, 2, [("digit", "val", "loss", 0.25)])
    assert second.metrics(run_id)["value"].tolist() == [1.0, 0.5, 0.25]
    first.close()
    second.close()
    with RunStore(path) as store:
        assert store.integrity_ok() and len(store.metrics(run_id)) == 3


# -- found in review: checks that must not misfire -----------------------------------------


def test_a_locked_store_is_neither_damaged_nor_moved(tmp_path):
    """Another process's exclusive lock makes a store busy, not damaged."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        store.create_run({"x": 1})
    holder = sqlite3.connect(path)
    holder.execute("PRAGMA locking_mode = EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert classify(path) == "store"
    finally:
        holder.rollback()
        holder.close()
    assert not list(tmp_path.glob("*.broken-*"))


def test_a_file_swapped_in_after_the_check_is_not_moved(tmp_path, monkeypatch):
    """Between the check and the open the path now holds a user's file: it is refused,
    not moved aside as a damaged store."""
    import mtl_core.store.safety as store_file

    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    make_text(path)
    before = snapshot(folder)
    real, calls = store_file.classify, []

    def passed_once(target):
        calls.append(target)
        return "store" if len(calls) == 1 else real(target)  # the first look saw a store

    monkeypatch.setattr(store_file, "classify", passed_once)
    with pytest.raises(StoreError, match="not an SQLite database"):
        RunStore(path)
    assert snapshot(folder) == before


def test_refusing_a_wal_database_leaves_no_side_file(tmp_path):
    folder = tmp_path / "user"
    folder.mkdir()
    path = folder / "runs.sqlite"
    make_sqlite(path)
    Path(f"{path}-wal").write_bytes(b"")  # left by its application, with no -shm
    before = snapshot(folder)
    with pytest.raises(StoreError, match="without the run-store tables"):
        RunStore(path)
    assert snapshot(folder) == before


def test_a_link_to_a_damaged_store_is_not_moved(tmp_path):
    real = tmp_path / "real.sqlite"
    damaged = damaged_store(real)
    link = tmp_path / "runs.sqlite"
    link.symlink_to(real)
    try:
        RunStore(link).close()
    except StoreError as exc:
        assert "move that file away by hand" in str(exc)
    assert link.is_symlink() and real.read_bytes() == damaged
    assert not list(tmp_path.glob("*.broken-*"))


def test_a_path_with_a_newline_is_refused_in_one_line(tmp_path):
    path = tmp_path / "odd\nname.sqlite"
    make_text(path)
    with pytest.raises(StoreError) as caught:
        RunStore(path)
    assert "\n" not in str(caught.value)


def test_a_worker_does_not_train_a_run_that_is_no_longer_queued(tmp_path):
    """A run ended (e.g. as orphaned) while its worker warmed up stays ended."""
    path = tmp_path / "runs.sqlite"
    config = {"dataset": "digits", "train_size": 60, "width": 8, "depth": 1, "epochs": 1}
    with RunStore(path) as store:
        run_id = store.create_run(config, status="queued")
        store.set_status(run_id, "interrupted", "orphaned")
    result = train_stored(str(path), run_id, config)
    assert (result.status, result.message) == ("interrupted", "orphaned")
    with RunStore(path) as store:
        assert store.get_run(run_id)["status"] == "interrupted"
        assert store.last_epoch(run_id) == -1
