"""Where worker processes come from: one forkserver per process, torch already imported.

A spawned worker is a fresh interpreter: it imported torch, the trainer (scikit-learn with
it) and, at its first optimiser step, ``torch._dynamo`` before it trained anything, which
took 4-7 s here and is what a newcomer's first click waited for. A forkserver imports
the worker's code once, in a process of its own; every worker is then a fork of it,
ready in milliseconds. What it imports is kept small, as a first click waits for it
when the page shows first: no scikit-learn (the splits are drawn in numpy), and no
``torch._dynamo`` (the project's optimisers are its own, methods/optimizers.py). Only
imports run there (no tensor op, no data loaded), so no thread pool or open file is
copied into the workers, as with DataLoader workers.

Two things a fork inherits from the forkserver rather than from the process that asked
for the worker, and so are passed along explicitly:

- its folder and the project's settings (``MTL_*`` variables), fixed when the
  forkserver started: ``here()`` takes them in the parent, ``settle()`` applies them in
  the worker;
- SIGINT's disposition. A CLI batch's forkserver ignores SIGINT (``IGNORE_SIGINT``, its
  first preload), so its workers ignore the terminal's Ctrl-C from birth and the parent
  stops runs through the store (mtl_core/execution/parallel.py). The dashboard's forkserver
  keeps it, so a Ctrl-C to the server's process group ends its workers (``exit_on``):
  one that trains records its run as interrupted, an idle one exits without a word.

The parent never ignores SIGINT to start a forkserver: a Ctrl-C landing in such a window
was lost, and the batch trained on (tests/test_ctrl_c_stress.py). Ignoring it in the
parent would not even be enough to protect a child: another thread of the parent may
take a process-directed signal. Instead the starting thread holds SIGINT (blocks it, so
the new process is born with it blocked, and defers its own) until the start is done;
the forkserver's first preload ignores and unblocks it.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from multiprocessing import forkserver, resource_tracker
from multiprocessing.context import BaseContext

# Imported once in the forkserver: the worker's code (PyTorch with it).
PRELOAD = ["mtl_core.execution.worker"]
IGNORE_SIGINT = "mtl_core.execution.sigint_ignored"  # a batch's forkserver: first preload


def context() -> BaseContext:
    """The forkserver context, its server preloading ``PRELOAD`` (imports only)."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([*_first, *PRELOAD])
    return ctx


@contextlib.contextmanager
def holding_sigint() -> Iterator[None]:
    """Block SIGINT in this thread (processes started meanwhile are born with it blocked)
    and defer a Ctrl-C that reaches this process meanwhile: it is raised, through the
    handler that was in place, once the block is done. A no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # one held here is caught now
        signal.signal(signal.SIGINT, previous)
    if caught:
        signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def ignoring_sigint() -> Iterator[None]:
    """Processes started meanwhile inherit SIG_IGN for SIGINT from their first
    instruction; a Ctrl-C in this window is lost, so keep it short. A no-op outside the
    main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def start(ignore_sigint: bool) -> None:
    """Start this process's forkserver now (it preloads in the background); a no-op when
    it runs. The first call decides whether its workers ignore SIGINT. The dashboard's
    call (``ignore_sigint=False``) also starts watching for the end of the preload
    (``ready``), so the page can say what a first run waits for."""
    global _started, _first
    if _started:
        # Started already: touch no signal. A batch calls this before every worker it
        # starts, at the moment a run ends.
        context()
        return
    if ignore_sigint:
        _first = [IGNORE_SIGINT]  # also for a forkserver relaunched later
        context()
        # The resource tracker's own start unblocks SIGINT when it is done: not inside.
        resource_tracker.ensure_running()
        with holding_sigint():
            forkserver.ensure_running()
    else:
        context()
        forkserver.ensure_running()
        _watch_ready()
    _started = True
    atexit.register(_end)


def _end() -> None:
    """At this process's exit, end its forkserver. One still importing its preload (a few
    seconds, far more on a busy machine) looks for its parent's exit only once that is
    done, and meanwhile holds the console's pipes open: a batch stopped by Ctrl-C seemed
    to hang to whoever waited for its output (tests/test_ctrl_c_stress.py)."""
    pid = forkserver._forkserver._forkserver_pid  # the one this process started, if any
    if pid is not None:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


_started = False  # this process's forkserver was started by ``start``
_first: list[str] = []  # preloaded before PRELOAD: [IGNORE_SIGINT] for a batch
_ready = threading.Event()
_watching = threading.Lock()
_closing = threading.Event()


def close() -> None:
    """The server is stopping: no new process is to be started from now on. A process
    started now would relaunch the forkserver (the stop's SIGTERM killed it with the
    server's process group) and outlive the server, holding its console open."""
    _closing.set()


def closing() -> bool:
    return _closing.is_set()


def _nothing() -> None:
    """The probe's whole life: it only shows that the forkserver forks (preload done)."""


def _watch_ready() -> None:
    if not _watching.acquire(blocking=False):
        return  # watching already (or done)

    def probe() -> None:
        try:
            process = context().Process(target=_nothing, name="mtl-forkserver-probe")
            process.start()  # returns once the forkserver forked it: its preload is done
            process.join()
        except (OSError, EOFError):  # the forkserver died (the server stops): nothing to say
            pass
        finally:
            _ready.set()  # a failure here shows in the first real worker, not in a wait

    threading.Thread(target=probe, name="mtl-forkserver-ready", daemon=True).start()


def ready() -> bool:
    """Whether a worker forks at once now (this process's forkserver finished its
    preload); False before ``start`` and while the preload runs."""
    return _ready.is_set()


def here() -> tuple[str, dict[str, str]]:
    """This process's folder and ``MTL_*`` settings, for ``settle`` in a worker."""
    return os.getcwd(), {k: v for k, v in os.environ.items() if k.startswith("MTL_")}


def settle(where: tuple[str, dict[str, str]]) -> None:
    """Make a worker's folder and ``MTL_*`` settings those ``here()`` took."""
    cwd, env = where
    os.chdir(cwd)
    for key in [k for k in os.environ if k.startswith("MTL_") and k not in env]:
        del os.environ[key]
    os.environ.update(env)


def settle_quietly(where: tuple[str, dict[str, str]]) -> None:
    """``settle``, in a server's helper process: its stop ends it quietly (``exit_on``)."""
    settle(where)
    exit_on(signal.SIGTERM, signal.SIGINT)


def exit_on(*signums: int) -> None:
    """In a server's worker: each of ``signums`` becomes SystemExit, once.

    A server stopping sends SIGTERM to its process group, and a Ctrl-C at its terminal
    SIGINT to the same group. An idle worker took the Ctrl-C as KeyboardInterrupt and
    printed its traceback in the user's terminal; one that trains records its run as
    interrupted either way (execution/scheduler.py: ``failure``)."""
    for signum in signums:
        signal.signal(signum, _terminated)


def _terminated(signum: int, frame: object) -> None:
    """The signal -> SystemExit, once: a server stopping sends SIGTERM to its process group
    and to its workers too, and a second one raised inside multiprocessing's exit handling
    of the first printed a traceback (an idle worker, at a CI's server stop)."""
    signal.signal(signum, signal.SIG_IGN)
    raise SystemExit(128 + signum)
