"""The live view: progress, pause/stop, curves and summary cards of the focused run.

While the run is live, its chart appends new epochs itself every ``MTL_POLL_SECONDS``
(1 s), read from the launcher's route (mtl_core/dashboard/feed.py says why), and the
progress line above it and the cards below it move on with each of the chart's answers
(widgets/progress.py, widgets/cards.py; the line's status word and the test score
change with the panel, the line written last, so that it never names a status before
the buttons and cards that go with it).
The panel (buttons, message, the cards' page numbers) redraws as a fragment when the
chart's feed sees the run's status change (it started, paused or ended), and otherwise
only at a slow pace (``Limits.live_panel_every``), reading only the epochs it has not
read yet and neither rebuilding nor re-sending the chart, as a whole page's rerun (a
control changed) does not while the tab holds it (widgets/plot.py: ``held``). When the
run ends the panel triggers one full rerun, which switches the polling off. The page's
pulse keeps the session's runs alive while the page is open, whichever view it shows.
"""

from __future__ import annotations

import secrets
import time

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.analysis.cards import FIRST_SHOWN, card_numbers
from mtl_core.config import from_dict
from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.pages.preview import mistakes_view
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.cards import summary_cards
from mtl_core.dashboard.widgets.explainer import explainer
from mtl_core.dashboard.widgets.identical import remember_reuse
from mtl_core.dashboard.widgets.keepalive import pulse_timer
from mtl_core.dashboard.widgets.plot import chart, held, live_feed
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.progress import progress_line
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.execution import forkserver
from mtl_core.models.counting import param_count
from mtl_core.store.runs import LIVE
from mtl_core.store.schema import Status
from mtl_core.store.script.export import refusal, script_text
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.written import counted

KEEPALIVE_SECONDS = 10.0
BASELINE_HELP = (  # Compare with single-task, here and in Insights (pages/grouping.py)
    "train the matching single-task run(s): same split, seed, label budget, backbone and "
    "optimiser steps; then overlay them"
)
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
    read several curves of one frame (the progress line, the time estimate, two per
    card, before ``analysis/cards.py``); cutting each out with pandas (three column
    filters, a sort, a new index) was a third of a live page's server time per tick
    (py-spy). The columns are taken out of
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


def clock(curves: Curves) -> tuple[int, float]:
    """The last epoch stored (-1: none yet) and the training time so far: the sum of the
    stored per-epoch wall times, which leave out time spent paused (the progress line's
    estimate of the time left, widgets/progress.py, then leaves it out too)."""
    wall = curves("_run", "train", "wall_time")
    return (int(wall.index.max()) if len(wall) else -1), float(wall.sum())


