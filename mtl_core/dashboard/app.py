"""mtl-curves: watch multi-task learning curves grow, live.

Wires the sections together; each lives in its own module, and the views the control
offers are declared once, in ``views.py``. A session with no run yet opens on the lesson
cards (a link ``?lesson=<slug>`` opens that lesson); Train stands at the top of the
sidebar, and the chart options appear only once there is a run to draw. This is the page; start it through its
launcher, ``make dashboard`` (``streamlit run dashboard/serve.py``), which serves
Plotly.js and the owner cookie next to it.
"""

import logging

import streamlit as st
import streamlit.emojis  # noqa: F401  (see PAGE_ICON)

from mtl_core.config import RunConfig
from mtl_core.dashboard import state, views
from mtl_core.dashboard.pages.live import keepalive, resume_baselines
from mtl_core.dashboard.runs import RunManager, store_path
from mtl_core.dashboard.state import K, session_token, write_address
from mtl_core.dashboard.urlstate import (
    lesson_params,
    link_batch,
    link_lesson,
    link_preset,
    link_run,
    link_view,
    params_to_config,
    setup_params,
    view_params,
)
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import after_paint, control_state, controls
from mtl_core.dashboard.widgets.identical import train_or_offer
from mtl_core.dashboard.widgets.lesson_state import LK, close_lesson, open_lesson, open_slug
from mtl_core.dashboard.widgets.presets import preset_banner, preset_picker
from mtl_core.dashboard.widgets.share import share_button
from mtl_core.dashboard.widgets.train_start import EARLY, start_early, start_runs
from mtl_core.dashboard.widgets.view_picker import view_picker
from mtl_core.errors import MtlError
from mtl_core.store.runs import RunStore
from mtl_core.studies.lessons import LESSONS


@st.cache_resource(on_release=RunManager.shutdown)
def get_manager() -> RunManager:
    """One manager per server: its limits come from the environment (mtl_core.limits)."""
    manager = RunManager(store_path())
    manager.warm()
    return manager


def init_from_url(store: RunStore) -> None:
    """Once per browser session: the controls start from the URL (or the defaults); a
    lesson's link opens the lesson, a run's link (``run=``) opens Live on it, and anything
    else opens on the lessons. A run ``store`` does not hold gets a note like any other
    unusable parameter (Live said so, under chart options for a chart it would not draw)."""
    if st.session_state.get(K.initialised):
        return
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    config, notes = params_to_config(params)
    lesson, seeds, epochs, lesson_notes = link_lesson(params)
    run, run_notes = link_run(params)
    if run is not None and store.runs(ids=[run]).empty:
        run_notes.append(
            f"ignored URL parameter 'run': no run #{run} in this store (it was deleted, or "
            "the link comes from another server); History lists the stored runs"
        )
        run = None
    view, compared, view_notes = link_view(params)
    if compared:
        stored = set(store.runs(ids=compared).id.astype(int))
        missing = [i for i in compared if i not in stored]
        if missing:
            view_notes.append(
                f"ignored part of URL parameter 'compare': no run "
                f"{', '.join(f'#{i}' for i in missing[:5])}{' …' if len(missing) > 5 else ''} "
                "in this store (deleted, or the link comes from another server); History "
                "lists the stored runs"
            )
        compared = [i for i in compared if i in stored]
        if view is None:  # compare=3-5 alone means Compare with them
            view = V.compare
    batch, batch_notes = link_batch(params)
    control_state.load_into_state(config)
    control_state.load_batch(batch)
    preset = link_preset(params)
    if preset is not None:
        st.session_state[K.preset] = st.session_state[K.preset_choice] = preset
    st.session_state[K.notes] = notes + batch_notes + lesson_notes + run_notes + view_notes
    # Every new session opens on the lessons, runs stored or not (a teacher who tried a
    # lesson before class would otherwise meet an empty Live view); a link to a run opens it.
    st.session_state[K.view] = views.DEFAULT if K.focus in st.session_state else views.FIRST
    st.session_state[K.initialised] = True
    if run is not None:
        st.session_state[K.focus] = run
        st.session_state[K.view] = views.DEFAULT
    if view is not None:  # the view that was on screen when the address was copied
        st.session_state[K.view] = view
    if compared:
        st.session_state[K.compare] = compared
    if lesson is not None or "lesson" in params:  # an unknown lesson: the lesson cards
        st.session_state[K.view] = views.FIRST
    if lesson is not None:
        open_lesson(lesson, seeds)
    if epochs is not None:  # kept for every lesson this session opens (the page says so)
        st.session_state[LK.epochs] = epochs


