"""History: every stored run, from any session or the CLI; rename, delete, download, reload.

Downloads: the selected runs' curves (CSV), the first one's config (JSON), and the first
one as a standalone PyTorch script (``store/script/``).

The table lives in a fragment that re-reads the run store on its own (every few seconds
while a run is live, slowly otherwise), so runs started elsewhere and status changes show
up without a reload. Row selection is by position, so while rows are selected the table
keeps the rows it showed (their values still refresh) and only counts newcomers; the
actions below the table are drawn by a full run, which the fragment asks for whenever the
selection, or a selected run's status, changes.

In projector mode the table is an ``st.table`` (sized in rem, so it grows with the page;
``st.dataframe`` draws on a canvas in px) and runs are picked by name in a multiselect
above it instead of by row: the same actions follow.
"""

from __future__ import annotations

import json
import secrets

import pandas as pd
import streamlit as st

from mtl_core.analysis.overview import runs_table
from mtl_core.config import from_dict
from mtl_core.dashboard.pages.live import script_button
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.presets import MISSING
from mtl_core.errors import MtlError
from mtl_core.store.runs import LIVE, RunStore

LIVE_SECONDS = 2.0  # the table's refresh while any run is queued, training or paused
IDLE_SECONDS = 15.0  # otherwise: still picks up runs started elsewhere (CLI, other tabs)
TABLE = "history_table"
SO_FAR = (
    "A run still training shows its best validation loss so far; its test metric comes "
    "when it ends."
)
CHOSEN = "history_chosen"  # (ids, their statuses) the fragment last saw selected
ORDER = "history_order"  # run ids of the table's rows, in the order last drawn
GENERATION = "history_generation"  # bumped to clear a selection that lost its rows
FULL_RUN = "history_full_run"  # the runs a full run read just before it draws the fragment
PICKED = "history_picked"  # projector mode: the run ids chosen in the multiselect


def _load_config(config: dict) -> None:
    try:
        control_state.load_into_state(from_dict(config))
    except MtlError as exc:
        st.session_state[K.notes] = [f"could not load that config ({exc})"]


DONE = "history_done"  # session state: what the last Rename or Delete did, said once
RERUN_HELP = (
    "train the same config again as a new run (e.g. one a crash interrupted); its seeds "
    "are the same, so a finished run's curves come out the same: for another draw, load "
    "the config into the controls and change Seed"
)


def _show(run_id: int) -> None:
    st.session_state[K.focus] = run_id
    st.session_state[K.view] = V.live  # a callback: it runs before the view control is drawn


def _compare(run_ids: list[int]) -> None:
    st.session_state[K.compare] = run_ids
    st.session_state[K.view] = V.compare


def rerun(manager: RunManager, run_id: int, owner: str) -> int:
    """A new run from a stored run's config (e.g. one interrupted by a crash). It carries
    a Train click's token, so that a script run cut short right after the start still
    opens it in Live (``app.show_started``)."""
    run = manager.store.get_run(run_id)
    token = st.session_state[K.starting] = secrets.token_hex(8)
    config = from_dict(run["config"])
    return manager.start(
        config, owner=owner, name=rerun_name(manager.store, run["name"]), token=token
    )


def rerun_name(store: RunStore, name: str) -> str:
    """``name (re-run)``, then ``(re-run 2)``, ...: two re-runs of a run were two runs of
    one name, told apart by their numbers alone."""
    base = name.removesuffix(" (re-run)").split(" (re-run ")[0]
    taken = set(store.runs().name)
    if f"{base} (re-run)" not in taken:
        return f"{base} (re-run)"
    return next(
        f"{base} (re-run {k})"
        for k in range(2, len(taken) + 3)
        if f"{base} (re-run {k})" not in taken
    )


def _table_key() -> str:
    generation = st.session_state.get(GENERATION, 0)
    return TABLE if not generation else f"{TABLE}_{generation}"


def _selected_rows() -> list[int]:
    """Row positions the table's selection holds from the previous run."""
    if st.session_state.get(K.large):
        return []  # projector mode picks runs by id, which no new row can shift
    state = st.session_state.get(_table_key())
    try:
        return [int(i) for i in state["selection"]["rows"]]
    except (KeyError, TypeError):
        return []


