"""Dead owners are noticed at once: a run whose training process on this machine is gone
becomes ``interrupted`` as soon as a store is opened, without waiting for the heartbeat
window; a live process's run, and a run trained on another host, are left to the heartbeat.
A reused pid (same pid, another start time) does not pass for the process that died."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.liveness import is_dead, this_process
from mtl_core.store.runs import RunStore

HOUR = 3600.0


def start_owner(path, hold: bool) -> subprocess.Popen:
    """A process that creates a running run in the store, prints its id, then waits."""
    code = textwrap.dedent(f"""
        import sys, time
        from mtl_core.store.runs import RunStore
        store = RunStore({str(path)!r}, stale_after={HOUR})
        run_id = store.create_run({{"x": 1}})
        queued = store.create_run({{"x": 2}}, status="queued")
        store.set_status(queued, "running")
        print(run_id, queued, flush=True)
        time.sleep(600 if {hold} else 0)
    """)
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )


def test_a_run_whose_process_was_killed_is_interrupted_when_the_store_opens(tmp_path):
    path = tmp_path / "runs.sqlite"
    owner = start_owner(path, hold=True)
    try:
        ids = [int(i) for i in owner.stdout.readline().split()]
        with RunStore(path, stale_after=HOUR) as store:  # the owner lives: nothing changes
            assert [store.get_run(i)["status"] for i in ids] == ["running", "running"]
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
    finally:
        owner.kill()
        owner.wait()
    with RunStore(path, stale_after=HOUR) as store:  # an hour of heartbeat left, yet:
        runs = [store.get_run(i) for i in ids]
    assert [r["status"] for r in runs] == ["interrupted", "interrupted"]
    assert all("ended without finishing" in r["message"] for r in runs)


def test_a_reused_pid_does_not_pass_for_the_dead_process():
    """The same pid with another start time is another process: the first one is dead."""
    me = json.loads(this_process())
    assert not is_dead(this_process())
    assert is_dead(json.dumps({**me, "start": str(int(me["start"]) + 1)}))
    assert is_dead(json.dumps({**me, "pid": 2**22 + 7}))  # no such process at all


def test_another_host_or_boot_is_left_to_the_heartbeat(tmp_path):
    me = json.loads(this_process())
    gone = {**me, "pid": 2**22 + 7}
    for elsewhere in ({"host": "other-host"}, {"boot": "another-boot"}, {"pidns": "pid:[1]"}):
        assert not is_dead(json.dumps({**gone, **elsewhere}))
    assert not is_dead("") and not is_dead("not json")
    path = tmp_path / "runs.sqlite"
    with RunStore(path, stale_after=HOUR) as store:
        run_id = store.create_run({"x": 1})
        store._execute(
            "UPDATE runs SET process = ? WHERE id = ?",
            (json.dumps({**gone, "host": "other-host"}), run_id),
        )
    with RunStore(path, stale_after=HOUR) as store:
        assert store.get_run(run_id)["status"] == "running"  # the heartbeat is fresh
    with RunStore(path, stale_after=0) as store:
        assert store.get_run(run_id)["status"] == "interrupted"  # ...until it is not


def test_a_queued_run_waits_on_the_process_that_queued_it(tmp_path):
    """Queued by a live process (a server, a CLI batch): left queued. Queued by one that
    is gone: it can never start, so it is interrupted when the store opens."""
    path = tmp_path / "runs.sqlite"
    with RunStore(path, stale_after=HOUR) as store:
        mine = store.create_run({"x": 1}, status="queued")
        assert store.get_run(mine)["process"] == this_process()
    code = (
        f"from mtl_core.store.runs import RunStore\n"
        f"print(RunStore({str(path)!r}).create_run({{'x': 2}}, status='queued'))"
    )
    theirs = int(
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    with RunStore(path, stale_after=HOUR) as store:
        assert store.get_run(mine)["status"] == "queued"
        run = store.get_run(theirs)
    assert run["status"] == "interrupted" and "queued this run ended" in run["message"]


def test_a_proc_of_another_pid_namespace_records_nothing(monkeypatch):
    """If /proc/self is not this process (a /proc of another namespace), the identity
    would name a stranger: nothing is recorded, and the heartbeat decides."""
    import mtl_core.store.liveness as liveness

    real = liveness._start_time
    monkeypatch.setattr(
        liveness, "_start_time", lambda pid: (1, *real(pid)[1:]) if pid == "self" else real(pid)
    )
    assert liveness.this_process() == ""


def test_an_unreadable_proc_entry_is_unknown_not_dead(monkeypatch):
    import mtl_core.store.liveness as liveness

    def hidden(pid):
        raise liveness._Unknown("permission denied")

    identity = this_process()
    monkeypatch.setattr(liveness, "_start_time", hidden)
    assert not liveness.is_dead(identity)
