"""The live chart's feed: the epochs a page has not drawn yet, read straight from the store.

Why: a live page used to redraw its whole panel (heading, progress, buttons, summary cards
and the chart, rebuilt from the run's whole history) as a Streamlit fragment every second.
Measured in headless Chromium on a 2-core machine (bench/bench_class.py), each such redraw
cost the browser about 0.2 s of its main thread, most of it Streamlit's React re-rendering
the page, whatever changed, and the server about 0.07 s; ten pages could not get a point
every 2 s. The Live view's chart now asks the launcher's ``mtl/points`` route
(``serve.py``) itself for the epochs after the last one it drew and appends them with
``Plotly.extendTraces`` (``widgets/plot.py``): one small SQLite read on the server, no
script run, no React. The rest of the panel redraws at a slower pace (``pages/live.py``).

The route reads on the server's event loop when the store is free (about a millisecond),
and in a thread only when another thread of the server is using the store, so the loop
never waits for it. Handing every read to a thread and back meant two more waits for
Python's interpreter lock, which the pages' script runs hold: with ten pages open beside
two runs (bench/bench_class.py), the route's own time had a p95 of 0.09-0.12 s; read on
the loop, 0.010-0.018 s (docs/classroom.md).

This module is the meeting point of the route (in the server) and the run managers (made
by the page), like ``pulse.py``: no Streamlit and no torch, so the route can import it at
start-up. The answer's shape is declared once (``points``) and read by the chart's
JavaScript: for each (task, split, metric) curve, its new epochs and values.
"""

from __future__ import annotations

import contextlib
import enum
import math
import threading
import weakref
from typing import TYPE_CHECKING

from mtl_core.errors import StoreError

if TYPE_CHECKING:  # the route imports this module at server start: no pandas then
    from mtl_core.store.runs import RunStore

FEED_ROUTE = "mtl/points"  # relative to the page, like the Plotly route (serve.py)

_lock = threading.Lock()
_store: weakref.ref | None = None


class Busy(enum.Enum):
    """The store is in use by another thread: asked again, with waiting, off the loop."""

    BUSY = "busy"


BUSY = Busy.BUSY


def serve_from(store: RunStore) -> None:
    """Let the route read ``store``, the latest run manager's (weakly held: a dropped
    manager's store stops serving)."""
    global _store
    with _lock:
        _store = weakref.ref(store)


def points(store: RunStore, run_id: int, after: int) -> dict:
    """The run's status and its curves' points after epoch ``after`` (test scores apart:
    the test set is scored once, at the end): ``curves[task][split][metric]`` is
    ``[epochs, values]``. NaN (a diverged run) travels as null. An answer that brings new
    epochs also carries the numbers of the run's cards (``cards``, from all its losses:
    ``analysis/cards.py``), so that they move on with the chart (``widgets/cards.py``)."""
    from mtl_core.analysis.cards import card_numbers
    from mtl_core.store.schema import LIVE

    status = store.status(run_id)
    frame = store.metrics(run_id, since_epoch=after)
    curves: dict[str, dict[str, dict[str, list[list]]]] = {}
    columns = (frame[c].to_numpy() for c in ("epoch", "task", "split", "metric", "value"))
    for epoch, task, split, metric, value in zip(*columns, strict=True):
        if split == "test":
            continue
        by_metric = curves.setdefault(task, {}).setdefault(split, {})
        epochs, values = by_metric.setdefault(metric, [[], []])
        epochs.append(int(epoch))
        values.append(None if math.isnan(value) else float(value))
    answer = {"status": status, "live": status in LIVE, "curves": curves}
    if len(frame):
        answer["cards"] = card_numbers(store.metrics(run_id, metric="loss"))
    return answer


def points_for(run_id: int, after: int, *, wait: bool = True) -> dict | None | Busy:
    """``points`` from the store the page's run manager opened; None before a page made one
    or for a run the store does not hold. Without ``wait``: BUSY at once if another thread
    is using the store (the route then reads in a thread of its own)."""
    with _lock:
        store = _store() if _store is not None else None
    if store is None:
        return None
    with contextlib.nullcontext(True) if wait else store.if_free() as free:
        if not free:
            return BUSY
        try:
            return points(store, run_id, after)
        except StoreError:
            return None
