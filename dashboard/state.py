"""Session-state keys, named once, and the browser session's ownership token."""

from __future__ import annotations

import secrets

import streamlit as st


class K:
    """Keys of ``st.session_state`` that are not controls (controls are ``c_<field>``)."""

    initialised = "initialised"
    focus = "focus_run"  # the run the live view shows
    curves = "curves"  # run id -> metrics already read from the store
    notes = "url_notes"  # what was dropped from a malformed URL
    compare = "compare_runs"
    pending_compare = "pending_compare"  # runs to add to the comparison on the next run
    view = "page_view"
    pending_view = "pending_view"  # set inside a fragment, applied on the next full run
    preset = "preset"
    large = "large_fonts"
    insight = "insight_run"  # the run the Insights view shows
    insight_default = "insight_default"  # the default it last followed (focus / latest)
    tsne = "tsne_requested"  # (run id, features name) pairs whose t-SNE map was asked for
    sweep = "sweep_pick"  # the sweep the Sweeps view shows
    sweep_cache = "sweep_cache"  # what the Sweeps view read from the store (sweeps.SweepCache)


def session_token() -> str:
    """A random token in the URL: a reload keeps control of the runs it started.

    Anyone holding the full URL can steer those runs, so share links leave it out.
    """
    token = st.query_params.get("session", "")
    if len(token) != 16 or not all(c in "0123456789abcdef" for c in token):
        token = secrets.token_hex(8)
        st.query_params["session"] = token
    return token
