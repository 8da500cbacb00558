"""Inside a Ray worker: the task that trains one run and streams its writes to the driver.

Only the config dict travels to the task: it loads its dataset itself and trains with the
same ``train`` as the local backend, handed a ``RelaySink`` that turns each of the
trainer's ``RunSink`` calls into a message of a streaming generator; the driver
(``ray_backend.py``) replays them on the real store. ``train`` reports through calls, and
a generator cannot yield from inside a call, so the task trains in a thread and forwards
the messages. Apart from the driver because this side runs on another machine and needs
neither the store nor the driver's bookkeeping.
"""

from __future__ import annotations

import os
import platform
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

from mtl_core.config import from_dict
from mtl_core.errors import MtlError
from mtl_core.store.schema import Row, Status


class RelaySink:
    """The ``RunSink`` of a Ray task: each write becomes a ``("store", name, args, kwargs)``
    message (the run id left out: the driver knows it), which the driver replays."""

    def __init__(self, out: queue.Queue) -> None:
        self.out = out
        self.finished = False

    def _send(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.out.put(("store", name, args, kwargs))

    def create_run(self, config: dict[str, Any], *, name: str = "", owner: str = "") -> int:
        raise RuntimeError("a Ray task trains a run the driver created: pass its run_id")

    def append_epoch(self, run_id: int, epoch: int, rows: Iterable[Row]) -> None:
        self._send("append_epoch", epoch, list(rows))

    def heartbeat(self, run_id: int) -> None:
        self._send("heartbeat")

    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        self._send("set_status", status, message)

    def set_provenance(self, run_id: int, provenance: dict[str, Any]) -> None:
        self._send("set_provenance", provenance)

    def put_array(self, run_id: int, name: str, array: Any, meta: dict | None = None) -> None:
        self._send("put_array", name, array, meta)

    def finish(
        self,
        run_id: int,
        status: str,
        message: str,
        summary: dict[str, Any],
        test_rows: dict[int, list[Row]],
    ) -> None:
        self.finished = True
        self._send("finish", status, message, summary, test_rows)


def _train_into(config: dict, run_id: int, data_dir: str | None, out: queue.Queue) -> None:
    """Train one run, its every outcome recorded through the relay (as ``train_stored``)."""
    from mtl_core.training.trainer import train

    relay = RelaySink(out)
    try:
        result = train(from_dict(config), store=relay, run_id=run_id, data_dir=data_dir)
        out.put(("result", result.status, result.message, result.summary))
    except MtlError as exc:  # config or data problems, raised before training starts
        relay.finish(run_id, Status.FAILED, str(exc), {}, {})
        out.put(("result", Status.FAILED, str(exc), {}))
    except BaseException as exc:  # a bug: train has recorded it if its loop had started
        message = f"internal error: {exc!r}"
        if not relay.finished:
            relay.finish(run_id, Status.FAILED, message, {}, {})
        out.put(("result", Status.FAILED, message, {}))


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
