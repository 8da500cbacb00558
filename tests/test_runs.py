"""RunManager with real worker processes: queueing, a killed worker, a forgotten pause,
a closed tab, and runs left live by a server that died. No Streamlit server needed: the
manager only uses the store and its worker processes."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mtl_core.dashboard.runs import ORPHAN_QUEUED, ORPHAN_RUNNING, RunManager
from mtl_core.execution.jobs import INTERRUPTED
from mtl_core.limits import Limits
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.runs import ORPHAN_QUEUED as STORE_ORPHAN_QUEUED
from tests.helpers.waiting import wait_for

LONG = 10_000  # epochs: about 80 s of tiny training, always stopped by the test


@pytest.fixture
def make_manager(tmp_path: Path) -> Iterator[Callable[..., RunManager]]:
    managers: list[RunManager] = []

    def make(**limits: Any) -> RunManager:
        watch_every = limits.pop("watch_every", 1.0)
        manager = RunManager(tmp_path / "runs.sqlite", limits_(**limits), watch_every=watch_every)
        managers.append(manager)
        return manager

    yield make
    for manager in managers:
        manager.shutdown(wait=True)


def limits_(**limits: Any) -> Limits:
    """These limits, the rest from the environment (MTL_WORKER_NICE=0: tests/conftest.py)."""
    return dataclasses.replace(Limits.from_env(), **limits)


def status(manager: RunManager, run_id: int) -> str:
    return manager.store.get_run(run_id)["status"]


def training(manager: RunManager, run_id: int, epochs: int = 1) -> bool:
    return status(manager, run_id) == "running" and manager.store.last_epoch(run_id) >= epochs


def ended(manager: RunManager, run_id: int) -> bool:
    return status(manager, run_id) not in LIVE


@pytest.mark.slow
def test_a_run_beyond_the_limit_waits_queued_then_completes(make_manager, make_config):
    manager = make_manager(max_runs=1)
    first = manager.start(make_config(epochs=400), owner="a")
    second = manager.start(make_config(epochs=3), owner="b")
    until(manager, lambda: training(manager, first), 30, "the first run to train")
    assert status(manager, second) == "queued" and manager.queued() == [second]
    assert manager.store.last_epoch(second) == -1
    until(manager, lambda: ended(manager, first), 60, "the first run to end")
    until(manager, lambda: ended(manager, second), 30, "the second run to end")
    for run_id, epochs in ((first, 400), (second, 3)):
        run = manager.store.get_run(run_id)
        assert (run["status"], run["message"]) == ("completed", "")
        assert manager.store.last_epoch(run_id) == epochs


@pytest.mark.slow
def test_workers_train_at_the_priority_the_operator_set(make_manager, make_config):
    manager = make_manager(max_runs=1, worker_nice=7)
    run_id = manager.start(make_config(epochs=LONG), owner="a")
    until(manager, lambda: training(manager, run_id), 30, "the run to train")
    pid = manager.worker_pid(run_id)
    assert pid is not None
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + 7)
    manager.request(run_id, "a", "stop")


@pytest.mark.slow
def test_a_killed_worker_fails_only_its_run_and_its_slot_gets_a_new_process(
    make_manager, make_config
):
    manager = make_manager(max_runs=2)
    victim = manager.start(make_config(epochs=LONG), owner="a")
    survivor = manager.start(make_config(epochs=LONG, seed=1), owner="a")
    waiting = manager.start(make_config(epochs=5), owner="b")
    until(
        manager,
        lambda: training(manager, victim, 3) and training(manager, survivor, 3),
        30,
        "both runs to train",
    )
    assert status(manager, waiting) == "queued"
    pid = manager.worker_pid(victim)
    assert pid is not None and pid != manager.worker_pid(survivor)
    os.kill(pid, signal.SIGKILL)
    kept = manager.store.last_epoch(victim)
    until(manager, lambda: ended(manager, victim), 15, "the killed run to be recorded")
    run = manager.store.get_run(victim)
    assert run["status"] == "failed"
    assert "worker process died" in run["message"] and "\n" not in run["message"]
    assert manager.store.last_epoch(victim) >= kept  # its finished epochs are all there
    # The run that waited gets the slot (a new process) and completes.
    until(manager, lambda: ended(manager, waiting), 30, "the waiting run to end")
    assert status(manager, waiting) == "completed"
    # The other slot never noticed.
    before = manager.store.last_epoch(survivor)
    until(
        manager,
        lambda: manager.store.last_epoch(survivor) > before + 3,
        15,
        "the survivor to train",
    )
    assert status(manager, survivor) == "running"
    manager.request(survivor, "a", "stop")
    until(manager, lambda: ended(manager, survivor), 15, "the survivor to stop")
    assert status(manager, survivor) == "stopped"
    # And the replaced slot trains new runs.
    fresh = manager.start(make_config(epochs=3), owner="b")
    until(manager, lambda: ended(manager, fresh), 30, "a new run to end")
    assert status(manager, fresh) == "completed"


@pytest.mark.slow
def test_a_worker_terminated_with_its_server_records_its_run_as_interrupted_and_ends(
    make_manager, make_config
):
    """SIGTERM (Ctrl-C or a service stop reaching the process group) ends the run cleanly,
    and the process with it: the slot's next run trains in a new one."""
    manager = make_manager(max_runs=1)
    run_id = manager.start(make_config(epochs=LONG), owner="a")
    until(manager, lambda: training(manager, run_id, 2), 30, "the run to train")
    pid = manager.worker_pid(run_id)
    os.kill(pid, signal.SIGTERM)
    until(manager, lambda: ended(manager, run_id), 15, "the run to be recorded")
    run = manager.store.get_run(run_id)
    assert (run["status"], run["message"]) == ("interrupted", INTERRUPTED)
    again = manager.start(make_config(epochs=3), owner="a")
    until(manager, lambda: ended(manager, again), 30, "a new run to end")
    run = manager.store.get_run(again)
    assert (run["status"], run["message"]) == ("completed", "")
    until(manager, lambda: not alive(pid), 15, "the terminated worker to exit")


