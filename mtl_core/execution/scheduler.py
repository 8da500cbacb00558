"""The scheduler core: a queue of runs, a few slots, their failures, stops and reports.

Three schedulers train runs here: the CLI's local batch (``parallel.py``), the dashboard's
``RunManager`` (mtl_core/dashboard/runs.py) and the Ray driver (``ray_backend.py``). They share one
design, kept once in this module, and each is an adapter that says only how its runs are
launched and how it waits for them (a loop over futures, pool callbacks in a server's
threads, a Ray generator's messages):

- runs wait in the scheduler's own queue, not in an executor's: a pool's internal queue
  would fail every waiting run when its worker died;
- each local slot is a one-process pool (``Slots``), so a worker killed by the OS breaks
  only its own slot: its run is recorded as failed and the slot gets a new process;
- a run's end that its worker could not record (its death, a bug outside the trainer) is
  recorded here (``failure``, ``finish_live``), never over an end already recorded;
- a stop ends queued runs without starting them (``Batch.drop_queued``), and a Ctrl-C
  reaches the scheduler only where it is safe (``on_sigint``, ``deferring_sigint``);
- results come back in input order, with a ``Progress`` report after each change.

Statuses are the store's (``mtl_core.store.schema``), messages are ``messages.py``'s.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mtl_core.errors import StoreError
from mtl_core.execution.messages import INTERNAL, NO_WORKER
from mtl_core.store.schema import LIVE, Status
from mtl_core.training.results import RunResult

if TYPE_CHECKING:
    from mtl_core.store.runs import RunStore

FAILED = (Status.FAILED, Status.INTERRUPTED)  # the ends a progress report counts as failures


@dataclass(frozen=True)
class Progress:
    """Counts after a run started or ended; ``ended`` is the index of the run that ended."""

    total: int
    done: int  # ended in any way (completed, stopped, diverged, failed)
    running: int
    failed: int  # failed or interrupted
    ended: int | None = None
    result: RunResult | None = None


# -- ends a worker could not record -------------------------------------------------------


def internal_error(exc: BaseException) -> str:
    """One line naming a bug that surfaced outside the trainer."""
    first = (str(exc).splitlines() or [""])[0][:200]
    return INTERNAL.format(f"{type(exc).__name__}: {first}")


def failure(exc: BaseException, died: str, interrupted: str) -> tuple[str, str]:
    """The status and message of a run whose worker's future raised ``exc``."""
    if isinstance(exc, BrokenProcessPool):  # the worker process died
        return Status.FAILED, died
    if isinstance(exc, KeyboardInterrupt | SystemExit):  # SIGINT or SIGTERM to the worker
        return Status.INTERRUPTED, interrupted
    return Status.FAILED, internal_error(exc)


def no_worker(exc: BaseException) -> str:
    """Why a run failed when no worker process could be started (memory, process limit)."""
    return NO_WORKER.format(type(exc).__name__)


def status_of(store: RunStore, run_id: int) -> str | None:
    """The run's status in the store; None once it was deleted (the dashboard can)."""
    try:
        return store.get_run(run_id)["status"]
    except StoreError:
        return None


def finish_live(
    store: RunStore, run_id: int, status: str, message: str, summary: dict | None = None
) -> bool:
    """End a run that is still live (queued, running, paused); an end already recorded (by
    its worker, or a stop) is kept. Whether this call recorded it."""
    if status_of(store, run_id) not in LIVE:
        return False
    store.finish(run_id, status, message, summary or {}, {})
    return True


# -- Ctrl-C ---------------------------------------------------------------------------------


@contextlib.contextmanager
def on_sigint(handler: Callable[[], None]) -> Iterator[None]:
    """Call ``handler`` at a Ctrl-C during the block instead of raising KeyboardInterrupt
    wherever the main thread happens to be; a no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: handler())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def deferring_sigint() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done, then raise it: a worker process half started
    (forked, but not yet in the pool's table) would outlive the batch."""
    caught: list[bool] = []
    with on_sigint(lambda: caught.append(True)):
        yield
    if caught:
        raise KeyboardInterrupt


# -- slots: one-process pools --------------------------------------------------------------


@dataclass
class Slot:
    """One training slot: a one-worker pool and the run it trains (index or id), if any."""

    pool: ProcessPoolExecutor | None = None
    job: int | None = None


