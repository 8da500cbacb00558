"""Train a batch of runs in worker processes: seeds, baselines, grids and learning curves.

Why processes and not threads: torch's global random state and thread pool are one per
process, so runs sharing a process would not stay reproducible or would fight over cores.
Each worker slot is a one-process pool: a worker killed by the OS breaks only its own slot
(its run is recorded as failed and the slot gets a new process), and runs waiting for a
slot wait in this process's queue, not in a pool's, so one death cannot fail them all.

Workers are forks of this process's forkserver (mtl_core/execution/forkserver.py: torch and the
trainer imported once), started with SIGINT ignored so that workers ignore the terminal's
Ctrl-C from birth; the forkserver starts once, so the window in which a Ctrl-C could be
lost opens once, not at every worker start. A worker start defers a Ctrl-C until the
worker is tracked, and at Ctrl-C a worker whose run has not begun is ended at once.

With a store, every run is created up front as ``queued`` (a dashboard shows the whole
batch at once) and each worker trains its run id into the same SQLite file. Ctrl-C stops
the batch cleanly: queued runs end as ``stopped`` without starting, running ones are
asked to stop (through the store, or a shared event without one) and end as ``stopped``
with their finished epochs; then KeyboardInterrupt propagates. A second Ctrl-C
terminates the workers at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from mtl_core.config import RunConfig, from_dict, validate
from mtl_core.errors import ConfigError, MtlError
from mtl_core.execution import forkserver
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.training.control import RunControl
from mtl_core.training.results import RunResult

MAX_WORKERS = 32
DIED = "the worker process died (killed by the system, perhaps for lack of memory?)"
NOT_STARTED = "stopped before it started (Ctrl-C)"
INTERRUPTED = "interrupted: the batch was stopped while this run trained"

_stop_event = None  # in a worker: the batch's stop event (runs without a store watch it)


@dataclass(frozen=True)
class Progress:
    """Counts after a run started or ended; ``ended`` is the index of the run that ended."""

    total: int
    done: int  # ended in any way (completed, stopped, diverged, failed)
    running: int
    failed: int  # failed or interrupted
    ended: int | None = None
    result: RunResult | None = None


def _init_worker(dataset: str, stop_event, where: tuple[str, dict[str, str]]) -> None:
    """Warm the worker up (torch, data) and leave Ctrl-C to the parent, which stops runs
    through the store so that they end as ``stopped`` with their epochs and summary."""
    global _stop_event
    from mtl_core.execution.worker import warm_up

    forkserver.settle(where)
    warm_up(dataset)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _stop_event = stop_event


def _job(
    config: dict, store_path: str | None, run_id: int | None, data_dir: str | None
) -> RunResult:
    """One run in a worker process; every outcome comes back as a RunResult."""
    import torch

    from mtl_core.execution.worker import train_stored
    from mtl_core.training.trainer import train

    torch.set_num_threads(int(config.get("threads", 1)))
    if store_path is not None:
        return train_stored(store_path, run_id, config, data_dir)
    try:
        return train(from_dict(config), control=RunControl(stop=_stop_event), data_dir=data_dir)
    except MtlError as exc:
        return RunResult(None, "failed", str(exc), {})
    except Exception as exc:
        return RunResult(None, "failed", f"internal error: {exc!r}", {})


@contextlib.contextmanager
def _deferring_sigint() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done, then raise it: a worker process half started
    (forked, but not yet in the pool's table) would outlive the batch; a no-op outside the
    main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class _Batch:
    def __init__(
        self,
        configs: list[RunConfig],
        workers: int,
        store: RunStore | None,
        run_ids: list[int | None],
        data_dir: str | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.configs, self.store, self.run_ids = configs, store, run_ids
        self.data_dir, self.progress = data_dir, progress
        self.results: list[RunResult | None] = [None] * len(configs)
        self.queue = deque(range(len(configs)))
        self.context = forkserver.context()
        self.not_started: set[int] = set()  # runs whose worker was ended before they began
        # Runs with a store stop through it; only store-less runs need a shared event (a
        # named semaphore, which a worker forked after this process ended could not open).
        self.stop_event = self.context.Event() if store is None else None
        self.pools: list[ProcessPoolExecutor | None] = [None] * min(workers, len(configs))
        self.running: dict[Future, tuple[int, int]] = {}  # future -> (slot, run index)
        self.interrupted = False

    # -- bookkeeping -------------------------------------------------------------------

    def _end(self, index: int, result: RunResult) -> None:
        self.results[index] = result
        self._report(index)

    def _report(self, ended: int | None = None) -> None:
        if self.progress is None:
            return
        done = [r for r in self.results if r is not None]
        failed = sum(r.status in ("failed", "interrupted") for r in done)
        result = self.results[ended] if ended is not None else None
        self.progress(
            Progress(len(self.results), len(done), len(self.running), failed, ended, result)
        )

    def _record_failure(self, index: int, status: str, message: str) -> None:
        """What the worker could not record itself (its death, a bug in the pool)."""
        run_id = self.run_ids[index]
        if self.store is not None and self.store.get_run(run_id)["status"] in LIVE:
            self.store.finish(run_id, status, message, {}, {})
        self._end(index, RunResult(run_id, status, message, {}))

    # -- the loop ----------------------------------------------------------------------

    def _pool(self, slot: int) -> ProcessPoolExecutor:
        if self.pools[slot] is None:
            self.pools[slot] = ProcessPoolExecutor(
                max_workers=1,
                mp_context=self.context,
                initializer=_init_worker,
                initargs=(self.configs[0].dataset, self.stop_event, forkserver.here()),
            )
        return self.pools[slot]

    def _prime(self) -> None:
        """Wait, with Ctrl-C live, for the forkserver to finish its imports (seconds, once
        per process): worker starts (which defer Ctrl-C) then take milliseconds."""
        forkserver.start(ignore_sigint=True)
        process = self.context.Process(target=int)
        process.start()
        process.join()

    def _dispatch(self) -> None:
        busy = {slot for slot, _ in self.running.values()}
        for slot in range(len(self.pools)):
            if slot in busy or not self.queue:
                continue
            index = self.queue.popleft()
            args = (
                _job,
                self.configs[index].to_dict(),
                str(self.store.path) if self.store else None,
                self.run_ids[index],
                self.data_dir,
            )
            try:
                with _deferring_sigint():  # a started worker is always one we track
                    forkserver.start(ignore_sigint=True)
                    self.running[self._pool(slot).submit(*args)] = (slot, index)
            except Exception as exc:  # no process could be started (memory, process limit)
                self.pools[slot] = None
                self._record_failure(
                    index,
                    "failed",
                    f"could not start a worker process ({type(exc).__name__}); try again later",
                )
        self._report()

    def _collect(self, future: Future) -> None:
        slot, index = self.running.pop(future)
        exc = future.exception()
        if exc is None:
            self._end(index, future.result())
            return
        if isinstance(exc, BrokenProcessPool):  # the next run in this slot gets a new process
            broken, self.pools[slot] = self.pools[slot], None
            broken.shutdown(wait=False, cancel_futures=True)
            if index in self.not_started and self._status(index) == "queued":
                self._record_failure(index, "stopped", NOT_STARTED)
            else:
                self._record_failure(
                    index, *(("interrupted", INTERRUPTED) if self.interrupted else ("failed", DIED))
                )
        elif isinstance(exc, KeyboardInterrupt | SystemExit):  # SIGTERM to the worker
            self._record_failure(index, "interrupted", INTERRUPTED)
        else:
            first = (str(exc).splitlines() or [""])[0][:200]
            self._record_failure(index, "failed", f"internal error: {type(exc).__name__}: {first}")

    def run(self) -> list[RunResult]:
        self._prime()
        self._dispatch()
        while self.running:
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for future in done:
                self._collect(future)
            self._dispatch()
        return [r for r in self.results if r is not None]

    def stop(self) -> None:
        """First Ctrl-C: ask running runs to stop, end queued ones, wait for the running.
        A second Ctrl-C anywhere in here ends the workers at once."""
        self.interrupted = True
        try:
            if self.stop_event is not None:
                self.stop_event.set()
            if self.store is not None:
                for slot, index in list(self.running.values()):
                    self.store.request(self.run_ids[index], "stop")
                    if self._status(index) == "queued":  # its worker is still warming up:
                        self.not_started.add(index)  # end it now rather than wait for that
                        self._terminate(slot)
            while self.queue:
                index = self.queue.popleft()
                if self.store is not None:
                    self.store.finish(self.run_ids[index], "stopped", NOT_STARTED, {}, {})
                self._end(index, RunResult(self.run_ids[index], "stopped", NOT_STARTED, {}))
            while self.running:
                done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
                for future in done:
                    self._collect(future)
        except KeyboardInterrupt:  # second Ctrl-C: no more waiting
            self.kill()

    def _status(self, index: int) -> str | None:
        return self.store.get_run(self.run_ids[index])["status"] if self.store else None

    def _terminate(self, slot: int) -> None:
        """End a slot's worker process (one this batch started, by its handle)."""
        for process in list((getattr(self.pools[slot], "_processes", None) or {}).values()):
            process.terminate()

    def kill(self) -> None:
        for slot in range(len(self.pools)):
            self._terminate(slot)
        for future, (_, index) in list(self.running.items()):
            self.running.pop(future)
            self._record_failure(index, "interrupted", INTERRUPTED)

    def close(self) -> None:
        for pool in self.pools:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        for index, result in enumerate(self.results):  # a bug here must not leave runs
            if result is None:  # queued forever
                self._record_failure(index, "stopped", NOT_STARTED)


