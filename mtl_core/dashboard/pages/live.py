"""The live view: progress, pause/stop, curves and summary cards of the focused run.

While the run is live, its chart appends new epochs itself every ``MTL_POLL_SECONDS``
(1 s), read from the launcher's route (mtl_core/dashboard/feed.py says why), and the
progress line above it moves on with each of the chart's answers (widgets/progress.py;
its status word changes with the panel, written last, so that it never names a status
before the buttons and cards that go with it).
The rest of the panel (buttons, message, cards) redraws as a fragment at a slower pace
(``Limits.live_panel_every``), reading only the epochs it has not read yet and neither
rebuilding nor re-sending the chart; and at once when the chart's feed sees the run's
status change (it started, paused or ended). When the run ends the panel triggers one
full rerun, which switches the polling off. The page's pulse keeps the session's runs
alive while the page is open, whichever view it shows (see ``keepalive``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.analysis.summary import best_epoch, rising_since
from mtl_core.config import from_dict
from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.pages.preview import mistakes_view
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.explainer import explainer
from mtl_core.dashboard.widgets.identical import remember_reuse
from mtl_core.dashboard.widgets.keepalive import pulse_timer
from mtl_core.dashboard.widgets.plot import chart, live_feed
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.progress import progress_line
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.execution import forkserver
from mtl_core.store.runs import LIVE
from mtl_core.store.schema import Status
from mtl_core.store.script.export import refusal, script_text
from mtl_core.studies.baselines import single_task_baselines

KEEPALIVE_SECONDS = 10.0
MISTAKES = "mistakes_{run_id}"  # the key of a finished run's "Where does it go wrong?"


def cached_metrics(manager: RunManager, run_id: int, live: bool) -> pd.DataFrame:
    """Metrics of a run, fetched incrementally: only epochs after the last one seen.

    ``live``: the run was queued or training when the caller last read its status. A run
    that had ended then has all its epochs stored, so one fetch after that is its last:
    a page watching 15 runs of a lesson no longer asks the store about the 14 that ended
    on every tick."""
    cache = st.session_state.setdefault(K.curves, {})
    frame, final = cache.get(run_id, (None, False))
    if frame is None or not final:
        since = -1 if frame is None or frame.empty else int(frame.epoch.max())
        new = manager.store.metrics(run_id, since_epoch=since)
        new = new[new.split != "test"]
        if frame is None or len(new):  # most ticks bring nothing new
            frame = new if frame is None else pd.concat([frame, new], ignore_index=True)
        cache[run_id] = (frame, not live)
    return frame


class Curves:
    """A run's metric frame read curve by curve, by (task, split, metric). A live tick
    reads several curves of one frame (the progress line, the time estimate, two per
    card); cutting each out with pandas (three column filters, a sort, a new index) was a
    third of a live page's server time per tick (py-spy). The columns are taken out of
    the frame once, and each curve is cut out with numpy when first asked: about 0.9 ms
    for the four curves of a one-task tick, against 7-8 ms (150 epochs, three tasks)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self._columns: tuple[np.ndarray, ...] | None = None
        self._cut: dict[tuple[str, str, str], pd.Series] = {}

    def __call__(self, task: str, split: str, metric: str) -> pd.Series:
        """The curve's values indexed by epoch, in epoch order (empty when not stored)."""
        key = (task, split, metric)
        if key not in self._cut:
            if self._columns is None:
                f = self.frame
                self._columns = (
                    *(f[c].to_numpy(object) for c in ("task", "split", "metric")),
                    f.epoch.to_numpy(),
                    f.value.to_numpy(),
                )
            tasks, splits, metrics, epochs, values = self._columns
            mine = (tasks == task) & (splits == split) & (metrics == metric)
            order = np.argsort(epochs[mine], kind="stable")
            index = pd.Index(epochs[mine][order], name="epoch")
            self._cut[key] = pd.Series(values[mine][order], index=index, name="value")
        return self._cut[key]


def best_epochs(curves: Curves, run_id: int, tasks: list[str]) -> dict[tuple[int, str], int]:
    out = {}
    for task in tasks:
        val = curves(task, "val", "loss")
        if len(val):
            out[(run_id, task)] = int(val.index[best_epoch(val.tolist())])
    return out


def clock(curves: Curves) -> tuple[int, float]:
    """The last epoch trained and the training time so far: the sum of the stored
    per-epoch wall times, which leave out time spent paused (the progress line's estimate
    of the time left, widgets/progress.py, then leaves it out too)."""
    wall = curves("_run", "train", "wall_time")
    return (int(wall.index.max()) if len(wall) else 0), float(wall.sum())


def _queued(manager: RunManager, run: dict) -> None:
    if run["status"] != Status.QUEUED:
        return
    if run["id"] in manager.queued():
        st.info(
            f"queued: waiting for a free training slot (this server trains "
            f"{manager.workers} run(s) at once)"
        )
    elif not forkserver.ready():
        st.caption(
            "starting: the training workers are loading PyTorch, once per server start "
            "(a few seconds)…"
        )
    else:
        st.caption("starting…")