class Slots:
    """``count`` slots whose pools ``make_pool`` makes on first use (and after a death)."""

    def __init__(self, count: int, make_pool: Callable[[], ProcessPoolExecutor]) -> None:
        self.slots = [Slot() for _ in range(count)]
        self.make_pool = make_pool

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots)

    def pool(self, slot: Slot) -> ProcessPoolExecutor:
        if slot.pool is None:
            slot.pool = self.make_pool()
        return slot.pool

    def busy(self) -> list[Slot]:
        return [s for s in self.slots if s.job is not None]

    def submit(self, slot: Slot, job: int, fn: Callable[..., Any], *args: Any) -> Future:
        """Start ``fn(*args)`` in the slot's worker; a broken or shut down pool is replaced
        once. On any failure the slot is left free, with no pool."""
        try:
            try:
                future = self.pool(slot).submit(fn, *args)
            except (BrokenProcessPool, RuntimeError):
                slot.pool = None
                future = self.pool(slot).submit(fn, *args)
        except BaseException:
            slot.pool = None
            raise
        slot.job = job
        return future

    def dispatch(
        self,
        queue: deque[int],
        launch: Callable[[Slot, int], None],
        refused: Callable[[int, Exception], None],
        guard: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    ) -> None:
        """Hand queued runs to free slots, oldest first: ``launch`` starts one (through
        ``submit``) inside ``guard``; a run no process could be started for goes to
        ``refused`` and the next one is tried."""
        for slot in self.slots:
            if slot.job is not None or not queue:
                continue
            job = queue.popleft()
            try:
                with guard():
                    launch(slot, job)
            except Exception as exc:  # no process could be started (memory, process limit)
                slot.pool, slot.job = None, None
                refused(job, exc)

    def release(self, slot: Slot, job: int, exc: BaseException | None) -> None:
        """The slot's run ``job`` ended. After its worker's death, or a Ctrl-C or SIGTERM
        that cut its run short, the slot's next run gets a new process: the old one was
        stopped at an arbitrary point of its code, which can leave a library's state half
        changed (one that lands as a ``torch.no_grad()`` block ends leaves torch's grad mode
        off, and a next run's first backward failed there), and a SIGTERM asks a process to
        end."""
        if slot.job == job:
            slot.job = None
        if isinstance(exc, BrokenProcessPool | KeyboardInterrupt | SystemExit):
            retired, slot.pool = slot.pool, None
            if retired is not None:  # an interrupted worker answered and exits when told
                retired.shutdown(wait=False, cancel_futures=True)

    def terminate(self, slot: Slot) -> None:
        """End a slot's worker process (one this scheduler started, by its handle)."""
        for process in list((getattr(slot.pool, "_processes", None) or {}).values()):
            process.terminate()

    def pid(self, job: int) -> int | None:
        """The process training ``job``, or None."""
        for slot in self.slots:
            if slot.job == job and slot.pool is not None:
                pids = list(slot.pool._processes or {})  # one worker per slot
                return pids[0] if pids else None
        return None

    def shutdown(self, wait: bool) -> None:
        """End every pool: idle workers at once (nothing to lose), busy ones as asked."""
        pools = [(s.pool, s.job) for s in self.slots if s.pool is not None]  # as they are now
        for pool, job in pools:
            if job is None:  # nothing to lose: do not wait for a warm-up nobody needs
                for process in list((pool._processes or {}).values()):
                    process.terminate()
        for pool, _ in pools:
            pool.shutdown(wait=wait, cancel_futures=True)


# -- a batch: runs known up front, results in input order -----------------------------------


class Batch:
    """A batch's queue (run indices), its results and its progress reports. An adapter
    starts queued runs, and calls ``end`` or ``record`` as each ends."""

    def __init__(
        self,
        run_ids: list[int | None],
        store: RunStore | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.run_ids, self.store, self.progress = run_ids, store, progress
        self.queue: deque[int] = deque(range(len(run_ids)))
        self.results: list[RunResult | None] = [None] * len(run_ids)

    def in_flight(self) -> int:
        """How many runs the progress reports count as running."""
        raise NotImplementedError

    def report(self, ended: int | None = None) -> None:
        if self.progress is None:
            return
        done = [r for r in self.results if r is not None]
        failed = sum(r.status in FAILED for r in done)
        result = self.results[ended] if ended is not None else None
        self.progress(
            Progress(len(self.results), len(done), self.in_flight(), failed, ended, result)
        )

    def end(self, index: int, result: RunResult) -> None:
        """A run ended as its worker recorded it."""
        self.results[index] = result
        self.report(index)

    def record(
        self,
        index: int,
        status: str,
        message: str,
        summary: dict | None = None,
        *,
        write: bool = True,
    ) -> None:
        """A run ended in a way its worker could not record: write it (unless ``write`` is
        False or the run already ended in the store) and report it."""
        run_id = self.run_ids[index]
        if write and self.store is not None:
            finish_live(self.store, run_id, status, message)
        self.end(index, RunResult(run_id, status, message, summary or {}))

    def drop_queued(self, message: str) -> None:
        """End every run still queued as ``stopped``, without starting it."""
        while self.queue:
            self.record(self.queue.popleft(), Status.STOPPED, message)

    def unfinished(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r is None]

    def finished(self) -> list[RunResult]:
        return [r for r in self.results if r is not None]
