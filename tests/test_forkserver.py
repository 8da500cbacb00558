"""The start of a CLI batch's forkserver (mtl_core/execution/forkserver.py). Its workers must
ignore the terminal's Ctrl-C, and the batch must not lose one: a Ctrl-C that landed while
the batch ignored SIGINT to start the forkserver was lost, and the batch trained on
(tests/test_ctrl_c_stress.py). Now the starting thread holds SIGINT and raises it once
the start is done, and the forkserver, born with SIGINT blocked, ignores it first thing."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from mtl_core.execution.forkserver import holding_sigint
from mtl_core.paths import PROJECT_ROOT


def test_a_ctrl_c_while_sigint_is_held_is_raised_once_the_hold_ends():
    finished_inside = False
    with pytest.raises(KeyboardInterrupt), holding_sigint():
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # bytecodes: a handler that ran now would raise here
            pass
        finished_inside = True
    assert finished_inside


# Starts a batch's forkserver in a process of its own, with a Ctrl-C sent to the whole
# process group (the forkserver included) the moment the forkserver was spawned.
SCRIPT = textwrap.dedent(
    """
    import os, signal
    from multiprocessing import forkserver as mp_forkserver
    from mtl_core.execution import forkserver

    def state():
        forkserver.settle(forkserver.here())
        return (
            signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()),
            signal.getsignal(signal.SIGINT) == signal.SIG_IGN,
        )

    if __name__ == "__main__":
        forkserver.PRELOAD[:] = []  # nothing heavy for this check
        spawn = mp_forkserver.ensure_running

        def spawn_then_ctrl_c():
            spawn()
            os.killpg(0, signal.SIGINT)

        mp_forkserver.ensure_running = spawn_then_ctrl_c
        try:
            forkserver.start(ignore_sigint=True)
            print("ctrl-c-lost")
        except KeyboardInterrupt:
            print("ctrl-c-raised")
        mp_forkserver.ensure_running = spawn
        first = mp_forkserver._forkserver._forkserver_pid
        print("parent-blocked", signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()))
        with forkserver.context().Pool(1) as pool:  # the forkserver survived the Ctrl-C
            print("worker-blocked-ignored", *pool.apply(state))
        print("same-forkserver", mp_forkserver._forkserver._forkserver_pid == first)
    """
)


def test_a_ctrl_c_as_a_batch_forkserver_starts_reaches_the_batch_not_its_workers(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    out = subprocess.run(
        [sys.executable, str(script)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    assert out.stdout.splitlines() == [
        "ctrl-c-raised",
        "parent-blocked False",
        "worker-blocked-ignored False True",
        "same-forkserver True",
    ], out.stderr
    assert "Traceback" not in out.stderr, out.stderr


EXIT_SCRIPT = textwrap.dedent(
    """
    from mtl_core.execution import forkserver

    if __name__ == "__main__":
        forkserver.PRELOAD[:] = ["slow_preload"]  # still importing when this process exits
        forkserver.start(ignore_sigint=True)
        print("started")
    """
)


def test_a_process_that_exits_while_its_forkserver_imports_leaves_no_one_holding_its_pipes(
    tmp_path,
):
    """A forkserver looks for its parent's exit only once its preload is done: it used to
    hold the console's pipes that long, so a batch stopped early seemed to hang."""
    (tmp_path / "slow_preload.py").write_text("import time\ntime.sleep(120)\n")
    script = tmp_path / "exits.py"
    script.write_text(EXIT_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": f"{PROJECT_ROOT}:{tmp_path}"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=60)
    finally:  # whatever is left of the group (a forkserver that outlived its parent)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert out.split() == ["started"], err
