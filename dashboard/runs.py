"""Training in the background: a pool of worker processes shared by every browser session.

The pool lives in ``st.cache_resource``, so it survives reruns and is shared across
sessions. Workers never call Streamlit: they train and write to the run store; pages
read the store. Runs beyond the pool's size wait as ``queued``. A worker killed by the
OS breaks the pool: its runs are recorded as failed and a fresh pool replaces it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from mtl_core.config import RunConfig
from mtl_core.paths import default_store_path
from mtl_core.store import RunStore
from mtl_core.worker import execute_run, warm_up


def store_path() -> Path:
    return Path(os.environ.get("MTL_STORE", default_store_path()))


def max_concurrent_runs() -> int:
    return max(1, int(os.environ.get("MTL_MAX_RUNS", "2")))


class RunManager:
    """Starts runs in worker processes and steers them through the store."""

    def __init__(self, path: Path, workers: int) -> None:
        self.path = path
        self.workers = workers
        self.store = RunStore(path)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self.futures: dict[int, Future] = {}

    def _get_pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=warm_up,
                )
            return self._pool

    def warm(self) -> None:
        """Start the worker processes now, so the first click does not wait for them."""
        pool = self._get_pool()
        for _ in range(self.workers):
            pool.submit(int, 0)

    def start(self, config: RunConfig, *, owner: str, name: str = "") -> int:
        run_id = self.store.create_run(config.to_dict(), name=name, owner=owner, status="queued")
        self._submit(run_id, config)
        return run_id

    def _submit(self, run_id: int, config: RunConfig) -> None:
        try:
            future = self._get_pool().submit(execute_run, str(self.path), run_id, config.to_dict())
        except BrokenProcessPool:
            self._replace_pool()
            future = self._get_pool().submit(execute_run, str(self.path), run_id, config.to_dict())
        self.futures[run_id] = future
        future.add_done_callback(lambda f, rid=run_id: self._finished(rid, f))

    def _finished(self, run_id: int, future: Future) -> None:
        self.futures.pop(run_id, None)
        if future.cancelled():
            self.store.finish(run_id, "stopped", "stopped before it started", {}, {})
            return
        exc = future.exception()
        if exc is None:
            return
        if isinstance(exc, BrokenProcessPool):
            message = (
                "the worker process died (killed by the system?); its finished epochs are kept"
            )
            self._replace_pool()
        else:
            message = f"internal error: {exc!r}"
        run = self.store.get_run(run_id)
        if run["status"] in ("queued", "running", "paused"):
            self.store.finish(run_id, "failed", message, run["summary"], {})

    def _replace_pool(self) -> None:
        with self._lock:
            broken, self._pool = self._pool, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def owns(self, run_id: int, owner: str) -> bool:
        return self.store.get_run(run_id)["owner"] == owner

    def request(self, run_id: int, owner: str, action: str) -> bool:
        """Pause, resume ("") or stop a run: only its owner may."""
        if not self.owns(run_id, owner):
            return False
        if action == "stop":
            future = self.futures.get(run_id)
            if future is not None and future.cancel():
                return True
        self.store.request(run_id, action)
        return True

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