def until(manager: RunManager, check: Callable[[], Any], timeout: float, what: str) -> None:
    """``wait_for``; timed out, it says where each of ``manager``'s runs stood: its
    status, last epoch and message, and the state of the process training it."""
    wait_for(check, timeout, what, context=lambda: where(manager))


def where(manager: RunManager) -> str:
    runs = manager.store.runs()
    return "; ".join(
        f"run {run_id}: {status} at epoch {manager.store.last_epoch(run_id)} ({message!r}), "
        f"worker {process_state(manager.worker_pid(run_id))}"
        for run_id, status, message in zip(
            runs.id.astype(int), runs.status, runs.message, strict=True
        )
    )


def process_state(pid: int | None) -> str:
    """``pid``'s state letter (R running, S sleeping, D in the kernel, Z exited) and the
    kernel function it waits in, from /proc."""
    if pid is None:
        return "none"
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip() or "-"
    except OSError:
        return f"{pid} gone"
    return f"{pid} {state} in {wchan}"


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_a_run_paused_past_the_timeout_is_stopped_and_frees_its_slot(make_manager, make_config):
    manager = make_manager(max_runs=1, pause_timeout=1.5)
    paused = manager.start(make_config(epochs=LONG), owner="a")
    waiting = manager.start(make_config(epochs=3), owner="b")
    until(manager, lambda: training(manager, paused), 30, "the run to train")
    # A short pause (under the timeout) is just a pause.
    manager.request(paused, "a", "pause")
    until(manager, lambda: status(manager, paused) == "paused", 10, "the pause")
    time.sleep(1.0)
    manager.request(paused, "a", "")
    until(manager, lambda: status(manager, paused) == "running", 10, "the resume")
    before = manager.store.last_epoch(paused)
    until(manager, lambda: manager.store.last_epoch(paused) > before, 10, "training to go on")
    # A long one stops the run, says why, and the waiting run gets the slot.
    manager.request(paused, "a", "pause")
    until(manager, lambda: status(manager, paused) == "paused", 10, "the second pause")
    since = time.monotonic()
    until(manager, lambda: ended(manager, paused), 10, "the pause to time out")
    assert time.monotonic() - since >= 1.0
    run = manager.store.get_run(paused)
    assert run["status"] == "stopped"
    assert "pause of more than 1.5 s" in run["message"] and "MTL_PAUSE_TIMEOUT" in run["message"]
    until(manager, lambda: ended(manager, waiting), 30, "the waiting run to end")
    assert status(manager, waiting) == "completed"


