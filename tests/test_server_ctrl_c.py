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
CODE = """
import os, signal, time
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
os.kill(pid, signal.SIGINT)
for _ in range(200):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.05)
else:
    raise SystemExit("the worker outlived the Ctrl-C")
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