def _queued(manager: RunManager, run: dict) -> None:
    if run["status"] != Status.QUEUED:
        return
    ahead = manager.ahead_of([run["id"]])
    if ahead is not None:
        behind = f" behind {counted(ahead, 'other queued run')}" if ahead else ""
        st.info(
            f"queued: waiting for a free training slot{behind} (this server trains "
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
    # The click asks before this redraw (on_click), so the redraw shows what was asked at
    # once: the run honours it between batches, and for about a second after Stop the line
    # still said "running", epochs went on and Stop could be clicked again.
    asked = manager.store.pending_request(run["id"])
    stopping = asked == "stop"
    paused = run["status"] == Status.PAUSED
    # (label, label while asked, the action, asked now): a paused run's "pause" request
    # stands until Resume clears it
    first = (
        ("Resume", "Resuming…", "", asked == "")
        if paused
        else ("Pause", "Pausing…", "pause", asked == "pause")
    )
    row = st.container(horizontal=True)  # each button as wide as its label (projector mode)
    for label, busy, action, now in (first, ("Stop", "Stopping…", "stop", stopping)):
        row.button(
            busy if now else label,
            key=f"{label.lower()}_{run['id']}",
            on_click=manager.request,
            args=(run["id"], owner, action),
            disabled=now or stopping,
        )


def start_baselines(manager: RunManager, run_id: int, owner: str, token: str = "") -> None:
    """Start the matching single-task run(s), reusing identical stored ones (identical.py
    says so in Compare), and open the comparison.

    The click's token goes into the session before anything starts: Streamlit stops a
    script run at its next session-state write once the browser sends another request,
    and a run cut short right after the start left its runs training and the page on
    Live. The next script run finishes the click (``resume_baselines``); the runs it
    finds then are the click's own, not "reused"."""
    if not token:
        token = secrets.token_hex(8)
        st.session_state[K.baselines] = [run_id, token]
    run = manager.store.get_run(run_id)
    bases = single_task_baselines(from_dict(run["config"]))
    names = [f"single-task {base.tasks[0]}, baseline of #{run_id}" for base in bases]
    try:
        ids, reused = manager.start_missing(bases, owner=owner, names=names, token=token)
    except MtlError:  # a server limit: said once, not tried again by the next script run
        st.session_state.pop(K.baselines, None)
        raise
    mine = set(manager.started(token))
    st.session_state[K.compare] = [run_id, *ids]
    st.session_state[K.pending_view] = V.compare
    remember_reuse([run_id, *ids], [i for i in reused if i not in mine])
    st.session_state.pop(K.baselines, None)


def resume_baselines(manager: RunManager, owner: str) -> None:
    """Finish a Compare-with-single-task click whose script run was cut short (see
    ``start_baselines``): called at the start of every script run, before the view
    control is drawn."""
    pending = st.session_state.get(K.baselines)
    if pending is None:
        return
    run_id, token = pending
    try:
        start_baselines(manager, int(run_id), owner, token)
    except MtlError:  # the run was deleted meanwhile, or a server limit refused its baselines
        st.session_state.pop(K.baselines, None)


def cards(run: dict, numbers: dict) -> None:
    """Per main task: best validation loss and epoch, test metric there, gap, overfitting
    (``widgets/cards.py``; a live run's chart moves them on with each new epoch)."""
    live = run["status"] in LIVE
    config = from_dict(run["config"])
    summary = run["summary"].get("main", {})
    per_task = [
        {"task": t, "metric": get_task(t).metric, "test": summary.get(t, {}).get("test_metric")}
        for t in config.tasks
    ]
    # The trainer stores the count it built; until it has, the same number by arithmetic.
    params = run["provenance"].get("param_count") or param_count(config)
    summary_cards(run["id"], numbers, per_task, params, live)


def wait_for_first_epoch(manager: RunManager, run_id: int, limit: float = 0.5) -> None:
    """Epoch 0 takes 20-50 ms on a warm worker: wait for it (briefly), so the Train
    click's own script run draws the first point instead of the next live tick a second
    later. Called just before the run's curves are read: the sidebar, the title and the
    view's controls were drawn while the worker trained. Checked every 5 ms (the store's
    read costs well under 1 ms): at 20 ms, half a check was lost on average. Not for a run
    that waits for a training slot: when a class presses Train together, most clicks'
    runs do, and each such wait held its script run (and the server's interpreter lock,
    100 times) for the whole half second without a point to show for it."""
    if run_id in manager.queued():
        return
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and manager.store.last_epoch(run_id) < 0:
        time.sleep(0.005)


def live_view(manager: RunManager, owner: str, options: dict) -> None:
    run_id = st.session_state.get(K.focus)
    if run_id is None:
        explainer(None, options.get("view", "loss"))
        mine = len(manager.store.runs(owner=owner)) if owner else 0  # after a study, say
        stored = (
            f" Open your {counted(mine, 'stored run')} here from **History** (select one, "
            "then *Show curves*), or side by side in **Compare**."
            if mine
            else ""
        )
        st.info(f"Press **Train** in the sidebar: curves appear here as the run trains.{stored}")
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

    def panel() -> bool:
        manager.seen(owner)  # without the launcher's pulse route, the live page's runs say so
        run = manager.store.get_run(run_id)
        st.markdown(f"#### {run['name']}")  # at once: the old view's elements have gone
        if st.session_state.pop(K.first_epoch, None) == run_id:  # Train's own script run
            wait_for_first_epoch(manager, run_id)
            run = manager.store.get_run(run_id)
        frame = cached_metrics(manager, run_id, live=run["status"] in LIVE)
        curves = Curves(frame)
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
        main = run["config"]["tasks"]
        tasks = [*main, *run["config"]["aux"]]
        live = run["status"] in LIVE
        numbers = card_numbers(frame)  # the cards' and the stars' best epochs
        stars = {(run_id, t): n["best"] for t, n in numbers["tasks"].items() if t in main}
        if live and numbers["epoch"] < FIRST_SHOWN:  # no star while the cards wait for one
            stars = {}
        every = manager.limits.poll_seconds
        feed = live_feed(run_id, run["status"], every, options["x_axis"]) if live else None
        # the figure, but its epochs: while the run is live, the tab holds and feeds it
        look = (run_id, run["name"], tuple(tasks), repr(sorted(options.items())))
        if live and (height := held("live_chart", look)) is not None:
            chart(None, key="live_chart", feed=feed, height=height)
        else:
            fig = curves_figure(
                frame.assign(run_id=run_id),
                tasks=tasks,
                metric_of={t: get_task(t).metric for t in tasks},
                # with the feed, every main task gets a star (empty before its first epoch)
                best={(run_id, t): None for t in main if live} | stars,
                run_names={run_id: run["name"]},
                feed=live,
                planned=int(run["config"]["epochs"]),  # live or ended: one axis per run
                revision=f"run {run_id}",  # another run's zoom and axes do not carry over
                **options,
            )
            chart(fig, key="live_chart", feed=feed, look=look)
        cards(run, numbers)
        with line:
            done, elapsed = clock(curves)
            progress_line(run_id, run["status"], done, int(run["config"]["epochs"]), elapsed)
        can_compare = run["owner"] == owner and single_task_baselines(from_dict(run["config"]))
        if can_compare and st.button(
            "Compare with single-task",
            key=f"baseline_{run_id}",
            help=BASELINE_HELP,
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
    ended = first["status"] not in LIVE and first["summary"].get("main")
    numbers = card_numbers(cached_metrics(manager, run_id, live=False)) if ended else None
    explainer(first, options.get("view", "loss"), numbers)
    if ended:
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
