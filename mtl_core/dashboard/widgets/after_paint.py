"""A new page shows first and fills in after: the setup is drawn once the browser painted.

Every page load is a new session, and its first script run drew the whole page, the
sidebar's 41 setup controls included, before the browser showed anything: 1.2-1.6 s from
the request to Train visible on a 2-core machine, 0.4-0.8 s above Streamlit's own bare
page. Most of the difference is the browser drawing those controls (a page without them
showed 0.37 s sooner; docs/testing.md). Drawing them in a second script run started right
after the first did not help: the browser took both runs' elements before it painted.

So a session's first script run draws everything but the setup (Train, the presets, the
view), and this small component, drawn last, asks for the next script run once the
browser has painted that page: a trigger sent an animation frame after the component
mounts. Every later script run draws the whole page, so any click before the trigger
(Train works at once: its config is read from session state) brings the setup too, and a
browser that never sends it loses nothing but the wait.
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v2 as components

from mtl_core.dashboard.state import K, new_token

_JS = """
const ASKED = (window.__mtlAfterPaint = window.__mtlAfterPaint || new Set());
export default function (component) {
  const { data, setTriggerValue } = component;
  if (ASKED.has(data.session)) return;
  ASKED.add(data.session);
  // rAF runs just before the frame is painted; the timeout, just after it
  requestAnimationFrame(() => setTimeout(() => setTriggerValue("painted", true), 0));
}
"""

_ask = components.component("mtl_curves.after_paint", html="", js=_JS, isolate_styles=False)


def whole_page() -> bool:
    """Whether this script run draws the whole page: every run of a session but its first
    (call once per script run)."""
    if st.session_state.get(K.drawn_once):
        return True
    st.session_state[K.drawn_once] = new_token()  # names this page to the component
    return False


def ask_for_the_rest() -> None:
    """Draw the component that asks for the next script run once the browser painted this
    one's page: at the end of a first script run (drawn earlier, the rerun it asks for
    would cut the rest of the page short). It asks once per page, however often drawn."""
    session = st.session_state[K.drawn_once]
    with st.sidebar:
        _ask(key="after_paint", data={"session": session}, height=0, on_painted_change=_nothing)


def _nothing() -> None:
    """The trigger's rerun is all it is for."""
