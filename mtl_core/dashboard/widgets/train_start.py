"""How a Train click starts its runs: declared once, used early by the click's callback and
by its script run.

Why early: Streamlit runs a button's callback before the script body, with the session's
control values already set. A plain click (one seed, no stored identical run, within the
limits, no other control changed with it) starts its run there, so the worker trains
epoch 0 while the script draws the sidebar's widgets (about 13 ms of a warm click's
script run here) and the page's head, and Live seldom waits for it (``bench/bench_ui.py``,
docs/testing.md). Every other click (several seeds, an identical run to offer, a limit to
name, a control changed in the same request, a config that does not validate) is left to
the script run, which draws the sidebar first and says what it found where the click was
(``identical.train_or_offer``).
"""

from __future__ import annotations

import secrets

import streamlit as st

from mtl_core.analysis.overview import short_config
from mtl_core.config import RunConfig
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets import control_state
from mtl_core.errors import ConfigError, MtlError
from mtl_core.studies.replicates import seed_configs, seed_name

EARLY = "train_started_early"  # the click's runs started in its callback (app.train_button)


def start_runs(
    manager: RunManager, owner: str, config: RunConfig, k: int, vary_data: bool
) -> int | None:
    """Start ``config`` once per seed (``k``; ``vary_data`` moves the data seed too); the
    run's id when ``k`` is 1. The click's token goes into the session before any run
    starts: a script run cut short finds the runs again (``app.show_started``). A
    refusal (a server limit) is raised as ``MtlError``."""
    token = st.session_state[K.starting] = secrets.token_hex(8)
    if k == 1:
        return manager.start(config, owner=owner, token=token)
    configs = seed_configs(config, k, vary_data)
    label = short_config(config.to_dict())
    names = [seed_name(label, c, vary_data) for c in configs]
    manager.start_many(configs, owner=owner, names=names, token=token)
    return None


def start_early(manager: RunManager, owner: str) -> None:
    """Train's ``on_click``: start a plain click's run before the script body (see the
    module's doc); otherwise leave the click to the script run."""
    if not control_state.unchanged_since_drawn():
        return
    try:
        config = control_state.config_from_state()
    except ConfigError:
        return
    if int(st.session_state.get(control_state.key("seeds"), 1)) != 1:
        return
    try:
        if any(i is not None for i in manager.identical([config], owner=owner)):
            return
        start_runs(manager, owner, config, 1, False)  # refused over a limit: MtlError
    except MtlError:  # the store could not be read, or a limit: the script run says why
        st.session_state.pop(K.starting, None)
        return
    st.session_state[EARLY] = True  # the script run shows the run (app.show_started)
