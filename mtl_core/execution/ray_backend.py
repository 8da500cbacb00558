"""Train runs as Ray tasks, on this machine or a cluster, streaming epochs into the run store.

Why Ray: a sweep of hundreds of runs outgrows one machine's process pool. Each run is one
Ray task (``num_cpus`` = its torch threads; ``max_retries=0``, so a crashed worker is
recorded as a failure instead of being silently re-run). Only the config dict travels to
the task: it loads its dataset itself and trains with the same ``train`` as the local
backend, handed a stand-in store (``_Relay``) that turns each of the trainer's writes into
a message of a streaming generator. The driver replays those writes on the real SQLite
store, so a Ray run stores exactly the rows a local run stores, and the dashboard shows it
live like any other run. (``train`` reports through calls, and a generator cannot yield
from inside a call, so the task trains in a thread and forwards the messages.)

Stopping: a ``stop`` request in the store (the dashboard's Stop) or Ctrl-C cancels the
task, which kills its worker process (a running Ray task cannot be asked politely), and
the run ends ``stopped`` with its finished epochs but no summary; queued runs never start.
Pause requests are not honoured on Ray.

Without an address a local instance is started: every port bound to loopback (see
``_loopback_only``), no Ray dashboard, and Ray's default token authentication left on.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import platform
import queue
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_core.config import RunConfig, from_dict
from mtl_core.errors import ConfigError, MtlError, StoreError
from mtl_core.execution.forkserver import ignoring_sigint as _ignoring_sigint
from mtl_core.execution.parallel import NOT_STARTED, Progress
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.training.trainer import RunResult

MAX_RAY_WORKERS = 4096
POLL_EVERY = 0.5  # seconds between looks at the store for stop requests
CONNECT_WAIT = {"RAY_gcs_server_port_wait_time_s": "1"}  # one try (~35 s) at an address
# the store methods train() calls
WRITES = frozenset(
    {"append_epoch", "set_provenance", "put_array", "heartbeat", "set_status", "finish"}
)
DIED = "the Ray worker died during epoch {epoch} (killed, out of memory, or its node was lost)"
STOPPED = "stopped by request during epoch {epoch}; its finished epochs are kept"
INTERRUPTED = "stopped during epoch {epoch}: the sweep was interrupted (Ctrl-C)"


# -- in the Ray worker ------------------------------------------------------------------


class _Relay:
    """Stands in for the RunStore inside a task: each write becomes a message."""

    def __init__(self, out: queue.Queue) -> None:
        self.out = out
        self.finished = False

    def __getattr__(self, name: str) -> Callable[..., None]:
        if name not in WRITES:
            raise AttributeError(f"a Ray task's store only writes; {name} is not relayed")

        def write(run_id: int, *args: Any, **kwargs: Any) -> None:
            self.finished = self.finished or name == "finish"
            self.out.put(("store", name, args, kwargs))

        return write


def _train_into(config: dict, run_id: int, data_dir: str | None, out: queue.Queue) -> None:
    """Train one run, its every outcome recorded through the relay (as ``train_stored``)."""
    from mtl_core.training.trainer import train

    relay = _Relay(out)
    try:
        result = train(from_dict(config), store=relay, run_id=run_id, data_dir=data_dir)
        out.put(("result", result.status, result.message, result.summary))
    except MtlError as exc:  # config or data problems, raised before training starts
        relay.finish(run_id, "failed", str(exc), {}, {})
        out.put(("result", "failed", str(exc), {}))
    except BaseException as exc:  # a bug: train has recorded it if its loop had started
        message = f"internal error: {exc!r}"
        if not relay.finished:
            relay.finish(run_id, "failed", message, {}, {})
        out.put(("result", "failed", message, {}))


def train_task(config: dict, run_id: int, data_dir: str | None) -> Iterator[tuple]:
    """The Ray task: say where it runs, then yield the trainer's writes as they happen."""
    import torch

    torch.set_num_threads(int(config.get("threads", 1)))  # Ray sets OMP_NUM_THREADS itself
    yield ("hello", {"worker_host": platform.node(), "worker_pid": os.getpid()})
    out: queue.Queue = queue.Queue()
    thread = threading.Thread(
        target=_train_into, args=(config, run_id, data_dir, out), name="train", daemon=True
    )
    thread.start()
    while True:
        message = out.get()
        yield message
        if message[0] == "result":
            break
    thread.join()


