"""Training in the background: worker processes shared by every browser session.

The manager lives in ``st.cache_resource``, so it survives reruns and is shared across
sessions. Workers never call Streamlit: they train and write to the run store; pages
read the store. Workers are forks of a forkserver that imported torch and the trainer
once (mtl_core/execution/forkserver.py), started with the manager and warmed in the background, so
neither the first page nor the first click waits for those imports. Each training slot
is a one-process pool, so a worker killed by the OS breaks only its own slot: its run is recorded as failed and the slot gets a new process,
while the other slots train on. Runs beyond ``MTL_MAX_RUNS`` wait as ``queued`` in the
manager's own queue until a slot is free (a pool's internal queue would fail every
waiting run when its worker died); the slots and the failures a worker cannot record are
the scheduler core's (mtl_core/execution/scheduler.py), driven here by the pools' callbacks. A watchdog thread stops runs whose page is gone and
marks runs orphaned by an earlier server as interrupted.

Identical runs (``mtl_core.execution.identity``) are looked up here: ``identical`` finds them and
``start_missing`` starts only the runs of a batch that have none (baselines reuse
stored runs). A reused run keeps its owner: only the session that started it may steer,
rename or delete it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

from mtl_core.config import RunConfig
from mtl_core.dashboard import feed, pulse
from mtl_core.errors import StoreError
from mtl_core.execution import forkserver, offload
from mtl_core.execution.identity import REUSABLE, Twins
from mtl_core.execution.jobs import data_hash, execute_run, warm_up_here
from mtl_core.execution.messages import (
    DIED_KEPT,
    INTERRUPTED,
    ORPHAN_QUEUED,
    ORPHAN_RUNNING,
    SHUT_DOWN,
    STOPPED_BEFORE,
    abandoned_message,
)
from mtl_core.execution.scheduler import Slot, Slots, failure, no_worker
from mtl_core.limits import LimitError, Limits
from mtl_core.paths import default_store_path
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.schema import Status

log = logging.getLogger("mtl_curves")


def store_path() -> Path:
    return Path(os.environ.get("MTL_STORE", default_store_path()))


class RunManager:
    """Starts runs in worker processes, queues the rest, and steers them through the store."""

    def __init__(
        self, path: Path, limits: Limits | None = None, *, watch_every: float = 1.0
    ) -> None:
        self.path = path
        self.limits = limits or Limits.from_env()
        self.store = RunStore(path, stale_after=self.limits.stale_after)
        self._lock = threading.RLock()
        self._slots = Slots(self.limits.max_runs, self._make_pool)
        self._queue: deque[int] = deque()
        self._configs: dict[int, dict] = {}
        self._owners: dict[int, str] = {}
        self._reasons: dict[int, str] = {}  # why the manager asked a run to stop
        self._started: dict[str, list[int]] = {}  # a page's Train click -> the runs it started
        self._seen: dict[str, float] = {}  # owner -> last time.monotonic() their page ticked
        pulse.listen(self)  # the open pages' browsers tick here (pulse.py)
        feed.serve_from(self.store)  # and their live charts read new epochs (feed.py)
        self._closed = threading.Event()
        forkserver.start(ignore_sigint=False)  # imports torch in the background from now on
        self._foreign = self._adopt_leftovers()
        self._watch_every = watch_every
        self._watchdog = threading.Thread(target=self._watch, name="mtl-watchdog", daemon=True)
        self._watchdog.start()

    @property
    def workers(self) -> int:
        return len(self._slots)

    # -- starting ----------------------------------------------------------------------

    def warm(self) -> None:
        """Start the worker processes now, in the background (the page draws meanwhile),
        so the first click does not wait for them."""

        def start() -> None:
            # The pools are made under the lock, but started outside it: a first start
            # waits for the forkserver's preload (torch, seconds), and every page's
            # script run takes this lock (``seen``), so holding it here made the first
            # page wait for PyTorch.
            with self._lock:
                pools = [] if self._closed.is_set() else [self._slots.pool(s) for s in self._slots]
            for pool in pools:
                if self._closed.is_set() or forkserver.closing():
                    return
                try:
                    pool.submit(int, 0)
                except (RuntimeError, OSError, EOFError, BrokenProcessPool):
                    return  # shut down meanwhile (the server stops): a run would say why

        threading.Thread(target=start, name="mtl-warm", daemon=True).start()

    def session_full(self, owner: str) -> str | None:
        """Why ``owner`` may not store another run (MTL_MAX_RUNS_PER_SESSION), or None."""
        if not owner or self.limits.max_runs_per_session is None:
            return None  # the CLI ("") is not a browser session
        return self.limits.session_full(len(self.store.runs(owner)))

    def refusal(self, config: RunConfig, owner: str) -> str | None:
        """Why this server would refuse the run (a limit, one line), or None."""
        return self.limits.refusal(config) or self.session_full(owner)

    def start(self, config: RunConfig, *, owner: str, name: str = "", token: str = "") -> int:
        """Store the run as queued and train it as soon as a slot is free; ``token`` (a
        page's click) finds it again through ``started``."""
        reason = self.refusal(config, owner)
        if reason is not None:
            raise LimitError(reason)
        run_id = self.store.create_run(
            config.to_dict(), name=name, owner=owner, status=Status.QUEUED
        )
        with self._lock:
            self._configs[run_id] = config.to_dict()
            self._owners[run_id] = owner
            if owner:
                self._seen[owner] = time.monotonic()
            self._queue.append(run_id)
            if token:
                self._started.setdefault(token, []).append(run_id)
            self._dispatch()
        return run_id

    def started(self, token: str) -> list[int]:
        """The runs started with ``token``, in order."""
        with self._lock:
            return list(self._started.get(token, []))

    def start_many(
        self,
        configs: list[RunConfig],
        *,
        owner: str,
        names: list[str] | None = None,
        token: str = "",
    ) -> list[int]:
        """Start a batch (seeds, baselines, a grid): all of it, or, if a server limit
        refuses any run, none of it (LimitError). Runs beyond the slots wait queued."""
        for config in configs:
            reason = self.limits.refusal(config)
            if reason is not None:
                raise LimitError(reason)
        cap = self.limits.max_runs_per_session
        if owner and cap is not None:
            stored = len(self.store.runs(owner))
            if stored + len(configs) > cap:
                raise LimitError(
                    f"this needs {len(configs)} runs and this session may store "
                    f"{max(0, cap - stored)} more (MTL_MAX_RUNS_PER_SESSION={cap}): delete "
                    "some in History, or use fewer seeds"
                )
        names = names or [""] * len(configs)
        return [
            self.start(c, owner=owner, name=n, token=token)
            for c, n in zip(configs, names, strict=True)
        ]

    def identical(
        self, configs: list[RunConfig], *, live: bool = True, owner: str | None = None
    ) -> list[int | None]:
        """Per config, the stored run identical to it: the oldest completed one, else (with
        ``live``) one queued or training, only ``owner``'s when given (students of a class
        who press Train on the same setup each get their own run); None where there is
        none."""
        runs = self.store.runs(seeds={c.seed for c in configs})  # no other can be identical
        if owner is not None:
            runs = runs[runs.status.isin(REUSABLE) | runs.owner.eq(owner)]
        twins = Twins(runs, hasher=data_hash)
        return [twins.find(c, live=live) for c in configs]

    def start_missing(
        self,
        configs: list[RunConfig],
        *,
        owner: str,
        names: list[str] | None = None,
        token: str = "",
    ) -> tuple[list[int], list[int]]:
        """The run id of every config, starting only those with no identical run stored
        or training (all of them, or none: see ``start_many``); and the reused ids."""
        found = self.identical(configs)
        todo = [i for i, run_id in enumerate(found) if run_id is None]
        started = iter(
            self.start_many(
                [configs[i] for i in todo],
                owner=owner,
                names=[names[i] for i in todo] if names else None,
                token=token,
            )
        )
        ids = [run_id if run_id is not None else next(started) for run_id in found]
        return ids, [run_id for run_id in found if run_id is not None]

    def _make_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=forkserver.context(),  # forks with torch imported: milliseconds
            initializer=warm_up_here,
            initargs=(forkserver.here(), self.limits.worker_nice),
        )

    def _dispatch(self) -> None:
        """Hand queued runs to free slots, oldest first (call with the lock held)."""
        if not self._closed.is_set() and not forkserver.closing():
            self._slots.dispatch(self._queue, self._launch, self._refused)

    def _launch(self, slot: Slot, run_id: int) -> None:
        config, pause_timeout = self._configs[run_id], self.limits.pause_timeout
        args = (str(self.path), run_id, config, None, pause_timeout)
        future = self._slots.submit(slot, run_id, execute_run, *args)
        future.add_done_callback(partial(self._finished, slot, run_id))

    def _refused(self, run_id: int, exc: Exception) -> None:
        """No process could be started for the run (memory, process limit)."""
        log.error("run %s: could not start a worker process", run_id, exc_info=exc)
        self._forget(run_id)
        self.store.finish(run_id, Status.FAILED, no_worker(exc), {}, {})

    def _forget(self, run_id: int) -> str | None:
        """Drop what the manager knew of a run that ended; return why it asked it to stop."""
        self._configs.pop(run_id, None)
        self._owners.pop(run_id, None)
        return self._reasons.pop(run_id, None)

    def _finished(self, slot: Slot, run_id: int, future: Future) -> None:
        """Record what the worker could not (its death, a bug) and refill the slot."""
        with self._lock:
            exc = None if future.cancelled() else future.exception()
            self._slots.release(slot, run_id, exc)
            reason = self._forget(run_id)
            try:
                self._record(run_id, future, exc, reason)
                self._dispatch()
            except Exception:  # a store error must not leave the slot dead
                log.exception("could not record the end of run %s", run_id)

    def _record(
        self, run_id: int, future: Future, exc: BaseException | None, reason: str | None
    ) -> None:
        run = self.store.get_run(run_id)
        if future.cancelled():
            status, message = Status.STOPPED, reason or STOPPED_BEFORE
        elif exc is None:
            if reason and run["status"] == Status.STOPPED:
                self.store.set_status(run_id, Status.STOPPED, reason)
            return
        else:  # its death, SIGINT or SIGTERM (the worker recorded those), or a bug
            status, message = failure(exc, DIED_KEPT, INTERRUPTED)
            if not isinstance(exc, BrokenProcessPool | KeyboardInterrupt | SystemExit):
                log.error("run %s: worker raised", run_id, exc_info=exc)
        if run["status"] in LIVE:
            self.store.finish(run_id, status, message, run["summary"], {})

    # -- steering ----------------------------------------------------------------------

    def owns(self, run_id: int, owner: str) -> bool:
        return self.store.get_run(run_id)["owner"] == owner

    def request(self, run_id: int, owner: str, action: str) -> bool:
        """Pause, resume ("") or stop a run: only its owner may."""
        if not self.owns(run_id, owner):
            return False
        self._ask(run_id, action)
        return True

    def _ask(self, run_id: int, action: str, reason: str | None = None) -> None:
        with self._lock:
            if action == "stop" and run_id in self._queue:
                self._queue.remove(run_id)
                self._forget(run_id)
                self.store.finish(run_id, Status.STOPPED, reason or STOPPED_BEFORE, {}, {})
                return
            if reason is not None and run_id in self._owners:  # still training here
                self._reasons[run_id] = reason
        self.store.request(run_id, action, reason or "")

    def queued(self) -> list[int]:
        with self._lock:
            return list(self._queue)

    def ahead_of(self, run_ids: list[int]) -> int | None:
        """How many other queued runs wait before the first of ``run_ids`` (None: none is
        queued): a class's pages said only "Starting" while their runs waited."""
        queue, mine = self.queued(), set(run_ids)
        first = next((k for k, run_id in enumerate(queue) if run_id in mine), None)
        return None if first is None else sum(r not in mine for r in queue[:first])

    def training(self) -> list[int]:
        with self._lock:
            return [s.job for s in self._slots.busy()]

    def worker_pid(self, run_id: int) -> int | None:
        """The process training ``run_id`` (for operators and tests), or None."""
        with self._lock:
            return self._slots.pid(run_id)

    # -- pages that are gone -------------------------------------------------------------

    def seen(self, owner: str) -> None:
        """A page of ``owner`` is open (its keep-alive ticked)."""
        if owner:
            with self._lock:
                self._seen[owner] = time.monotonic()

    def open_pages(self, within: float) -> int:
        """Sessions whose page ran or ticked in the last ``within`` seconds."""
        now = time.monotonic()
        with self._lock:
            return sum(now - t <= within for t in self._seen.values())

    def has_live(self, owner: str) -> bool:
        """Whether ``owner`` has runs queued or training in this server."""
        with self._lock:
            return owner in self._owners.values()

    def check(self) -> None:
        """Stop runs whose page is gone; mark runs orphaned by an earlier server."""
        now = time.monotonic()
        after = self.limits.abandon_after
        with self._lock:
            gone = [
                run_id
                for run_id, owner in self._owners.items()
                if owner
                and now - self._seen.get(owner, now) > after
                and run_id not in self._reasons
            ]
            live = set(self._owners.values())
            for owner in [o for o, t in self._seen.items() if o not in live and now - t > after]:
                del self._seen[owner]  # keep the map as small as the set of open pages
        for run_id in gone:
            log.info("run %s: its page is gone, stopping it", run_id)
            self._ask(run_id, "stop", abandoned_message(after))
        self._mark_orphans()

    def _adopt_leftovers(self) -> set[int]:
        """Runs another process left live. Opening the store already ended those whose
        process on this machine is gone (``RunStore.mark_stale``), so what is left belongs
        to a live process: another dashboard server sharing the store, a CLI batch or
        sweep, or a process on another host. Their queued runs are theirs to start, and
        their running ones are watched until the heartbeat goes stale. Only queued runs
        from before runs recorded their process (no owner to ask) are ended here."""
        runs = self.store.runs()
        unowned = runs.status.eq(Status.QUEUED) & runs.sweep.isna() & runs.process.eq("")
        for run_id in runs.id[unowned]:
            self.store.set_status(int(run_id), Status.INTERRUPTED, ORPHAN_QUEUED)
        return {int(i) for i in runs.id[runs.status.isin((Status.RUNNING, Status.PAUSED))]}

    def _mark_orphans(self) -> None:
        for run_id in list(self._foreign):
            try:
                run = self.store.get_run(run_id)
            except StoreError:  # deleted meanwhile (the CLI can)
                self._foreign.discard(run_id)
                continue
            if run["status"] not in (Status.RUNNING, Status.PAUSED):
                self._foreign.discard(run_id)
            elif time.time() - run["heartbeat"] > self.store.stale_after:
                self.store.set_status(run_id, Status.INTERRUPTED, ORPHAN_RUNNING)
                self._foreign.discard(run_id)

    def _watch(self) -> None:
        while not self._closed.wait(self._watch_every):
            try:
                self.check()
            except Exception:  # the watchdog must outlive a busy or damaged store
                log.exception("watchdog check failed")

    # -- the end -----------------------------------------------------------------------

    def shutdown(self, wait: bool = False) -> None:
        """Stop every run of this manager and its processes (tests, cache release)."""
        self._closed.set()
        with self._lock:
            for run_id in list(self._queue):
                self._ask(run_id, "stop", f"{SHUT_DOWN} before it started")
            for run_id in self.training():
                self._ask(run_id, "stop", f"stopped: {SHUT_DOWN}")
        self._slots.shutdown(wait)  # outside the lock: a run's end callback takes it
        offload.shutdown()