def follow_history() -> None:
    """Back and Forward: the browser's own buttons move through what was on screen.

    The page writes each view and setup into the address bar as a new history entry
    (``sync_url``); Back then changed the address but not the page (the session had read
    its URL once), and the next click wrote the old page back. On Back or Forward the
    browser reruns the script with the entry's address: one that differs from the address
    the page last wrote is such a move, and the page opens it as it opens a link (the
    setup, the view, the run shown, the lesson), as a reload of that address would.

    Only a rerun the browser marks as a history move is one: a rerun it sent before it had
    taken the page's last address (a fragment's tick right after *Compare with single-task*
    added the baselines) carried the address before, and read as Back, it put the
    comparison back as it was; the page keeps what it shows and writes its address again.
    A move's address is kept until the page has opened it: a move whose script run was
    cut short (another request) is still one in the run that follows."""
    written = st.session_state.get(K.url)
    address = dict(st.query_params)
    if written is None or address == written:
        st.session_state.pop(K.moving, None)
        return
    if not (state.history_move() or st.session_state.get(K.moving) == address):
        write_address(written)
        return
    st.session_state[K.moving] = address
    close_lesson()
    for name in (K.focus, K.compare, K.preset, K.preset_choice, K.pending_view):
        st.session_state.pop(name, None)
    st.session_state[K.initialised] = False


def sync_url(config) -> None:
    """The address bar holds the setup, Train's batch included (and the run shown, and the
    view when a link would not open it anyway), or the open lesson and its seeds, never
    the owner's token."""
    preset = st.session_state.get(K.preset)
    wanted = setup_params(config, preset, control_state.batch_from_state())
    if K.focus in st.session_state:
        wanted["run"] = str(st.session_state[K.focus])
    opened = views.DEFAULT if "run" in wanted else views.FIRST  # what init_from_url opens
    view = st.session_state.get(K.view)
    wanted |= view_params(view, opened, st.session_state.get(K.compare, []))
    if view == V.lessons and open_slug() in LESSONS:
        wanted = lesson_params(
            open_slug(), st.session_state.get(LK.seeds), st.session_state.get(LK.epochs)
        )
    write_address(wanted)


CHART_DEFAULTS = {"view": "loss", "x_axis": "epoch", "log_y": False, "smoothing": 0.0}


def something_to_draw() -> bool:
    """A run is shown (Live), overlaid (Compare) or part of the open lesson's draw."""
    return bool(
        st.session_state.get(K.focus) is not None
        or st.session_state.get(K.compare)
        or st.session_state.get(LK.runs)
    )


def chart_options() -> dict:
    """The curves' display controls (ViewContext.chart_options): drawn by the views that plot
    curves, once there is a run to draw, and changing the display only."""
    large = st.session_state.get(K.large, False)
    if not something_to_draw():
        kept = {name: st.session_state.get(name) for name in CHART_DEFAULTS}
        chosen = {name: value for name, value in kept.items() if value is not None}
        return {**CHART_DEFAULTS, **chosen, "large_fonts": large}
    if large:  # the projector's larger buttons need the whole row: smoothing goes below it
        a, b, c = st.columns([2, 3, 1.2])
        d = st.container()
    else:
        a, b, c, d = st.columns([2, 3, 1.2, 2])

    # A default only for a control the code has not set (a lesson sets Show): given both,
    # Streamlit logs a warning on every page a lesson's link opens.
    def default(key: str):
        return None if key in st.session_state else CHART_DEFAULTS[key]

    view = a.segmented_control(
        "Show",
        ["loss", "metric"],
        default=default("view"),
        key="view",
        help="metric: accuracy for classification, MAE for regression",
    )
    x_axis = b.segmented_control(
        "x-axis",
        ["epoch", "steps", "samples"],
        default=default("x_axis"),
        key="x_axis",
        help="epochs, optimiser steps or samples seen",
    )
    log_y = c.toggle("log y", key="log_y")
    smoothing = d.slider(
        "Smoothing",
        0.0,
        0.95,
        default("smoothing"),
        0.05,
        key="smoothing",
        help="exponential moving average: changes the display only",
    )
    return {
        "view": view or "loss",
        "x_axis": x_axis or "epoch",
        "log_y": log_y,
        "smoothing": smoothing,
        "large_fonts": large,
    }


def show_started(manager: RunManager) -> int | None:
    """Show what this session's last Train click started: one run in Live, several in
    Compare; the run focused, or None.

    Called by the click's own script run and again at the start of every later one: a
    script run is cut short at its next read of the session state once the browser sends
    another request (a click, a keystroke), and a run started just before that was
    training while the page, which had not recorded it, stayed on Lessons (3 of 40 pages
    in the classroom benchmark; tests/e2e/test_browser.py). The click's token was stored
    before the start, so the next script run finds the runs the manager started for it."""
    token = st.session_state.get(K.starting)
    if token is None:
        return None
    ids = manager.started(token)
    if ids:
        st.session_state[K.focus] = ids[0]
        if len(ids) > 1:
            st.session_state[K.compare] = ids
        else:  # Live waits for its epoch 0 just before it reads the run's curves, so the
            # rest of the page is drawn meanwhile (pages/live.py: ``wait_for_first_epoch``)
            st.session_state[K.first_epoch] = ids[0]
        st.session_state[K.view] = V.live if len(ids) == 1 else V.compare
    st.session_state.pop(K.starting, None)
    return ids[0] if ids else None