_REMOTE = None


def _remote():
    """``train_task`` as a Ray remote function, made on first use: importing this module
    does not import Ray."""
    global _REMOTE
    if _REMOTE is None:
        import ray

        _REMOTE = ray.remote(num_cpus=1, max_retries=0, num_returns="streaming")(train_task)
    return _REMOTE


# -- the driver -------------------------------------------------------------------------


@dataclass
class _Task:
    index: int
    run_id: int
    worker: dict = field(default_factory=dict)  # set by the task's hello
    epoch: int = -1  # last epoch written


class _Driver:
    """Keeps ``slots`` tasks in flight and writes what they stream into the store."""

    def __init__(
        self,
        configs: list[RunConfig],
        run_ids: list[int],
        store: RunStore,
        slots: int,
        data_dir: str | None,
        progress: Callable[[Progress], None] | None,
    ) -> None:
        self.configs, self.run_ids, self.store = configs, run_ids, store
        self.slots, self.data_dir, self.progress = slots, data_dir, progress
        self.queue = deque(range(len(configs)))
        self.running: dict[Any, _Task] = {}  # ObjectRefGenerator -> task
        self.results: list[RunResult | None] = [None] * len(configs)
        self.polled = 0.0
        self.interrupted = False  # set by Ctrl-C, acted on between two messages

    def _report(self, ended: int | None = None) -> None:
        if self.progress is None:
            return
        done = [r for r in self.results if r is not None]
        failed = sum(r.status in ("failed", "interrupted") for r in done)
        started = sum(bool(t.worker) for t in self.running.values())
        result = self.results[ended] if ended is not None else None
        self.progress(Progress(len(self.results), len(done), started, failed, ended, result))

    def _status(self, run_id: int) -> str | None:
        """The run's status in the store; None once it was deleted (from the dashboard)."""
        try:
            return self.store.get_run(run_id)["status"]
        except StoreError:
            return None

    def _end(
        self,
        index: int,
        status: str,
        message: str,
        summary: dict | None = None,
        record: bool = True,
    ) -> None:
        run_id = self.run_ids[index]
        if record and self._status(run_id) in LIVE:
            self.store.finish(run_id, status, message, {}, {})
        self.results[index] = RunResult(run_id, status, message, summary or {})
        self._report(index)

    def _dispatch(self) -> None:
        while self.queue and len(self.running) < self.slots:
            index = self.queue.popleft()
            run_id, config = self.run_ids[index], self.configs[index]
            if self._status(run_id) not in LIVE or self.store.pending_request(run_id) == "stop":
                self._end(index, "stopped", "stopped before it started")
                continue
            task = _remote().options(num_cpus=config.threads)
            self.running[task.remote(config.to_dict(), run_id, self.data_dir)] = _Task(
                index, run_id
            )
        self._report()

    def _receive(self, generator: Any) -> None:
        import ray

        task = self.running[generator]
        try:
            message = ray.get(next(generator))
        except StopIteration:
            del self.running[generator]
            self._end(task.index, "failed", "internal error: the task ended without a result")
            return
        except ray.exceptions.RayTaskError as exc:  # raised in the task, outside train
            del self.running[generator]
            cause = getattr(exc, "cause", None)
            self._end(task.index, "failed", f"internal error: {cause or exc!r}"[:300])
            return
        except ray.exceptions.RayError as exc:  # its worker or node died
            del self.running[generator]
            died = DIED.format(epoch=task.epoch + 1)
            self._end(task.index, "failed", f"{died} [{type(exc).__name__}]")
            return
        kind = message[0]
        if kind == "hello":
            task.worker = message[1]
            self.store.set_status(task.run_id, "running")
            self._report()
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
                self._end(task.index, "stopped", "deleted while it trained", record=False)
                return
            if name == "append_epoch":
                task.epoch = args[0]
        elif kind == "result":
            del self.running[generator]
            self._end(task.index, message[1], message[2], message[3], record=False)

    def _honour_stops(self) -> None:
        import ray

        if time.monotonic() - self.polled < POLL_EVERY:
            return
        self.polled = time.monotonic()
        for generator, task in list(self.running.items()):
            if self.store.pending_request(task.run_id) == "stop":
                ray.cancel(generator, force=True)
                del self.running[generator]
                self._end(task.index, "stopped", STOPPED.format(epoch=task.epoch + 1))

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
        return [r for r in self.results if r is not None]

    def stop(self, message: str) -> None:
        """Cancel every task (its run ends ``stopped``); queued runs never start."""
        import ray

        for generator, task in list(self.running.items()):
            ray.cancel(generator, force=True)
            del self.running[generator]
            self._end(task.index, "stopped", message.replace("{epoch}", str(task.epoch + 1)))
        while self.queue:
            self._end(self.queue.popleft(), "stopped", NOT_STARTED)


