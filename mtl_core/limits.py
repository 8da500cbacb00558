"""Limits a server operator sets with environment variables, read here and nowhere else.

One shared server (a classroom) must not be run into the ground by one browser tab, and a
closed tab or a forgotten pause must not hold a training slot forever. Unset or empty
variables take the default.

``MTL_MAX_RUNS`` (default 2)
    Runs training at once: the number of worker processes. Further runs wait as
    ``queued`` until a slot is free. One per core is a good value.
``MTL_MAX_EPOCHS`` (default: no limit beyond the config's own 10,000)
    Largest ``epochs`` a run started from the dashboard may ask for.
``MTL_MAX_TRAIN_SIZE`` (default: no limit beyond the dataset's training split)
    Largest ``train_size`` (and label budget, ``task_sizes``) a dashboard run may use.
``MTL_MAX_RUNS_PER_SESSION`` (default: no limit)
    Stored runs one browser session may own; deleting runs in History makes room.
``MTL_PAUSE_TIMEOUT`` (seconds, default 600)
    A run paused longer than this is stopped, freeing its training slot.
``MTL_ABANDON_AFTER`` (seconds, default 600)
    A run whose page has not been seen for this long (the tab was closed) is stopped.
    Browsers slow a hidden tab's timers to about once a minute, so keep it well above 60.
``MTL_POLL_SECONDS`` (seconds, default 1)
    How often a live chart asks for its run's new epochs (a small read:
    mtl_core/dashboard/feed.py), and how often a page watching a live run redraws the
    rest of its panel, with few pages open. A panel redraw costs the server about 0.1 s of
    CPU and a browser about 0.2 s (bench/bench_class.py, bench/bench_live_page.py), so with
    more pages watching its interval grows (``poll_every``): about one per page every
    ``open pages / 5`` seconds, keeping the server's redraws under half a core. The Live
    view's panel redraws every ``PANEL_EVERY``-th interval (``live_panel_every``): its
    chart asks every ``MTL_POLL_SECONDS`` and moves the progress line and the cards on
    with it, and a change of the run's status redraws the panel at once.
``MTL_WORKER_NICE`` (0-19, default 10)
    Niceness the training workers add to their own (``nice``): training is batch work, and
    the server's answers and, on a machine that also runs browsers, the pages' drawing
    come first; a worker still takes every cycle nothing else wants, but on a machine
    another job keeps busy it gets about a tenth of a core: 0 trains at the server's
    priority (bench/bench_class.py prints each worker's niceness).
``MTL_STALE_AFTER`` (seconds, default 60)
    A run that says ``running`` without a heartbeat for this long is marked
    ``interrupted`` by the dashboard (its process died). Keep it above 5 s, the
    trainer's heartbeat interval.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from mtl_core.config import RunConfig
from mtl_core.errors import MtlError

T = TypeVar("T")


class LimitError(MtlError):
    """A run is refused by a server limit, or a limit variable is malformed."""


UPDATE_COST = 0.1  # s of server CPU per live-page update (measured: bench/bench_class.py)
UPDATE_BUDGET = 0.5  # of one core, for live updates: the rest serves clicks and page loads
# Live panels redraw every 10th interval: what changes while a run trains (chart, progress
# line, cards) is fed by the chart, and a status change redraws the panel at once; this
# slow redraw only catches a status change whose trigger was lost.
PANEL_EVERY = 10


@dataclass(frozen=True)
class Limits:
    """The operator's limits; ``None`` means no limit of the server's own."""

    max_runs: int = 2
    max_epochs: int | None = None
    max_train_size: int | None = None
    max_runs_per_session: int | None = None
    pause_timeout: float = 600.0
    abandon_after: float = 600.0
    stale_after: float = 60.0
    poll_seconds: float = 1.0
    worker_nice: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        env = os.environ if environ is None else environ
        d = cls()
        return cls(
            max_runs=_count(env, "MTL_MAX_RUNS", d.max_runs),
            max_epochs=_count(env, "MTL_MAX_EPOCHS", d.max_epochs),
            max_train_size=_count(env, "MTL_MAX_TRAIN_SIZE", d.max_train_size),
            max_runs_per_session=_count(env, "MTL_MAX_RUNS_PER_SESSION", d.max_runs_per_session),
            pause_timeout=_seconds(env, "MTL_PAUSE_TIMEOUT", d.pause_timeout),
            abandon_after=_seconds(env, "MTL_ABANDON_AFTER", d.abandon_after),
            stale_after=_seconds(env, "MTL_STALE_AFTER", d.stale_after),
            poll_seconds=_seconds(env, "MTL_POLL_SECONDS", d.poll_seconds),
            worker_nice=_niceness(env, "MTL_WORKER_NICE", d.worker_nice),
        )

    def poll_every(self, open_pages: int) -> float:
        """Seconds between a live page's updates with ``open_pages`` pages watching: the
        operator's interval, stretched so that updates (about 0.1 s of server CPU each)
        take at most half of the server's core."""
        return max(self.poll_seconds, UPDATE_COST * open_pages / UPDATE_BUDGET)

    def live_panel_every(self, open_pages: int) -> float:
        """Seconds between redraws of the Live view's panel (buttons, message): every
        ``PANEL_EVERY``-th of the updates (``poll_every``). Its chart, the progress line
        and the cards move on every ``poll_seconds`` with the chart's feed, and the chart
        redraws the panel at once when the run's status changes, so the slow pace delays
        nothing a user sees; each redraw spared saves a browser about 0.2 s."""
        return self.poll_every(open_pages) * PANEL_EVERY

    def refusal(self, config: RunConfig) -> str | None:
        """One line naming the first field over a limit (and the limit), or None."""
        if self.max_epochs is not None and config.epochs > self.max_epochs:
            return _over("epochs", config.epochs, self.max_epochs, "MTL_MAX_EPOCHS")
        if self.max_train_size is not None:
            sizes = {"train_size": config.train_size}
            sizes.update({f"task_sizes.{t}": n for t, n in sorted(config.task_sizes.items())})
            for field, size in sizes.items():
                if size > self.max_train_size:
                    return _over(field, size, self.max_train_size, "MTL_MAX_TRAIN_SIZE")
        return None

    def session_full(self, stored: int) -> str | None:
        """Why a session holding ``stored`` runs may not start another, or None."""
        cap = self.max_runs_per_session
        if cap is None or stored < cap:
            return None
        return (
            f"this session has {stored} stored runs, the most this server allows "
            f"(MTL_MAX_RUNS_PER_SESSION={cap}): delete some in History to train more"
        )


def stale_after_from_env() -> float:
    """``MTL_STALE_AFTER`` alone: every store opener (CLI, workers, dashboard) honours it."""
    return _seconds(os.environ, "MTL_STALE_AFTER", Limits.stale_after)


def _over(field: str, value: int, limit: int, var: str) -> str:
    return f"{field}: {value} is over this server's limit of {limit} ({var})"


def _raw(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _read(
    env: Mapping[str, str],
    name: str,
    default: T,
    convert: Callable[[str], T],
    valid: Callable[[T], bool],
    expected: str,
) -> T:
    """``name``'s value through ``convert``, or ``default`` when unset; a value that does
    not convert or is not ``valid`` is refused in one line saying what was ``expected``."""
    raw = _raw(env, name)
    if raw is None:
        return default
    try:
        value = convert(raw)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise LimitError(f"{name} must be {expected}, not {raw[:40]!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    return _read(env, name, default, int, lambda v: v >= 1, "a whole number of at least 1")


def _niceness(env: Mapping[str, str], name: str, default: int) -> int:
    return _read(env, name, default, int, lambda v: 0 <= v <= 19, "a whole number from 0 to 19")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    return _read(
        env, name, default, float, lambda v: 0 < v < math.inf, "a number of seconds above 0"
    )
