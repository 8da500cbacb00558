"""What a training worker process runs: one stored run, steered through the store.

The dashboard (and later the sweep runner) creates the run as ``queued`` and hands its
id to a process pool. Requests to pause or stop travel through the run store, so they
work across processes, page reloads and server restarts alike. Functions here must stay
importable by spawned processes: nothing in them touches Streamlit. A run paused longer
than the pause timeout is stopped, so a forgotten pause does not hold a training slot.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import torch

from mtl_core.config import from_dict
from mtl_core.errors import MtlError
from mtl_core.execution.forkserver import exit_on, settle
from mtl_core.execution.messages import INTERRUPTED, STOPPED_BEFORE
from mtl_core.limits import Limits
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.training.control import RunControl
from mtl_core.training.trainer import RunResult, train

POLL_EVERY = 0.2  # seconds between looks at the store for a pause or stop request


def pause_timeout_message(timeout: float) -> str:
    return (
        f"stopped after a pause of more than {timeout:g} s (MTL_PAUSE_TIMEOUT), to free "
        "its training slot; its finished epochs are kept"
    )


class StoreControl(RunControl):
    """A RunControl whose requests live in the run store (polled every 0.2 s at most).

    With ``pause_timeout`` set, a pause longer than that turns into a stop request whose
    reason says so (``timed_out`` is set too), so the run ends with that message.
    """

    def __init__(self, store: RunStore, run_id: int, pause_timeout: float | None = None) -> None:
        super().__init__()
        self.store, self.run_id = store, run_id
        self.pause_timeout = pause_timeout
        self.timed_out = False
        self._request = ""
        self._polled = 0.0

    def _poll(self) -> str:
        now = time.monotonic()
        if now - self._polled >= POLL_EVERY:
            self._request = self.store.pending_request(self.run_id)
            self._polled = now
        return self._request

    def stop(self, reason: str = "") -> None:
        self.store.request(self.run_id, "stop", reason)

    def pause(self) -> None:
        self.store.request(self.run_id, "pause")

    def resume(self) -> None:
        self.store.request(self.run_id, "")

    @property
    def stop_requested(self) -> bool:
        return self._poll() == "stop"

    def stop_message(self, epoch: int) -> str:
        return self.store.stop_reason(self.run_id) or super().stop_message(epoch)

    @property
    def paused(self) -> bool:
        return self._poll() == "pause"

    def wait_while_paused(self, tick, every: float = POLL_EVERY) -> None:
        since = time.monotonic()
        while self.paused:
            if self.pause_timeout is not None and time.monotonic() - since > self.pause_timeout:
                self.timed_out = True
                self.stop(pause_timeout_message(self.pause_timeout))
                self._request = "stop"
                return
            tick()
            time.sleep(every)


def warm_up(dataset: str = "mnist-5k") -> None:
    """Pool initializer: import torch and load the default data before the first job.

    Then SIGTERM (a server shutting down its process group) becomes SystemExit, so a run
    in training records itself as interrupted instead of vanishing mid-epoch.
    """
    from mtl_core.data.splits import load_bundle

    torch.set_num_threads(1)
    with contextlib.suppress(MtlError):  # the job reports data problems itself
        _ = load_bundle(dataset).data_hash
    exit_on(signal.SIGTERM)  # not earlier: a warm-up may die quietly


def warm_up_here(
    where: tuple[str, dict[str, str]], nice: int = 0, dataset: str = "mnist-5k"
) -> None:
    """Pool initializer of a forkserver worker: take the folder and ``MTL_*`` settings of
    the process that asked for it (``forkserver.here()``), ``warm_up``, then lower its
    priority by ``nice`` (the server's ``MTL_WORKER_NICE``: its pages come first while it
    trains). The warm-up keeps the server's priority: a newcomer's first click waits
    for it. A Ctrl-C at the server's terminal ends it as SIGTERM does
    (``forkserver.exit_on``)."""
    settle(where)
    warm_up(dataset)
    exit_on(signal.SIGINT)  # the server's Ctrl-C: no KeyboardInterrupt traceback
    os.nice(nice)


def execute_run(
    store_path: str,
    run_id: int,
    config: dict,
    data_dir: str | None = None,
    pause_timeout: float | None = None,
) -> str:
    """Train a queued run to its end; every outcome is recorded in the store.

    ``pause_timeout`` defaults to MTL_PAUSE_TIMEOUT (see ``mtl_core.limits``).
    """
    return train_stored(store_path, run_id, config, data_dir, pause_timeout).status


def train_stored(
    store_path: str,
    run_id: int,
    config: dict,
    data_dir: str | None = None,
    pause_timeout: float | None = None,
) -> RunResult:
    """``execute_run``, returning the whole result (summary and rows) for batch runners."""
    store = RunStore(Path(store_path))
    try:
        if store.pending_request(run_id) == "stop":
            message = store.stop_reason(run_id) or STOPPED_BEFORE
            store.finish(run_id, Status.STOPPED, message, {}, {})
            return RunResult(run_id, Status.STOPPED, message, {})
        if pause_timeout is None:
            pause_timeout = Limits.from_env().pause_timeout
        if not store.claim(run_id):  # no longer queued: it is not this worker's to train
            run = store.get_run(run_id)
            return RunResult(run_id, run["status"], run["message"], {})
        control = StoreControl(store, run_id, pause_timeout)
        result = train(
            from_dict(config), store=store, run_id=run_id, control=control, data_dir=data_dir
        )
        return result
    except (KeyboardInterrupt, SystemExit):  # Ctrl-C or SIGTERM to the server's group
        with contextlib.suppress(Exception):
            store.finish(run_id, Status.INTERRUPTED, INTERRUPTED, {}, {})
        raise
    except MtlError as exc:
        store.finish(run_id, Status.FAILED, str(exc), {}, {})
        return RunResult(run_id, Status.FAILED, str(exc), {})
    except Exception as exc:
        message = f"internal error: {exc!r}"
        store.finish(run_id, Status.FAILED, message, {}, {})
        return RunResult(run_id, Status.FAILED, message, {})
    finally:
        store.close()