class Pages:
    """Stand-ins for browser tabs: each ticks the manager's keep-alive at its own pace."""

    def __init__(self, manager: RunManager, **every: float | None) -> None:
        self.manager, self.every = manager, every
        self.last: dict[str, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.05):
            now = time.monotonic()
            for owner, every in list(self.every.items()):
                if every is not None and now - self.last.get(owner, 0.0) >= every:
                    self.manager.seen(owner)
                    self.last[owner] = now

    def close(self) -> None:
        self._done.set()
        self._thread.join()


@pytest.mark.slow
def test_a_hidden_page_keeps_its_runs_and_a_closed_one_loses_them(make_manager, make_config):
    """Two open pages start runs (the CLI one too); then one page goes hidden (ticks every
    2.5 s) and one is closed (no more ticks): with a 4 s time-out only the closed page's
    runs stop, the queued one included."""
    manager = make_manager(max_runs=3, abandon_after=4.0, watch_every=0.25)
    pages = Pages(manager, open=0.5, closed=0.5)
    try:
        hidden = manager.start(make_config(epochs=LONG), owner="open")
        closed = manager.start(make_config(epochs=LONG, seed=1), owner="closed")
        cli = manager.start(make_config(epochs=LONG, seed=2), owner="")
        closed_queued = manager.start(make_config(epochs=LONG, seed=3), owner="closed")
        until(
            manager,
            lambda: all(training(manager, i) for i in (hidden, closed, cli)),
            60,
            "three runs to train",
        )
        assert status(manager, closed_queued) == "queued"
        pages.every.update(open=2.5, closed=None)
        closed_at = pages.last["closed"]
        until(manager, lambda: ended(manager, closed), 15, "the closed page's run to stop")
        assert time.monotonic() - closed_at >= 4.0
        for run_id in (closed, closed_queued):
            run = manager.store.get_run(run_id)
            assert run["status"] == "stopped", run
            assert "page was closed" in run["message"] and "MTL_ABANDON_AFTER" in run["message"]
        # Well past the time-out, the hidden page's run and the CLI's still train.
        time.sleep(max(0.0, closed_at + 9.0 - time.monotonic()))
        for run_id in (hidden, cli):
            before = manager.store.last_epoch(run_id)
            until(
                manager,
                lambda r=run_id, b=before: manager.store.last_epoch(r) > b,
                10,
                "training to go on",
            )
            assert status(manager, run_id) == "running"
    finally:
        pages.close()
    for run_id, owner in ((hidden, "open"), (cli, "")):
        manager.request(run_id, owner, "stop")
        until(manager, lambda r=run_id: ended(manager, r), 15, "the run to stop")
        assert manager.store.get_run(run_id)["message"].startswith("stopped by request")