def train_button(
    manager: RunManager, owner: str, config: RunConfig | None, slot=None, whole: bool = True
) -> None:
    """Train (K seeds), unless the config is invalid or over a server limit, or the session
    is full. One run opens in Live; several open in Compare, drawn as a seed band. The
    button is drawn in ``slot`` (the top of the sidebar, where it is seen without
    scrolling); the Seeds control stays at the end of the setup (not drawn unless
    ``whole``: widgets/after_paint.py)."""
    slot = slot or st.sidebar
    refusal = manager.limits.refusal(config) if config is not None else None
    if refusal:
        slot.error(refusal)
    k, vary_data = controls.seed_controls(whole)
    full = manager.session_full(owner)
    # On the lessons, the page's own Run is the action: Train (free play) stays in reach
    # but does not outshine it. Pressed there, it opens Live in this very script run and
    # leads again: drawn secondary, it stayed so while the run trained (the live panel
    # redraws as a fragment, the sidebar never).
    clicking = bool(st.session_state.get(K.train))  # the button's value before it is drawn
    lessons = st.session_state.get(K.view) == V.lessons and not clicking
    early = st.session_state.pop(EARLY, False)  # the click's run started in its callback
    clicked = slot.button(
        "Train",
        on_click=start_early,
        args=(manager, owner),
        type="secondary" if lessons else "primary",
        key=K.train,
        width="stretch",
        help=full
        or ("free play: " if lessons else "")
        + "train the setup below, once per seed (Seeds, at the end of the sidebar: "
        "several open in Compare as a band)",
        disabled=config is None or bool(refusal or full),
    )
    # A click whose run started early is done: offered its own run, it would be asked
    # whether to train it again
    if train_or_offer(manager, owner, config, k, vary_data, clicked and not early, slot):
        try:
            start_runs(manager, owner, config, k, vary_data)  # widgets/train_start.py
        except MtlError as exc:
            st.sidebar.error(str(exc))
        show_started(manager)
    if full:
        slot.caption(f"Train is off: {full}.")


# An emoji: the first ``set_page_config`` of a process looks it up in Streamlit's emoji
# table, whose import compiles a regex of every emoji. That import stands at the top of
# this module, which the launcher imports at server start (mtl_core/dashboard/serve.py), so
# the first page's script run does not compile it.
PAGE_ICON = "📈"


def main() -> None:
    st.set_page_config(page_title="mtl-curves", page_icon=PAGE_ICON, layout="wide")
    try:
        manager = get_manager()
    except MtlError as exc:  # a malformed limit variable, a store that cannot be opened
        st.error(str(exc))
        return
    owner = session_token()
    manager.seen(owner)
    follow_history()
    init_from_url(manager.store)
    control_state.keep_view_controls()  # a study form's Seeds, while another view is shown
    show_started(manager)  # a Train click whose script run was cut short
    resume_baselines(manager, owner)  # and a Compare-with-single-task click
    if not state.served_by_launcher() and st.context.headers:  # a browser, not AppTest
        st.warning(
            "This page was started without its launcher, so the live chart cannot "
            "draw and a reload loses control of your runs: start it with "
            "`make dashboard` (`streamlit run dashboard/serve.py`)."
        )
    if manager.store.moved_aside is not None:
        st.warning(
            f"The run store was damaged: it was moved aside to "
            f"{manager.store.moved_aside} and a fresh one started."
        )
    notes = st.session_state.get(K.notes, [])
    if notes:
        st.warning(
            "Some of the link's settings were not usable, so their defaults stand:\n"
            + "\n".join(f"- {note}" for note in notes)
        )
    whole = after_paint.whole_page()  # False until the setup's first drawing is due
    train_slot = st.sidebar.container()
    share_slot = preset_picker()
    config, error = controls.sidebar(whole)
    if error:
        train_slot.error(error)
    train_button(manager, owner, config, train_slot, whole)
    if config is not None:
        with share_slot:
            share_button(
                config,
                st.session_state.get(K.preset),
                control_state.batch_from_state(),
                lesson_open=st.session_state.get(K.view) == V.lessons and open_slug() in LESSONS,
            )
    st.title("Multi-task learning curves")
    if K.pending_view in st.session_state:
        st.session_state[K.view] = st.session_state.pop(K.pending_view)
    preset_banner()
    chosen = view_picker()
    context = views.ViewContext(manager, owner, config, chart_options)
    views.find(chosen).render(context)
    st.session_state.pop(K.first_epoch, None)  # another view than Live: no one waits
    if config is not None:  # after the view: Compare's picks are part of the address
        sync_url(config)
    keepalive(manager, owner)
    if not whole:
        after_paint.ask_for_the_rest()


def page() -> None:
    """One script run of the page: a bug shows one line, the traceback goes to the console."""
    try:
        main()
    except Exception as exc:
        logging.getLogger("mtl_curves").exception("page failed")
        st.error(
            f"Something went wrong ({type(exc).__name__}: {exc}). Reload the page: "
            "your runs are safe in the store."
        )