def _keep_order(runs: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """While rows are selected, keep the rows the user selected from (newest first
    otherwise): return the rows to draw and a note on what is left out."""
    shown = st.session_state.get(ORDER, [])
    if not _selected_rows() or not shown:
        return runs, ""
    ids = set(runs.id)
    if not set(shown) <= ids:  # a shown run was deleted: its position means another run now
        st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
        return runs, "Runs were deleted, so the selection was cleared."
    new = len(ids) - len(shown)
    runs = runs.set_index("id").loc[shown].reset_index()
    if not new:
        return runs, ""
    return runs, f"{new} new run(s) since you selected rows: clear the selection to list them."


def _picked(table: pd.DataFrame) -> list[int]:
    """Projector mode: runs chosen by name above a table that grows with the page."""
    names = dict(zip(table.id.astype(int), table.name, strict=True))
    kept = [i for i in st.session_state.get(PICKED, []) if i in names]  # deleted runs drop out
    st.session_state[PICKED] = kept
    chosen = st.multiselect(
        "Select runs",
        list(names),
        key=PICKED,
        format_func=lambda i: f"#{i} {names[i]}",
        placeholder="choose runs to show, compare, reload, download, rename or delete",
    )
    st.table(table.style.hide(axis="index").format(precision=4, na_rep=MISSING))
    return [int(i) for i in chosen]


def _table(manager: RunManager, owner: str, live_before: bool) -> None:
    """The runs table; leaves the selected run ids in session state."""
    read = st.session_state.pop(FULL_RUN, None)  # a full run's read: the store once per run
    full = read is not None
    runs = read if full else manager.store.runs()
    chosen: list[int] = []
    if runs.empty:
        st.info("No runs yet. Press **Train** in the sidebar.")
        st.session_state[ORDER] = []
    else:
        runs, note = _keep_order(runs)
        table = runs_table(manager.store, runs)
        table.insert(1, "yours", runs.owner.eq(owner).map({True: "✓", False: ""}))
        if st.session_state.get(K.large):
            chosen = _picked(table)
        else:
            event = st.dataframe(
                table,
                hide_index=True,
                on_select="rerun",
                width="stretch",
                selection_mode="multi-row",
                key=_table_key(),
                placeholder=MISSING,
            )
            chosen = [int(table.id.iloc[i]) for i in event.selection.rows if i < len(table)]
        if note:
            st.caption(note)
        if runs.status.isin(LIVE).any():
            st.caption(SO_FAR)
        if not chosen and not st.session_state.get(K.large):
            st.caption("Select rows to show, compare, reload, download, rename or delete runs.")
        st.session_state[ORDER] = [int(i) for i in runs.id]
    status = dict(zip(runs.id, runs.status, strict=True))
    seen = (chosen, [status[i] for i in chosen])
    changed = seen != st.session_state.get(CHOSEN)
    st.session_state[CHOSEN] = seen
    live_now = bool(runs.status.isin(LIVE).any())
    if not full and (changed or live_now != live_before):
        st.rerun(scope="app")  # redraw the actions (or set the refresh rate) for what changed


def history_view(manager: RunManager, owner: str) -> None:
    runs = manager.store.runs()
    live = bool(runs.status.isin(LIVE).any())
    st.session_state[FULL_RUN] = runs
    st.fragment(_table, run_every=LIVE_SECONDS if live else IDLE_SECONDS)(manager, owner, live)
    if done := st.session_state.pop(DONE, None):  # what the last Rename or Delete did
        st.success(done)
    chosen = st.session_state.get(CHOSEN, ([], []))[0]
    if not chosen:
        return
    try:
        first = manager.store.get_run(chosen[0])
        mine = [i for i in chosen if manager.owns(i, owner)]
    except MtlError:  # deleted elsewhere a moment ago: the next refresh clears the selection
        return
    if len(chosen) > 1:  # Rename and Show curves acted on one of them without a word
        st.caption(
            f"Show curves, Load config, Re-run, the config and script downloads and Rename "
            f"act on the first selected run, #{chosen[0]} ({first['name']}); Compare, the "
            f"curves CSV and Delete on all {len(chosen)}."
        )
    a, b, c, d = st.columns(4)
    a.button("Show curves", on_click=_show, args=(chosen[0],), key="h_show")
    b.button("Compare selected", on_click=_compare, args=(chosen,), key="h_compare")
    c.button(
        "Load config into controls",
        on_click=_load_config,
        args=(first["config"],),
        key="h_load",
        help="sets every control to this run's config",
    )
    if d.button("Re-run", key="h_rerun", help=RERUN_HELP):
        try:
            run_id = rerun(manager, chosen[0], owner)
        except MtlError as exc:
            st.error(str(exc))
        else:
            # The view control is drawn already: app.py applies the pending view before it.
            st.session_state[K.focus] = run_id
            st.session_state[K.pending_view] = V.live
            st.rerun()
    e, f, g = st.columns(3)
    e.download_button(
        "Download curves (CSV)",
        lambda: _csv(manager, chosen),
        file_name="curves.csv",
        mime="text/csv",
        key="h_csv",
    )
    f.download_button(
        "Download config (JSON)",
        json.dumps(first["config"], indent=2),
        file_name=f"run-{chosen[0]}.json",
        mime="application/json",
        key="h_json",
    )
    script_button(g, first, key="h_script")
    if not mine:
        st.caption("Renaming and deleting are for the session that started a run.")
        return
    with st.form("rename"):
        name = st.text_input(f"New name of run #{chosen[0]}", value=first["name"], max_chars=200)
        if st.form_submit_button("Rename") and chosen[0] in mine:
            if not name.strip():  # a blank name left the run "(#1)" in every picker
                st.warning("A run's name cannot be blank: type a name, then press Rename.")
            else:
                manager.store.rename(chosen[0], name)
                st.session_state[DONE] = f"Run #{chosen[0]} is now called {name.strip()!r}."
                st.rerun()
    live_ids = {i for i, s in zip(*st.session_state[CHOSEN], strict=True) if s in LIVE}
    if training := [i for i in mine if i in live_ids]:  # a live run is stopped first
        st.caption(
            f"Delete leaves out {', '.join(f'#{i}' for i in training)}: still training or "
            "queued. Stop it in **Live** first."
        )
    mine = [i for i in mine if i not in live_ids]
    confirmed = mine and st.checkbox(f"Delete {len(mine)} of your selected run(s)", key="h_confirm")
    if confirmed and st.button("Delete for good", type="primary", key="h_delete"):
        manager.store.delete(mine)
        st.session_state[DONE] = f"Deleted {', '.join(f'#{i}' for i in mine)}."
        if st.session_state.get(K.focus) in mine:  # Live keeps a run that was not deleted
            st.session_state.pop(K.focus, None)
        if K.compare in st.session_state:
            st.session_state[K.compare] = [i for i in st.session_state[K.compare] if i not in mine]
        st.rerun()


def _csv(manager: RunManager, run_ids: list[int]) -> str:
    """The selected runs' curves, built only when the user presses the download button."""
    return manager.store.metrics(run_ids).to_csv(index=False)
