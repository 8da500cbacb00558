"""History: every stored run, from any session or the CLI; rename, delete, download, reload."""

from __future__ import annotations

import json

import streamlit as st

from mtl_core.config import from_dict
from mtl_core.errors import MtlError
from mtl_core.overview import runs_overview
from mtl_core.store import LIVE

from . import controls
from .runs import RunManager
from .state import K


def _load_config(config: dict) -> None:
    try:
        controls.load_into_state(from_dict(config))
    except MtlError as exc:
        st.session_state[K.notes] = [f"could not load that config ({exc})"]


def _show(run_id: int) -> None:
    st.session_state[K.focus] = run_id
    st.session_state[K.view] = "Live"


def _compare(run_ids: list[int]) -> None:
    st.session_state[K.compare] = run_ids
    st.session_state[K.view] = "Compare"


def rerun(manager: RunManager, run_id: int, owner: str) -> int:
    """A new run from a stored run's config (e.g. one interrupted by a crash)."""
    run = manager.store.get_run(run_id)
    return manager.start(from_dict(run["config"]), owner=owner, name=f"{run['name']} (re-run)")


def history_view(manager: RunManager, owner: str) -> None:
    runs = manager.store.runs()
    if runs.empty:
        st.info("No runs yet. Press **Train** in the sidebar.")
        return
    table = runs_overview(runs)
    table.insert(1, "yours", runs.owner.eq(owner).map({True: "✓", False: ""}))
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="multi-row",
                         key="history_table", width="stretch")  # fmt: skip
    chosen = [int(table.id.iloc[i]) for i in event.selection.rows]
    if not chosen:
        st.caption("Select rows to show, compare, reload, download, rename or delete runs.")
        return
    first = manager.store.get_run(chosen[0])
    a, b, c, d = st.columns(4)
    a.button("Show curves", on_click=_show, args=(chosen[0],), key="h_show")
    b.button("Compare selected", on_click=_compare, args=(chosen,), key="h_compare")
    c.button("Load config into controls", on_click=_load_config, args=(first["config"],),
             key="h_load", help="sets every control to this run's config")  # fmt: skip
    if d.button("Re-run", key="h_rerun", help="train the same config again as a new run"):
        try:
            _show(rerun(manager, chosen[0], owner))
            st.rerun()
        except MtlError as exc:
            st.error(str(exc))
    csv = manager.store.metrics(chosen).to_csv(index=False)
    e, f = st.columns(2)
    e.download_button("Download curves (CSV)", csv, file_name="curves.csv", mime="text/csv",
                      key="h_csv")  # fmt: skip
    f.download_button("Download config (JSON)", json.dumps(first["config"], indent=2),
                      file_name=f"run-{chosen[0]}.json", mime="application/json", key="h_json")  # fmt: skip
    mine = [i for i in chosen if manager.owns(i, owner)]
    if not mine:
        st.caption("Renaming and deleting are for the session that started a run.")
        return
    live = set(runs.id[runs.status.isin(LIVE)])
    with st.form("rename"):
        name = st.text_input("New name", value=first["name"], max_chars=200)
        if st.form_submit_button("Rename") and chosen[0] in mine:
            manager.store.rename(chosen[0], name)
            st.rerun()
    mine = [i for i in mine if i not in live]  # stop a live run before deleting it
    confirmed = mine and st.checkbox(f"Delete {len(mine)} of your selected run(s)", key="h_confirm")
    if confirmed and st.button("Delete for good", type="primary", key="h_delete"):
        manager.store.delete(mine)
        st.session_state.pop(K.focus, None)
        st.rerun()
