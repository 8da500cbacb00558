"""Stop and pause a run from another thread (or, with shared events, another process)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol


class EventLike(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...


class RunControl:
    """The trainer checks it between batches, so a request is honoured within one batch.

    Pass ``multiprocessing`` (manager) events to steer a run in a worker process.
    """

    def __init__(self, stop: EventLike | None = None, pause: EventLike | None = None) -> None:
        self._stop = stop or threading.Event()
        self._pause = pause or threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop_message(self, epoch: int) -> str:
        """The message a run stopped on request ends with (a control that knows why the
        stop was asked for says so)."""
        return f"stopped by request during epoch {epoch}"

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

    def wait_while_paused(self, tick: Callable[[], None], every: float = 0.5) -> None:
        """Block while paused (calling ``tick`` to keep a heartbeat) until resumed or stopped."""
        while self._pause.is_set() and not self._stop.is_set():
            tick()
            self._stop.wait(every)
