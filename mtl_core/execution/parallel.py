"""Train a batch of runs in worker processes: seeds, baselines, grids and learning curves.

Why processes and not threads: torch's global random state and thread pool are one per
process, so runs sharing a process would not stay reproducible or would fight over cores.
Each worker slot is a one-process pool: a worker killed by the OS breaks only its own slot
(its run is recorded as failed and the slot gets a new process), and runs waiting for a
slot wait in this process's queue, not in a pool's, so one death cannot fail them all.
That queue, the slots, their failures and the progress reports are the scheduler core's
(``scheduler.py``, shared with the dashboard and Ray); this module is its adapter for a
batch that waits for its runs, and holds the Ctrl-C handling below.

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

import signal
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from mtl_core.config import RunConfig, from_dict, validate
from mtl_core.errors import ConfigError, MtlError
from mtl_core.execution import forkserver
from mtl_core.execution.messages import BATCH_INTERRUPTED, DIED, NOT_STARTED
from mtl_core.execution.scheduler import (
    Batch,
    Progress,
    Slot,
    Slots,
    deferring_sigint,
    failure,
    no_worker,
)
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.training.control import RunControl
from mtl_core.training.results import RunResult

MAX_WORKERS = 32

_stop_event = None  # in a worker: the batch's stop event (runs without a store watch it)


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
        return RunResult(None, Status.FAILED, str(exc), {})
    except Exception as exc:
        return RunResult(None, Status.FAILED, f"internal error: {exc!r}", {})


class _Batch(Batch):
    """The scheduler core (``scheduler.py``) driven by a loop over the slots' futures."""

    def __init__(
        self,
        configs: list[RunConfig],
        workers: int,
        store: RunStore | None,
        run_ids: list[int | None],
        data_dir: str | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        super().__init__(run_ids, store, progress)
        self.configs, self.data_dir = configs, data_dir
        self.context = forkserver.context()
        self.not_started: set[int] = set()  # runs whose worker was ended before they began
        # Runs with a store stop through it; only store-less runs need a shared event (a
        # named semaphore, which a worker forked after this process ended could not open).
        self.stop_event = self.context.Event() if store is None else None
        self.slots = Slots(min(workers, len(configs)), self._make_pool)
        self.running: dict[Future, Slot] = {}  # future -> the slot training its run
        self.interrupted = False

    def in_flight(self) -> int:
        return len(self.running)

    def _status(self, index: int) -> str | None:
        return self.store.get_run(self.run_ids[index])["status"] if self.store else None

    # -- the loop ----------------------------------------------------------------------

    def _make_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=self.context,
            initializer=_init_worker,
            initargs=(self.configs[0].dataset, self.stop_event, forkserver.here()),
        )

    def _prime(self) -> None:
        """Wait, with Ctrl-C live, for the forkserver to finish its imports (seconds, once
        per process): worker starts (which defer Ctrl-C) then take milliseconds."""
        forkserver.start(ignore_sigint=True)
        process = self.context.Process(target=int)
        process.start()
        process.join()

    def _launch(self, slot: Slot, index: int) -> None:
        """Start a run in a slot; called with Ctrl-C deferred (a started worker is always
        one we track)."""
        forkserver.start(ignore_sigint=True)
        store_path = str(self.store.path) if self.store else None
        config = self.configs[index].to_dict()
        args = (config, store_path, self.run_ids[index], self.data_dir)
        self.running[self.slots.submit(slot, index, _job, *args)] = slot

    def _dispatch(self) -> None:
        self.slots.dispatch(
            self.queue,
            self._launch,
            lambda index, exc: self.record(index, Status.FAILED, no_worker(exc)),
            guard=deferring_sigint,
        )
        self.report()

    def _collect(self, future: Future) -> None:
        slot = self.running.pop(future)
        index = slot.job
        exc = future.exception()
        self.slots.release(slot, index, exc)
        if exc is None:
            self.end(index, future.result())
        elif not isinstance(exc, BrokenProcessPool):
            self.record(index, *failure(exc, DIED, BATCH_INTERRUPTED))
        elif index in self.not_started and self._status(index) == Status.QUEUED:
            self.record(index, Status.STOPPED, NOT_STARTED)
        elif self.interrupted:  # its worker ended after a Ctrl-C
            self.record(index, Status.INTERRUPTED, BATCH_INTERRUPTED)
        else:
            self.record(index, Status.FAILED, DIED)

    def _wait_running(self) -> None:
        while self.running:
            done, _ = wait(list(self.running), return_when=FIRST_COMPLETED)
            for future in done:
                self._collect(future)
            if not self.interrupted:
                self._dispatch()

    def run(self) -> list[RunResult]:
        self._prime()
        self._dispatch()
        self._wait_running()
        return self.finished()

    def stop(self) -> None:
        """First Ctrl-C: ask running runs to stop, end queued ones, wait for the running.
        A second Ctrl-C anywhere in here ends the workers at once."""
        self.interrupted = True
        try:
            if self.stop_event is not None:
                self.stop_event.set()
            if self.store is not None:
                for slot in list(self.running.values()):
                    self.store.request(self.run_ids[slot.job], "stop")
                    if self._status(slot.job) == Status.QUEUED:  # its worker is still warming up:
                        self.not_started.add(slot.job)  # end it now rather than wait for that
                        self.slots.terminate(slot)
            self.drop_queued(NOT_STARTED)
            self._wait_running()
        except KeyboardInterrupt:  # second Ctrl-C: no more waiting
            self.kill()

    def kill(self) -> None:
        for slot in self.slots:
            self.slots.terminate(slot)
        for future, slot in list(self.running.items()):
            self.running.pop(future)
            index, slot.job = slot.job, None
            self.record(index, Status.INTERRUPTED, BATCH_INTERRUPTED)

    def close(self) -> None:
        for slot in self.slots:
            if slot.pool is not None:
                slot.pool.shutdown(wait=True, cancel_futures=True)
        for index in self.unfinished():  # a bug here must not leave runs queued forever
            self.record(index, Status.STOPPED, NOT_STARTED)


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
                            status=Status.QUEUED,
                        )
                    )
            except KeyboardInterrupt:  # Ctrl-C while storing the batch: none of it starts
                for run_id in ids:
                    store.finish(run_id, Status.STOPPED, NOT_STARTED, {}, {})
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
