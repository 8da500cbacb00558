"""What a training worker process runs: one stored run, steered through the store.

The dashboard (and later the sweep runner) creates the run as ``queued`` and hands its
id to a process pool. Requests to pause or stop travel through the run store, so they
work across processes, page reloads and server restarts alike. Functions here must stay
importable by spawned processes: nothing in them touches Streamlit.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import torch

from .config import from_dict
from .control import RunControl
from .errors import MtlError
from .store import RunStore
from .trainer import train

POLL_EVERY = 0.2  # seconds between looks at the store for a pause or stop request


class StoreControl(RunControl):
    """A RunControl whose requests live in the run store (polled every 0.2 s at most)."""

    def __init__(self, store: RunStore, run_id: int) -> None:
        super().__init__()
        self.store, self.run_id = store, run_id
        self._request = ""
        self._polled = 0.0

    def _poll(self) -> str:
        now = time.monotonic()
        if now - self._polled >= POLL_EVERY:
            self._request = self.store.pending_request(self.run_id)
            self._polled = now
        return self._request

    def stop(self) -> None:
        self.store.request(self.run_id, "stop")

    def pause(self) -> None:
        self.store.request(self.run_id, "pause")

    def resume(self) -> None:
        self.store.request(self.run_id, "")

    @property
    def stop_requested(self) -> bool:
        return self._poll() == "stop"

    @property
    def paused(self) -> bool:
        return self._poll() == "pause"

    def wait_while_paused(self, tick, every: float = POLL_EVERY) -> None:
        while self.paused:
            tick()
            time.sleep(every)


def warm_up(dataset: str = "mnist-5k") -> None:
    """Pool initializer: import torch and load the default data before the first job."""
    from .data import load_bundle

    torch.set_num_threads(1)
    with contextlib.suppress(MtlError):  # the job reports data problems itself
        load_bundle(dataset)


def execute_run(store_path: str, run_id: int, config: dict, data_dir: str | None = None) -> str:
    """Train a queued run to its end; every outcome is recorded in the store."""
    store = RunStore(Path(store_path))
    try:
        if store.pending_request(run_id) == "stop":
            store.finish(run_id, "stopped", "stopped before it started", {}, {})
            return "stopped"
        store.set_status(run_id, "running")
        result = train(from_dict(config), store=store, run_id=run_id,
                       control=StoreControl(store, run_id), data_dir=data_dir)  # fmt: skip
        return result.status
    except MtlError as exc:
        store.finish(run_id, "failed", str(exc), {}, {})
        return "failed"
    except Exception as exc:
        store.finish(run_id, "failed", f"internal error: {exc!r}", {}, {})
        return "failed"
    finally:
        store.close()
