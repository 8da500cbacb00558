"""Train, when the run is stored already: show the stored run, or train a fresh copy.

Pressing Train twice used to queue an identical duplicate and jump to it. Training is
deterministic (``mtl_core.execution.identity``), so a run identical in config, seeds, data, threads,
device and code version would draw the very same curves, and counted as a second seed
it would narrow every band and interval. So when such a run is stored (finished, or
still training in this session: another student's run in training is theirs to watch,
so a class pressing Train on one setup still gets a run each), Train asks first: *Show the stored run* opens it (with several seeds,
only the missing ones are started), *Train a fresh copy* trains anyway. Either way the
stored run keeps its owner. ``train_or_offer`` wraps the sidebar's Train button.

``remember_reuse`` and ``reuse_notes`` carry the one line "Reused ... instead of training
again" from a button that opens a comparison (Live's *Compare with single-task*) to the
Compare view, and name a reused run of that comparison that its owner deleted.
"""

from __future__ import annotations

import logging

import streamlit as st

from mtl_core.analysis.overview import short_config
from mtl_core.config import RunConfig
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.errors import MtlError
from mtl_core.execution.identity import config_text, deleted_notes, reuse_line
from mtl_core.store.runs import LIVE
from mtl_core.studies.replicates import seed_configs, seed_name

OFFER = "identical_offer"  # the pending offer: {"key", "found"} (see ``train_or_offer``)
FRESH = "identical_fresh"  # "Train a fresh copy" was pressed
REUSED = "identical_reused"  # {"ids", "line"}: the last comparison opened with reused runs


def _wanted(config: RunConfig, k: int, vary_data: bool) -> list[RunConfig]:
    return [config] if k == 1 else seed_configs(config, k, vary_data)


def _offer_key(config: RunConfig, k: int, vary_data: bool) -> str:
    return f"{config_text(config)}|{k}|{vary_data and k > 1}"


def _show(
    manager: RunManager,
    owner: str,
    config: RunConfig,
    k: int,
    vary_data: bool,
    found: list[int | None],
) -> None:
    """Open the stored run (Live), or the K seeds (Compare), starting the missing ones."""
    st.session_state.pop(OFFER, None)
    if k == 1:
        st.session_state[K.focus] = found[0]
        st.session_state[K.view] = V.live
        return
    configs = _wanted(config, k, vary_data)
    label = short_config(config.to_dict())
    try:
        ids, _ = manager.start_missing(
            configs, owner=owner, names=[seed_name(label, c, vary_data) for c in configs]
        )
    except MtlError as exc:
        st.session_state[OFFER + "_error"] = str(exc)
        return
    st.session_state[K.focus] = ids[0]
    st.session_state[K.compare] = ids
    st.session_state[K.view] = V.compare


def _describe(manager: RunManager, found: list[int | None]) -> str:
    ids = [i for i in found if i is not None]
    statuses = {i: manager.store.get_run(i)["status"] for i in ids}
    training = [i for i in ids if statuses[i] in LIVE]
    if len(found) == 1:
        state = "is training now" if training else "has finished"
        return (
            f"Run #{ids[0]} is identical to this one and {state}: a fresh copy would "
            "draw the same curves."
        )
    names = ", ".join(f"#{i}" for i in ids)
    stored = "is stored as an identical run" if len(ids) == 1 else "are stored as identical runs"
    return (
        f"{len(ids)} of the {len(found)} seeds {stored} ({names}"
        f"{', some still training' if training else ''}): fresh copies would draw the "
        "same curves."
    )


def show_label(found: list[int | None]) -> str:
    """The offer's first button says all it does: it also trains the seeds not stored (it
    read "Show the stored runs" and started two new ones)."""
    stored = sum(i is not None for i in found)
    if stored == len(found):
        return "Show the stored runs" if stored > 1 else "Show the stored run"
    missing = len(found) - stored
    return f"Show the {stored} stored, train the {missing} missing"


IDENTICAL = (
    "Identical: the same config and seeds, data, torch threads, device and code "
    "version. Training is deterministic, so the curves would match."
)


def train_or_offer(
    manager: RunManager,
    owner: str,
    config: RunConfig | None,
    k: int,
    vary_data: bool,
    clicked: bool,
    where=None,
) -> bool:
    """Whether to train now: Train was ``clicked`` and no identical run is stored, or
    "Train a fresh copy" was pressed. When Train finds identical runs, it offers them
    instead, drawn in ``where`` (right under Train, so the answer to a click is where the
    click was; the sidebar when not given) until answered, or until the setup changes."""
    where = where or st.sidebar
    error = st.session_state.pop(OFFER + "_error", None)
    if error:
        where.error(error)
    if st.session_state.pop(FRESH, False):  # "Train a fresh copy" (its callback ran first)
        return config is not None
    if config is None:
        st.session_state.pop(OFFER, None)
        return False
    key = _offer_key(config, k, vary_data)
    if clicked:
        try:
            found = manager.identical(_wanted(config, k, vary_data), owner=owner)
        except MtlError as exc:  # the store could not be read: train as before
            logging.getLogger("mtl_curves").warning("identical-run check skipped: %s", exc)
            found = []
        if not any(i is not None for i in found):
            st.session_state.pop(OFFER, None)
            return True
        st.session_state[OFFER] = {"key": key, "found": found}
    offer = st.session_state.get(OFFER)
    if offer is None:
        return False
    if offer["key"] != key:  # the setup changed since: the question no longer stands
        st.session_state.pop(OFFER, None)
        return False
    found = offer["found"]
    try:
        text = _describe(manager, found)
    except MtlError:  # a stored run was deleted meanwhile: the next Train asks afresh
        st.session_state.pop(OFFER, None)
        return False
    where.info(text)
    where.caption(IDENTICAL)
    several = len(found) > 1
    a = b = where  # one above the other: side by side, the sidebar cut their labels short
    a.button(
        show_label(found),
        key="twin_show",
        width="stretch",
        on_click=_show,
        args=(manager, owner, config, k, vary_data, found),
        help="open the stored run"
        + ("s in Compare, starting only the missing seeds" if several else " in Live"),
    )
    b.button(
        "Train fresh copies" if several else "Train a fresh copy",
        key="twin_fresh",
        width="stretch",
        on_click=_fresh,
        help="train anyway (identical runs count once in comparisons)",
    )
    return False


def _fresh() -> None:
    st.session_state.pop(OFFER, None)
    st.session_state[FRESH] = True


def remember_reuse(ids: list[int], reused: list[int], what: str = "single-task run") -> None:
    """The comparison of ``ids`` is being opened; ``reused`` of them were stored already."""
    st.session_state[REUSED] = {
        "ids": [int(i) for i in ids],
        "reused": [int(i) for i in reused],
        "line": reuse_line(reused, what),
    }


def reuse_notes(shown: list[int], existing: list[int]) -> tuple[str, list[str]]:
    """While Compare shows the comparison ``remember_reuse`` recorded (the runs of it that
    still exist): its reuse line, and a note per reused run that was deleted."""
    record = st.session_state.get(REUSED)
    if not record:
        return "", []
    present = {int(i) for i in existing}
    if set(map(int, shown)) != {i for i in record["ids"] if i in present}:
        return "", []
    gone = deleted_notes(record["reused"], present)
    return ("" if gone else record["line"]), gone