def check_data(configs: Sequence[RunConfig], data_dir: str | None = None) -> None:
    """Raise the loader's DataError now if a downloadable dataset's files are missing, so
    a batch fails before any run is stored (as ``train`` does) instead of run by run. A
    cheap look for the files: damaged files still fail their runs in the workers."""
    from mtl_core.data.datasets import get_dataset
    from mtl_core.data.download import find_idx_dir, load_idx_dataset

    for name in sorted({c.dataset for c in configs}):
        if not get_dataset(name).offline and find_idx_dir(name, data_dir) is None:
            load_idx_dataset(name, data_dir)  # raises its "not found: download it" error


def check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        raise ConfigError(
            "workers", f"must be a whole number from 1 to {MAX_WORKERS}, got {workers!r}"
        )
    return workers


def run_configs(
    configs: Sequence[RunConfig],
    *,
    workers: int = 2,
    store_path: str | Path | None = None,
    names: Sequence[str] | None = None,
    owner: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
    run_ids: Sequence[int] | None = None,
) -> list[RunResult]:
    """Train ``configs`` in ``workers`` processes; their results in input order.

    Every config is validated, and the presence of its data checked, before anything is
    stored or started (a ConfigError names the field). A run that fails is recorded as
    failed and the others go on. Each worker uses ``config.threads`` torch threads (1 by
    default: one per core with 2 workers). ``run_ids`` names runs already created in the
    store as ``queued`` (a sweep creates its own), one per config, instead of new ones.
    """
    configs = list(configs)
    check_workers(workers)
    for config in configs:
        validate(config)
    if names is not None and len(names) != len(configs):
        raise ConfigError("names", f"got {len(names)} names for {len(configs)} runs")
    if run_ids is not None and (store_path is None or len(run_ids) != len(configs)):
        raise ConfigError("run_ids", "give a store and one run id per config")
    if not configs:
        return []
    check_data(configs, data_dir)
    store = RunStore(store_path) if store_path is not None else None
    try:
        ids: list[int | None] = list(run_ids) if run_ids is not None else [None] * len(configs)
        if store is not None and run_ids is None:
            ids = []
            try:
                for i, c in enumerate(configs):
                    ids.append(
                        store.create_run(
                            c.to_dict(),
                            name=names[i] if names else "",
                            owner=owner,
                            status="queued",
                        )
                    )
            except KeyboardInterrupt:  # Ctrl-C while storing the batch: none of it starts
                for run_id in ids:
                    store.finish(run_id, "stopped", NOT_STARTED, {}, {})
                raise
        batch = _Batch(configs, workers, store, ids, data_dir, progress)
        try:
            return batch.run()
        except KeyboardInterrupt:
            batch.stop()
            raise
        finally:
            batch.close()
    finally:
        if store is not None:
            store.close()
