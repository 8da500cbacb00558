"""Train runs as Ray tasks, on this machine or a cluster, streaming epochs into the run store.

Why Ray: a sweep of hundreds of runs outgrows one machine's process pool. Each run is one
Ray task (``num_cpus`` = its torch threads; ``max_retries=0``, so a crashed worker is
recorded as a failure instead of being silently re-run). Only the config dict travels to
the task (``ray_task.py``): it trains with the same ``train`` as the local backend, into
a ``RelaySink`` whose every write becomes a message of a streaming generator. The driver
here replays those writes on the real SQLite store, so a Ray run stores exactly the rows
a local run stores, and the dashboard shows it live like any other run.

Stopping: a ``stop`` request in the store (the dashboard's Stop) or Ctrl-C cancels the
task, which kills its worker process (a running Ray task cannot be asked politely), and
the run ends ``stopped`` with its finished epochs but no summary; queued runs never start.
Pause requests are not honoured on Ray. The queue, the results and the progress reports are
the scheduler core's (``scheduler.py``), as for the local batch; the slots here are Ray's.

Without an address a local instance is started: every port bound to loopback (see
``ray_session.py``), no Ray dashboard, and Ray's default token authentication left on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError, StoreError
from mtl_core.execution.forkserver import ignoring_sigint as _ignoring_sigint
from mtl_core.execution.messages import (
    DELETED,
    INTERNAL,
    NO_RESULT,
    NOT_STARTED,
    RAY_FAILED,
    STOPPED_BEFORE,
)
from mtl_core.execution.messages import RAY_DIED as DIED
from mtl_core.execution.messages import RAY_INTERRUPTED as INTERRUPTED
from mtl_core.execution.messages import RAY_STOPPED as STOPPED
from mtl_core.execution.ray_session import (
    CONNECT_WAIT,
    _check_reachable,
    _env,
    _is_loopback,
    _loopback_only,
    _token_auth_for_drivers,
)
from mtl_core.execution.ray_task import _remote
from mtl_core.execution.scheduler import Batch, Progress, on_sigint, status_of
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.schema import Status
from mtl_core.training.results import RunResult
from mtl_core.training.sink import WRITES

MAX_RAY_WORKERS = 4096
POLL_EVERY = 0.5  # seconds between looks at the store for stop requests


# -- the driver -------------------------------------------------------------------------


@dataclass
class _Task:
    index: int
    run_id: int
    worker: dict = field(default_factory=dict)  # set by the task's hello
    epoch: int = -1  # last epoch written


class _Driver(Batch):
    """Keeps ``slots`` tasks in flight and writes what they stream into the store: the
    scheduler core (``scheduler.py``) driven by the tasks' messages."""

    def __init__(
        self,
        configs: list[RunConfig],
        run_ids: list[int],
        store: RunStore,
        slots: int,
        data_dir: str | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        super().__init__(run_ids, store, progress)
        self.configs, self.slots, self.data_dir = configs, slots, data_dir
        self.running: dict[Any, _Task] = {}  # ObjectRefGenerator -> task
        self.polled = 0.0
        self.interrupted = False  # set by Ctrl-C, acted on between two messages

    def in_flight(self) -> int:
        return sum(bool(t.worker) for t in self.running.values())  # started, not queued in Ray

    def _status(self, run_id: int) -> str | None:
        return status_of(self.store, run_id)

    def _dispatch(self) -> None:
        while self.queue and len(self.running) < self.slots:
            index = self.queue.popleft()
            run_id, config = self.run_ids[index], self.configs[index]
            if self._status(run_id) not in LIVE or self.store.pending_request(run_id) == "stop":
                self.record(index, Status.STOPPED, STOPPED_BEFORE)
                continue
            task = _remote().options(num_cpus=config.threads)
            self.running[task.remote(config.to_dict(), run_id, self.data_dir)] = _Task(
                index, run_id
            )
        self.report()

    def _receive(self, generator: Any) -> None:
        import ray

        task = self.running[generator]
        try:
            message = ray.get(next(generator))
        except StopIteration:
            del self.running[generator]
            self.record(task.index, Status.FAILED, NO_RESULT)
            return
        except ray.exceptions.RayTaskError as exc:  # raised in the task, outside train
            del self.running[generator]
            cause = getattr(exc, "cause", None)
            self.record(task.index, Status.FAILED, INTERNAL.format(repr(cause or exc))[:300])
            return
        except ray.exceptions.RayError as exc:  # its worker or node died
            del self.running[generator]
            died = DIED.format(epoch=task.epoch + 1)
            self.record(task.index, Status.FAILED, f"{died} [{type(exc).__name__}]")
            return
        kind = message[0]
        if kind == "hello":
            task.worker = message[1]
            self.store.set_status(task.run_id, Status.RUNNING)
            self.report()
        elif kind == "store" and message[1] in WRITES:
            _, name, args, kwargs = message
            if name == "set_provenance":  # where the run trained, for a cluster's logs
                args = ({**args[0], **task.worker}, *args[1:])
            try:
                getattr(self.store, name)(task.run_id, *args, **kwargs)
            except StoreError:
                if self._status(task.run_id) is not None:
                    raise
                ray.cancel(generator, force=True)  # deleted from the dashboard meanwhile
                del self.running[generator]
                self.record(task.index, Status.STOPPED, DELETED, write=False)
                return
            if name == "append_epoch":
                task.epoch = args[0]
        elif kind == "result":
            del self.running[generator]
            self.record(task.index, message[1], message[2], message[3], write=False)

    def _honour_stops(self) -> None:
        import ray

        if time.monotonic() - self.polled < POLL_EVERY:
            return
        self.polled = time.monotonic()
        for generator, task in list(self.running.items()):
            if self.store.pending_request(task.run_id) == "stop":
                ray.cancel(generator, force=True)
                del self.running[generator]
                self.record(task.index, Status.STOPPED, STOPPED.format(epoch=task.epoch + 1))

    def run(self) -> list[RunResult]:
        import ray

        self._dispatch()
        while self.running:
            if self.interrupted:
                raise KeyboardInterrupt
            ready, _ = ray.wait(list(self.running), num_returns=1, timeout=POLL_EVERY)
            if ready:  # and every other one with a message waiting
                ready, _ = ray.wait(list(self.running), num_returns=len(self.running), timeout=0)
            for generator in ready:
                self._receive(generator)
            self._honour_stops()
            self._dispatch()
        return self.finished()

    def stop(self, message: str) -> None:
        """Cancel every task (its run ends ``stopped``); queued runs never start."""
        import ray

        for generator, task in list(self.running.items()):
            ray.cancel(generator, force=True)
            del self.running[generator]
            self.record(task.index, Status.STOPPED, message.replace("{epoch}", str(task.epoch + 1)))
        self.drop_queued(NOT_STARTED)


# -- the session ------------------------------------------------------------------------


RAY_MISSING = (
    'Ray is not installed here: pip install ".[ray]" (or pip install -r requirements.txt), '
    "or use --backend local"
)


def require_ray() -> None:
    """Refuse in one line when Ray is missing: ``pip install .`` leaves it out (an extra)."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError("backend", RAY_MISSING) from None


def check_ray_workers(workers: int | None) -> int | None:
    if workers is not None and (
        isinstance(workers, bool)
        or not isinstance(workers, int)
        or not 1 <= workers <= MAX_RAY_WORKERS
    ):
        raise ConfigError(
            "workers", f"must be a whole number from 1 to {MAX_RAY_WORKERS}, got {workers!r}"
        )
    return workers


class RayBackend:
    """Connect to a Ray cluster (``address``) or start a local instance, as a context.

    ``workers`` caps the runs in flight (default: the cluster's CPUs); a local instance
    gets that many CPUs (default 2). A Ray already initialised in this process (a test's
    fixture) is used as it is and left running.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        require_ray()
        self.address, self.workers = address, check_ray_workers(workers)
        self.owned = False
        self.slots = 0
        self.startup = 0.0  # seconds spent in ray.init

    def __enter__(self) -> RayBackend:
        import ray

        tic = time.perf_counter()
        if not ray.is_initialized():
            self._init(ray)
            self.owned = True
        self.startup = time.perf_counter() - tic
        cpus = int(ray.cluster_resources().get("CPU", 0))
        self.slots = self.workers or max(1, cpus)
        return self

    def _init(self, ray: Any) -> None:
        common = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        # Ray announces its default token authentication as a warning; it stays on.
        quiet = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            if self.address:  # ship this mtl_core to the cluster's workers: no checkout there
                import mtl_core

                _check_reachable(self.address)
                _token_auth_for_drivers()
                local = _is_loopback(self.address)
                with _loopback_only() if local else contextlib.nullcontext(), _env(CONNECT_WAIT):
                    ray.init(address=self.address, runtime_env={"py_modules": [mtl_core]}, **common)
            else:
                path = os.pathsep.join(
                    p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH")) if p
                )
                with _loopback_only():
                    ray.init(
                        address="local",
                        num_cpus=self.workers or 2,
                        runtime_env={"env_vars": {"PYTHONPATH": path}},
                        **common,
                    )
        except (ConnectionError, ray.exceptions.RayError, RuntimeError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise ConfigError(
                "address" if self.address else "backend", f"cannot start or reach {where}: {first}"
            ) from None
        finally:
            quiet.setLevel(level)

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            import ray

            ray.shutdown()

    def describe(self) -> str:
        import ray
        from ray._raylet import AuthenticationMode, get_authentication_mode

        auth = "on" if get_authentication_mode() == AuthenticationMode.TOKEN else "OFF"
        where = f"Ray cluster at {self.address}" if self.address else "local Ray instance"
        cpus = int(ray.cluster_resources().get("CPU", 0))
        return f"{where} ({cpus} CPUs, token authentication {auth}), {self.slots} runs at once"

    def run(
        self,
        configs: Sequence[RunConfig],
        run_ids: Sequence[int],
        store_path: str | Path,
        progress: Callable[[Progress], None] | None = None,
        data_dir: str | None = None,
    ) -> list[RunResult]:
        """Train queued runs (already in the store) as Ray tasks; results in input order."""
        with RunStore(store_path) as store:
            driver = _Driver(list(configs), list(run_ids), store, self.slots, data_dir, progress)
            try:
                # Ctrl-C only flags the driver, which stops between two messages: never
                # halfway through replaying a write (a store transaction) the stop must follow.
                with on_sigint(lambda: setattr(driver, "interrupted", True)):
                    return driver.run()
            except KeyboardInterrupt:
                with _ignoring_sigint():
                    driver.stop(INTERRUPTED)
                raise
            except BaseException as exc:
                with _ignoring_sigint(), contextlib.suppress(Exception):
                    driver.stop(RAY_FAILED.format(exc)[:300])
                raise
