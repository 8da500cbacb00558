"""Run a data function in a worker process and get its numpy result back.

The dashboard's server process stays free of torch and scikit-learn (each page would
otherwise pay their import and hold their memory: issue "fast from the first click").
What it needs from prepared data (the preview's images, the images a run got wrong, a
data hash) is computed by one long-lived helper process forked from the forkserver, which
has those libraries imported already (mtl_core/execution/forkserver.py), and comes back
as plain arrays and strings. The helper keeps the last prepared datasets in memory
(``load_bundle``'s own cache), so a second preview costs milliseconds.

The helper is started on first use and replaced if it dies; calls are serialised (one
helper, one job at a time), which is what a page's occasional previews need.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mtl_core.errors import MtlError
from mtl_core.execution import forkserver

TIMEOUT = 300.0  # seconds: preparing a dataset the first time may parse CSV or IDX files

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _helper() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=forkserver.context(),
            initializer=forkserver.settle_quietly,
            initargs=(forkserver.here(),),
        )
    return _pool


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in the helper process (a module-level function, picklable by name);
    its exceptions are raised here, as they would be in-process."""
    global _pool
    if forkserver.closing():
        raise MtlError("the server is stopping; reload the page once it is back")
    for attempt in (1, 2):
        with _lock:
            pool = _helper()
        try:
            future = pool.submit(fn, *args)
        except (OSError, EOFError, RuntimeError, BrokenProcessPool) as exc:
            # No helper could be started: the forkserver is gone (the server stops) or the
            # machine refuses a process. One line for the page, no traceback.
            with _lock:
                if _pool is pool:
                    _pool = None
            if attempt == 2 or forkserver.closing():
                raise MtlError(f"could not start a helper process ({type(exc).__name__})") from exc
            continue
        try:
            return future.result(timeout=TIMEOUT)
        except BrokenProcessPool:  # the helper died (killed, out of memory): one new try
            with _lock:
                if _pool is pool:
                    _pool = None
            if attempt == 2:
                raise MtlError("the helper process died; reload the page") from None
    raise AssertionError("unreachable")


def shutdown() -> None:
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None
