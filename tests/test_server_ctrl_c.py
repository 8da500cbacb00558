"""A Ctrl-C at the dashboard's terminal leaves no traceback from its worker processes.

``make dashboard`` runs the server in the terminal's foreground, so a Ctrl-C reaches its
whole process group: the server and its pool workers. An idle worker took it as
KeyboardInterrupt and printed its traceback, two of them with the default two slots,
above Streamlit's own last line. The server's workers now end on SIGINT as on SIGTERM
(``forkserver.exit_on``); one that trains records its run as interrupted, as before
(tests/test_runs.py). Each case is its own interpreter, whose whole output is read.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from mtl_core.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow  # each starts a forkserver that imports torch

# A pool made as the server makes each kind (the run slots', the page's helper), one job
# done, then SIGINT to its idle worker, as the terminal sends it.
# The interpreter starts as a terminal starts ``make dashboard``: SIGINT neither blocked
# nor ignored (a test process may hand its child either).
CODE = """
import os, signal, time
signal.pthread_sigmask(signal.SIG_UNBLOCK, {{signal.SIGINT}})
signal.signal(signal.SIGINT, signal.default_int_handler)
from concurrent.futures import ProcessPoolExecutor
from mtl_core.execution import forkserver
from mtl_core.execution.jobs import warm_up_here

forkserver.start(ignore_sigint=False)
kind = {kind!r}
init, args = {{
    "slot": (warm_up_here, (forkserver.here(), 0, "digits")),
    "helper": (forkserver.settle_quietly, (forkserver.here(),)),
}}[kind]
pool = ProcessPoolExecutor(1, mp_context=forkserver.context(), initializer=init, initargs=args)
pid = pool.submit(os.getpid).result(timeout=120)

def idle(pid):  # blocked reading the pool's call queue, as a worker waits between runs
    try:
        with open(f"/proc/{{pid}}/wchan") as f:
            return "pipe" in f.read()
    except OSError:
        return True

# Not while it still sends its answer: there the pool's worker catches any exception,
# SystemExit too, and sends that instead (a race of this test alone: a server's idle
# worker answered long before, and ends anyway once the server is gone).
for _ in range(600):
    if idle(pid):
        break
    time.sleep(0.05)
os.kill(pid, signal.SIGINT)
def ended(pid):  # gone, or exited and not yet reaped by the forkserver (a zombie)
    try:
        with open(f"/proc/{{pid}}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True

for _ in range(600):  # 30 s: a busy machine
    if ended(pid):
        break
    time.sleep(0.05)
else:
    with open(f"/proc/{{pid}}/status") as f:  # the signals it blocks, ignores and catches
        said = [line for line in f if line.startswith(("State", "Sig"))]
    raise SystemExit(f"the worker outlived the Ctrl-C: {{said}}")
pool.shutdown(wait=False, cancel_futures=True)
print("worker ended")
"""


@pytest.mark.parametrize("kind", ["slot", "helper"])
def test_an_idle_worker_ends_on_ctrl_c_without_a_traceback(kind):
    out = subprocess.run(
        [sys.executable, "-c", CODE.format(kind=kind)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.stdout.strip() == "worker ended", (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr and "KeyboardInterrupt" not in out.stderr, out.stderr