def _buttons(manager: RunManager, run: dict, owner: str, polled: bool) -> None:
    """Pause (or Resume) and Stop while the run is live. ``polled``: drawn by the panel's
    fragment, which may see the run end while it still shows them."""
    if run["status"] not in LIVE:
        if polled:
            # Drawn where Pause/Stop were, it removes them now: left undrawn, they would
            # stay on screen until the script run ends, under a line that says the run
            # has ended. (The full rerun that follows draws nothing here: no gap stays.)
            st.empty()
        return
    if run["owner"] != owner:
        st.caption("Started from another browser session (or the CLI): only it can pause or stop.")
        return
    a, b, _ = st.columns([1, 1, 6])
    if run["status"] == Status.PAUSED:
        if a.button("Resume", key=f"resume_{run['id']}"):
            manager.request(run["id"], owner, "")
    elif a.button("Pause", key=f"pause_{run['id']}"):
        manager.request(run["id"], owner, "pause")
    if b.button("Stop", key=f"stop_{run['id']}"):
        manager.request(run["id"], owner, "stop")


def start_baselines(manager: RunManager, run_id: int, owner: str) -> None:
    """Start the matching single-task run(s), reusing identical stored ones (identical.py
    says so in Compare), and open the comparison."""
    run = manager.store.get_run(run_id)
    bases = single_task_baselines(from_dict(run["config"]))
    names = [f"{run['name']} · single-task {base.tasks[0]}" for base in bases]
    ids, reused = manager.start_missing(bases, owner=owner, names=names)
    st.session_state[K.compare] = [run_id, *ids]
    st.session_state[K.pending_view] = V.compare
    remember_reuse([run_id, *ids], reused)


def summary_cards(run: dict, curves: Curves, every: float | None = None) -> None:
    """Per main task: best validation loss and epoch, test metric there, gap, overfitting.

    ``every``: while the run is live, the seconds between the panel's redraws. The chart
    above moves on every second by itself and the cards only with the panel, so they say
    which epoch they show: in a default run, which trains in a second or two, they showed
    epoch 0 until its end beside a chart that had long moved on, and said nothing of it.
    Before the first trained epoch they are left out: the untrained network's numbers
    ("best validation loss 2.30 at epoch 0") read as a contradiction of the chart."""
    summary = run["summary"].get("main", {})
    params = run["provenance"].get("param_count")
    drawn = [t for t in run["config"]["tasks"] if len(curves(t, "val", "loss"))]
    # A slot of its own, drawn every time: were the cards to move up into the caption's
    # place when it goes, the browser would show the old cards until the script run ends
    note = st.empty()
    if every is not None and run["status"] in LIVE and drawn:
        done, _ = clock(curves)
        if done == 0:  # the untrained network's numbers ("best at epoch 0"): none at all
            note.caption(
                "The cards (the best epoch, its losses, the test score) appear once an "
                f"epoch has trained, then catch up every {every:g} s; a run shorter than "
                "that shows them at its end."
            )
            return
        note.caption(
            f"These cards show epoch {done} of {run['config']['epochs']}: while the run "
            f"trains they catch up every {every:g} s (the chart and the line above move "
            "on by themselves)."
        )
    for task in run["config"]["tasks"]:
        metric = get_task(task).metric
        val = curves(task, "val", "loss")
        if not len(val):
            continue
        best = int(val.index[best_epoch(val.tolist())])
        train = curves(task, "train", "loss")
        gap = float(val.loc[best] - train.loc[best]) if best in train.index else float("nan")
        with st.container(border=True):
            a, b, c, d = st.columns(4)
            a.metric(
                f"{task}: best validation loss",
                f"{val.loc[best]:.4f}",
                help="the lowest validation loss so far",
            )
            a.caption(f"at epoch {best}")
            test = summary.get(task, {}).get("test_metric")
            b.metric(
                f"test {metric} at epoch {best}",
                "…" if test is None else f"{test:.4f}",
                help="the test set is scored once, at the end, at the best validation epoch",
            )
            c.metric("train/val loss gap", f"{gap:.3f}", help="at the best epoch")
            d.metric("parameters", f"{params:,}" if params else "…")
            rising = rising_since(val.tolist())
            if rising is not None:
                st.warning(
                    f"Validation loss rising since epoch {int(val.index[rising])}: "
                    "the model is overfitting (it learns the training images by heart)."
                )


