"""Session-state keys, named once, the browser's ownership token, and the address bar.

The token that lets a page pause, stop, rename or delete its runs is a secret: it lives
in an HttpOnly cookie that the launcher (``dashboard/serve.py``) sets on the page load,
never in the URL, so an address bar pasted to a class hands over the setup only.
"""

from __future__ import annotations

import os
import secrets

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx


class K:
    """Keys of ``st.session_state`` that are not controls (controls are ``c_<field>``)."""

    initialised = "initialised"
    after_paint = "after_paint_ask"  # the latest ask for the setup (widgets/after_paint.py)
    setup_drawn = "setup_drawn"  # the sidebar's setup has been drawn in this session
    focus = "focus_run"  # the run the live view shows
    curves = "curves"  # run id -> metrics already read from the store
    notes = "url_notes"  # what was dropped from a malformed URL
    url = "url_written"  # the query the page last put in the address bar (app.sync_url)
    moving = "url_moving"  # a Back or Forward's address, until the page has opened it
    compare = "compare_runs"
    pending_compare = "pending_compare"  # runs to add to the comparison on the next run
    view = "page_view"  # the view shown (a plain key: widgets/view_picker.py says why)
    view_gen = "page_view_gen"  # the view picker's key generation
    pending_view = "pending_view"  # set inside a fragment, applied on the next full run
    train = "train"  # the Train button: True in the script run of its click
    starting = "train_token"  # a Train click's token, until its runs are shown (app.py)
    baselines = "baselines_token"  # [run, token] of a Compare-with-single-task click (live.py)
    first_epoch = "first_epoch_of"  # a run just started: Live waits for its epoch 0 (live.py)
    preset = "preset"
    preset_choice = "preset_choice"  # the Preset box (a lesson opened shows its preset there)
    large = "large_fonts"
    insight = "insight_run"  # the run the Insights view shows
    insight_default = "insight_default"  # the default it last followed (focus / latest)
    tsne = "tsne_requested"  # (run id, features name) pairs whose t-SNE map was asked for
    sweep = "sweep_pick"  # the sweep the Sweeps view shows
    sweep_cache = "sweep_cache"  # what the Sweeps view read (sweep_table.SweepCache)
    owner = "owner_token"  # this session's token when the browser sent no owner cookie


OWNER_COOKIE = "mtl_owner"
OWNER_COOKIE_DAYS = 365  # a reload, or next week's lesson, keeps control of stored runs
# Set by dashboard/serve.py in its process (an environment variable, not a module global:
# Streamlit re-imports the app's modules when a source file changes).
LAUNCHER_ENV = "MTL_DASHBOARD_LAUNCHER"


def write_address(params: dict[str, str]) -> None:
    """Put ``params`` in the address bar (a new entry of the browser's history) and keep
    them as the address the page wrote last: a script run on any other address is the
    browser's Back or Forward (app.follow_history). Every write goes through here, or a
    script run cut short after writing would read its own address as a move."""
    if dict(st.query_params) != params:
        st.query_params.from_dict(params)
    st.session_state[K.url] = dict(params)


def history_move() -> bool:
    """Whether this script run is the browser's Back or Forward: Streamlit's page sends
    the flag with the rerun its history move starts (``ScriptRunContext``)."""
    ctx = get_script_run_ctx()
    return bool(ctx is not None and ctx.is_history_navigation)


def served_by_launcher() -> bool:
    return os.environ.get(LAUNCHER_ENV) == "1"


def valid_token(token: object) -> bool:
    """32 lowercase hex digits (``secrets.token_hex(16)``)."""
    hex_digits = "0123456789abcdef"
    return isinstance(token, str) and len(token) == 32 and all(c in hex_digits for c in token)


def new_token() -> str:
    return secrets.token_hex(16)


def session_token() -> str:
    """This browser's owner token: the cookie, or (no cookie: AppTest, a browser that
    refuses cookies, the page started without the launcher) one per page session, which a
    reload does not keep."""
    token = st.context.cookies.get(OWNER_COOKIE)
    if valid_token(token):
        return token
    if not valid_token(st.session_state.get(K.owner)):
        st.session_state[K.owner] = new_token()
    return st.session_state[K.owner]