@contextlib.contextmanager
def _sigint_flag(driver: _Driver) -> Iterator[None]:
    """Ctrl-C only flags the driver, which stops between two messages: never halfway
    through replaying a write (a store transaction) that the stop must follow."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: setattr(driver, "interrupted", True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


# -- the session ------------------------------------------------------------------------


@contextlib.contextmanager
def _loopback_only() -> Iterator[None]:
    """Make a new local Ray instance bind loopback only.

    Ray 2.60 binds its servers to the node's IP, which it takes to be the address of the
    default route even when told 127.0.0.1 (``ray.init(_node_ip_address=...)`` replaces a
    loopback address with that one). With ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` its
    ``get_node_ip_address`` returns loopback instead, as it does on macOS and Windows. The
    variable is read when Ray is imported, so its constant is set too. Checked with
    ``ss -ltnp`` in tests/test_ray_backend.py.
    """
    from ray._private import ray_constants

    name = ray_constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    saved = os.environ.get(name), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[name], ray_constants.ENABLE_RAY_CLUSTER = "0", False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]
        if saved[0] is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved[0]


@contextlib.contextmanager
def _env(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the user has not set, for the duration of a block."""
    added = [k for k in values if k not in os.environ]
    os.environ.update({k: values[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _check_reachable(address: str) -> None:
    """Fail in seconds, not in Ray's half a minute of retries, when nothing listens there."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return  # not host:port: let Ray make sense of it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            "address",
            f"cannot reach {address} ({exc.strerror or exc}); is "
            "`ray start --head` running there, with this port open "
            "to this machine?",
        ) from None


def _token_auth_for_drivers() -> None:
    """Send the token when connecting to an address, as a local start does by default.

    Ray enables token authentication on its own only for clusters it starts or finds
    locally; a driver given an address must opt in with ``RAY_AUTH_MODE=token`` before
    Ray reads its config. Set that unless the user chose a mode; Ray's own helper also
    makes the already-loaded config see it.
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    from ray._private.authentication import authentication_token_setup as setup

    setup._enable_token_auth()


def _is_loopback(address: str) -> bool:
    """A head on this machine bound to loopback (Ray would otherwise swap 127.0.0.1 for the
    machine's address when connecting, and find nothing there)."""
    host = address.rpartition(":")[0].strip("[]") or address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
                with _sigint_flag(driver):
                    return driver.run()
            except KeyboardInterrupt:
                with _ignoring_sigint():
                    driver.stop(INTERRUPTED)
                raise
            except BaseException as exc:
                with _ignoring_sigint(), contextlib.suppress(Exception):
                    driver.stop(f"stopped during epoch {{epoch}}: the sweep failed: {exc!r}"[:300])
                raise