def live_view(manager: RunManager, owner: str, options: dict) -> None:
    run_id = st.session_state.get(K.focus)
    if run_id is None:
        explainer(None)
        st.info("Press **Train** in the sidebar: curves appear here as the run trains.")
        return
    try:
        first = manager.store.get_run(run_id)
    except Exception:
        st.session_state.pop(K.focus, None)
        st.info(
            f"No run #{run_id} in this store: it was deleted, or the link comes from another "
            "server. Press **Train** to start one, or open **History** for the stored runs."
        )
        return
    pages = open_pages(manager)
    polling = manager.limits.live_panel_every(pages) if first["status"] in LIVE else None
    drawn: dict[str, int] = {}  # the chart's height, once this script run has drawn it

    def panel() -> bool:
        manager.seen(owner)  # without the launcher's pulse route, the live page's runs say so
        run = manager.store.get_run(run_id)
        frame = cached_metrics(manager, run_id, live=run["status"] in LIVE)
        curves = Curves(frame)
        st.markdown(f"#### {run['name']}")
        # The line's slot stands here, its text is written last (below): a status it
        # names (completed, paused) reaches the browser after the buttons and cards
        # that go with it, never before them.
        line = st.container()
        # Each part that comes and goes keeps its own slot: were the buttons to move up
        # when the "starting" line goes, the browser would show the old Pause beside the
        # new one until the fragment's run ends (and the chart would be drawn anew).
        with st.empty():
            _queued(manager, run)
        with st.container():
            _buttons(manager, run, owner, polled=polling is not None)
        with st.empty():
            if run["message"]:
                (st.error if run["status"] in (Status.FAILED, Status.DIVERGED) else st.info)(
                    run["message"]
                )
        tasks = [t for t in run["config"]["tasks"] + run["config"]["aux"]]
        live = run["status"] in LIVE
        every = manager.limits.poll_seconds
        feed = live_feed(run_id, run["status"], every, options["x_axis"]) if live else None
        if live and drawn:  # a fragment rerun: the chart feeds itself (feed.py)
            chart(None, key="live_chart", feed=feed, height=drawn["height"])
        else:
            fig = curves_figure(
                frame.assign(run_id=run_id),
                tasks=tasks,
                metric_of={t: get_task(t).metric for t in tasks},
                # with the feed, every main task gets a star (empty before its first epoch)
                best={(run_id, t): None for t in run["config"]["tasks"] if live}
                | best_epochs(curves, run_id, run["config"]["tasks"]),
                run_names={run_id: run["name"]},
                feed=live,
                planned=int(run["config"]["epochs"]) if live else None,
                **options,
            )
            chart(fig, key="live_chart", feed=feed)
            drawn["height"] = int(fig.layout.height or 420)
        summary_cards(run, curves, polling)
        with line:
            done, elapsed = clock(curves)
            progress_line(run_id, run["status"], done, int(run["config"]["epochs"]), elapsed)
        can_compare = run["owner"] == owner and single_task_baselines(from_dict(run["config"]))
        if can_compare and st.button(
            "Compare with single-task",
            key=f"baseline_{run_id}",
            help="train the matching single-task run(s): same split, seed, label "
            "budget, backbone and optimiser steps; then overlay them",
        ):
            try:
                start_baselines(manager, run_id, owner)
            except MtlError as exc:  # a server limit
                st.error(str(exc))
            else:
                st.rerun(scope="app")
        return live

    live_panel(panel, polling)
    script_button(st, first, key=f"script_{run_id}")
    explainer(first)
    if first["status"] not in LIVE and first["summary"].get("main"):
        # Drawn only once opened: closed, its images and confusion matrix were fetched,
        # sent and laid out on every script run of a finished run's page.
        box = st.expander(
            "Where does it go wrong? (confusion matrix, misclassified images)",
            key=MISTAKES.format(run_id=run_id),
            on_change="rerun",
        )
        if box.open:
            with box:
                mistakes_view(first)


def script_button(where, run: dict, key: str) -> None:
    """Download the run as one standalone PyTorch script (``store/script/``);
    greyed out, with the reason as its help, for a run the script does not cover yet."""
    try:
        reason = refusal(from_dict(run["config"]))
    except MtlError as exc:
        reason = str(exc)
    file_name = f"run-{run['id']}.py"
    where.download_button(
        "Download as a script (.py)",
        lambda: script_text(run, file_name),
        file_name=file_name,
        mime="text/x-python",
        key=key,
        disabled=reason is not None,
        help=reason
        or f"one PyTorch file that trains this run again on the CPU: `python {file_name}` "
        "writes curves.csv with the same numbers",
    )


def poll_every(manager: RunManager) -> float:
    """Seconds between a live page's updates: the operator's ``MTL_POLL_SECONDS``,
    stretched when many pages are open (``Limits.poll_every``), so that the server keeps
    serving clicks while a class watches its runs."""
    return manager.limits.poll_every(open_pages(manager))


def open_pages(manager: RunManager) -> int:
    """Pages whose pulse or script run the server heard within two pulse intervals."""
    return manager.open_pages(within=2 * KEEPALIVE_SECONDS)


def keepalive(manager: RunManager, owner: str) -> None:
    """Tell the manager this session's page is open: now, and from the browser's own timer
    (widgets/keepalive.py, pulse.py) for as long as the tab stays open, whatever view it
    shows and however long the server takes to answer. A closed tab stops the timer, so the
    manager's watchdog stops that tab's runs after MTL_ABANDON_AFTER; a hidden tab still
    ticks about once a minute and keeps them."""
    manager.seen(owner)
    pulse_timer(owner, min(KEEPALIVE_SECONDS, manager.limits.abandon_after / 3))