def leave_runs_and_exit(path: Path) -> tuple[int, int]:
    """A server that queued one run and trained another, then died: (queued, running)."""
    code = (
        f"from mtl_core.store.runs import RunStore\n"
        f"s = RunStore({str(path)!r})\n"
        f"print(s.create_run({{'epochs': 3}}, owner='a', status='queued'),"
        f" s.create_run({{'epochs': 3}}, owner='a'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout
    queued, running = (int(i) for i in out.split())
    return queued, running


def test_runs_left_live_by_a_dead_server_are_marked_when_a_new_one_starts(tmp_path):
    """A dead server's queued run will never start and its running one has no process:
    both are marked at once. A run from another host is interrupted once its heartbeat is
    stale; a run whose (CLI) process keeps beating is left alone."""
    path = tmp_path / "runs.sqlite"
    queued, orphan = leave_runs_and_exit(path)
    with RunStore(path, stale_after=3600) as store:
        elsewhere = store.create_run({"epochs": 3}, owner="b")
        store._execute(
            "UPDATE runs SET process = ? WHERE id = ?",
            (json.dumps({"host": "another-host", "pid": 1}), elsewhere),
        )
        alive = store.create_run({"epochs": 3})
    beating = RunStore(path)
    done = threading.Event()

    def beat() -> None:
        while not done.wait(0.2):
            beating.heartbeat(alive)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    manager = RunManager(path, limits_(stale_after=1.5), watch_every=0.2)
    try:
        run = manager.store.get_run(queued)
        assert (run["status"], run["message"]) == ("interrupted", STORE_ORPHAN_QUEUED)
        assert status(manager, orphan) == "interrupted"  # its process is gone: at once
        assert status(manager, elsewhere) == "running"  # its heartbeat is still fresh
        until(manager, lambda: status(manager, elsewhere) == "interrupted", 10, "the orphan's mark")
        assert manager.store.get_run(elsewhere)["message"] == ORPHAN_RUNNING
        time.sleep(2.0)
        assert status(manager, alive) == "running"
    finally:
        done.set()
        thread.join()
        beating.close()
        manager.shutdown()


def test_queued_runs_from_before_process_records_are_ended_by_a_new_server(tmp_path):
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        old = store.create_run({"epochs": 3}, owner="a", status="queued")
        store._execute("UPDATE runs SET process = '' WHERE id = ?", (old,))
    manager = RunManager(path, limits_(), watch_every=0.2)
    try:
        run = manager.store.get_run(old)
        assert (run["status"], run["message"]) == ("interrupted", ORPHAN_QUEUED)
    finally:
        manager.shutdown()


@pytest.mark.slow
def test_two_servers_share_a_store_and_each_trains_only_what_it_queued(make_config, tmp_path):
    """A second server starting on the store marks none of the first's runs, queued or
    training; each trains its own, and a run queued by one never starts in the other."""
    path = tmp_path / "runs.sqlite"
    first = RunManager(path, limits_(max_runs=1), watch_every=0.2)
    second = None
    try:
        training_run = first.start(make_config(epochs=LONG), owner="a")
        waiting = first.start(make_config(epochs=3, seed=5), owner="a")
        until(first, lambda: training(first, training_run), 60, "the first server's run to train")
        second = RunManager(path, limits_(max_runs=1), watch_every=0.2)
        assert status(second, training_run) == "running" and status(second, waiting) == "queued"
        own = second.start(make_config(epochs=3, seed=9), owner="b")
        until(second, lambda: ended(second, own), 60, "the second server's run to finish")
        assert status(second, own) == "completed"
        time.sleep(1.0)  # a few watchdog ticks of both servers
        assert status(second, training_run) == "running" and status(second, waiting) == "queued"
        assert second.queued() == [] and first.queued() == [waiting]
        first.request(training_run, "a", "stop")
        until(first, lambda: ended(first, waiting), 60, "the first server's queued run to finish")
        assert status(first, waiting) == "completed"
    finally:
        for manager in (first, second):
            if manager is not None:
                manager.shutdown(wait=True)


def _curves(frame) -> list[tuple]:
    """A run's stored metric table without wall times (the only non-deterministic rows)."""
    rows = frame[frame.metric != "wall_time"].drop(columns="run_id")
    return sorted(map(tuple, rows.itertuples(index=False)))


@pytest.mark.slow
def test_four_runs_from_two_sessions_match_the_same_runs_one_after_another(
    make_manager, make_config, tmp_path
):
    """Four runs training at once, started by two sessions, give bitwise the curves of the
    same four configs trained one after another (same seeds, one torch thread each)."""
    from mtl_core.training.trainer import train

    configs = [
        make_config(epochs=6, seed=1, dropout=0.3),
        make_config(epochs=6, seed=2, aux=["parity"], task_sizes={"parity": 300}),
        make_config(epochs=6, seed=3, sharing="soft", aux=["magnitude"], soft_lambda=100.0),
        make_config(epochs=6, seed=4, weighting="uncertainty", aux=["loops"]),
    ]
    manager = make_manager(max_runs=4)
    ids = [manager.start(c, owner="ab"[i % 2]) for i, c in enumerate(configs)]
    until(manager, lambda: all(ended(manager, i) for i in ids), 120, "the four runs to end")
    assert [status(manager, i) for i in ids] == ["completed"] * 4
    with RunStore(tmp_path / "sequential.sqlite") as store:
        for run_id, config in zip(ids, configs, strict=True):
            result = train(config, store=store)
            assert _curves(store.metrics(result.run_id)) == _curves(manager.store.metrics(run_id))


@pytest.mark.slow
def test_a_diverging_run_ends_diverged_and_the_next_run_still_trains(make_manager, make_config):
    """SGD at lr 3 on a wide net blows up in a worker: recorded as diverged with its
    message, and the same slot then trains the next run to completion."""
    manager = make_manager(max_runs=1)
    bad = manager.start(
        make_config(optimizer="sgd", lr=3.0, width=512, depth=3, epochs=8), owner="a"
    )
    good = manager.start(make_config(epochs=3), owner="a")
    until(manager, lambda: ended(manager, bad) and ended(manager, good), 60, "both runs to end")
    run = manager.store.get_run(bad)
    assert run["status"] == "diverged" and "non-finite" in run["message"]
    assert status(manager, good) == "completed"


@pytest.mark.slow
def test_an_interrupted_run_is_re_run_from_its_stored_config(make_manager, make_config):
    """History's Re-run button: a new run with the same config trains to completion."""
    from mtl_core.dashboard.pages.history import rerun

    manager = make_manager(max_runs=1)
    config = make_config(epochs=3, aux=["parity"])
    old = manager.store.create_run(config.to_dict(), name="crashed", owner="a")
    manager.store.append_epoch(old, 0, [("digit", "val", "loss", 2.3)])
    manager.store.set_status(old, "interrupted", "the server died")
    new = rerun(manager, old, "a")
    until(manager, lambda: ended(manager, new), 60, "the re-run to end")
    run = manager.store.get_run(new)
    assert run["status"] == "completed" and run["config"] == config.to_dict()
    assert run["name"] == "crashed (re-run)" and manager.store.last_epoch(new) == 3


def test_nothing_starts_a_process_once_the_server_is_stopping(monkeypatch):
    """A process started while the server stops would relaunch the forkserver (killed with
    the server's process group) and outlive the server, holding its console open."""
    from mtl_core.errors import MtlError
    from mtl_core.execution import forkserver, offload

    monkeypatch.setattr(forkserver, "_closing", threading.Event())
    forkserver.close()
    started = []
    monkeypatch.setattr(offload, "_helper", lambda: started.append(1))
    with pytest.raises(MtlError, match="stopping"):
        offload.call(print, "x")
    assert not started


def test_a_helper_that_cannot_start_is_one_line_not_a_traceback(monkeypatch):
    """The forkserver gone (a stopping server): the page gets an MtlError to show."""
    from mtl_core.errors import MtlError
    from mtl_core.execution import offload

    class Gone:
        def submit(self, *args):
            raise EOFError("unexpected EOF")

    monkeypatch.setattr(offload, "_helper", Gone)
    with pytest.raises(MtlError, match="could not start a helper process"):
        offload.call(print, "x")


def test_a_page_learns_how_many_other_queued_runs_wait_before_its_own(
    make_manager, make_config, monkeypatch
):
    # a class pressed Run together: a page's runs waited behind the others' and said only
    # "Starting 15 runs"
    monkeypatch.setattr(RunManager, "_dispatch", lambda self: None)  # every run stays queued
    manager = make_manager(max_runs=1)
    first = [manager.start(make_config(seed=s), owner="a") for s in range(3)]
    second = [manager.start(make_config(seed=s), owner="b") for s in range(3, 5)]
    assert manager.ahead_of(first) == 0 and manager.ahead_of(second) == 3
    assert manager.ahead_of([second[1]]) == 4  # a queued run not asked about counts too
    assert manager.ahead_of(first[1:] + second) == 1
    assert manager.ahead_of([10**6]) is None  # not queued: training, ended, unknown


def test_a_second_sigterm_while_a_worker_exits_raises_nothing_more():
    # the server's stop and its process group's both reach an idle worker: the second
    # SIGTERM, raised inside multiprocessing's handling of the first, printed a traceback
    code = """
import os, signal
from mtl_core.execution.forkserver import _terminated
signal.signal(signal.SIGTERM, _terminated)
try:
    os.kill(os.getpid(), signal.SIGTERM)
except SystemExit as first:
    os.kill(os.getpid(), signal.SIGTERM)  # the second, while exiting
    print("exiting with", first.code)
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "exiting with 143" and "Traceback" not in out.stderr, out.stderr
