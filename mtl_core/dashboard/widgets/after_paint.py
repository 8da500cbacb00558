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
mounts. Every later script run draws the whole page, so any other click before the
trigger brings the setup too, and a browser that never sends it loses only the wait.

Train works from the first script run (its config is read from session state). Pressed
as soon as it showed, it met the setup's drawing twice over: the trigger, sent after the
click, cut the click's script run short (its first point came from a later poll, 1.02 s
after the click), and the click's own run drew the 41 controls while the browser also
compiled Plotly.js for the chart (1.36 s). So the ask waits for Plotly.js, and for a
second without a click or key from the viewer; it is dropped once a later script run has
drawn the page without it. A Train click that comes before the setup was ever drawn
leaves the setup out too and asks anew: its run shows first, the setup after. An input
that starts no script run (Copy share link, a touch that scrolls) only delays the ask: a
first version dropped it then, and the setup never came.
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v2 as components

from mtl_core.dashboard.state import K, new_token
from mtl_core.dashboard.widgets.plot import PLOTLY_LOADER_JS

QUIET_MS = 1000  # after the viewer's last click or key, before the ask is sent

_JS = (
    PLOTLY_LOADER_JS
    + f"const QUIET_MS = {QUIET_MS};"
    + """
const ASKS = (window.__mtlAfterPaint = window.__mtlAfterPaint || { sent: new Set(), latest: null });
const INPUTS = ["pointerdown", "keydown"];
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  ASKS.latest = data.session;
  if (ASKS.sent.has(data.session)) return;
  ASKS.sent.add(data.session);
  let last = -Infinity;  // the viewer's last click or key
  const acted = () => (last = performance.now());
  for (const ev of INPUTS) window.addEventListener(ev, acted, { capture: true });
  const done = () => { for (const ev of INPUTS) window.removeEventListener(ev, acted, { capture: true }); };
  const ask = () => {
    // a later script run drew the page without this ask (the setup with it), or asks anew
    if (ASKS.latest !== data.session || !parentElement.isConnected) return done();
    const wait = last + QUIET_MS - performance.now();
    if (wait > 0) return void setTimeout(ask, wait);  // the viewer's own run goes first
    done();
    setTriggerValue("painted", true);
  };
  // Plotly.js first (the first chart needs it), then a frame: rAF runs just before the
  // frame is painted, the timeout just after it
  const painted = () => requestAnimationFrame(() => setTimeout(ask, 0));
  loadPlotly().then(painted, painted);
}
"""
)

_ask = components.component("mtl_curves.after_paint", html="", js=_JS, isolate_styles=False)


def whole_page() -> bool:
    """Whether this script run draws the whole page (call once per script run): not in a
    session's first, nor in the run of a Train click that came before the setup was ever
    drawn (the run it starts shows first: its first point waited for the setup's drawing
    and Plotly.js, 1.36 s after the click; the setup follows once that page is painted)."""
    s = st.session_state
    if s.get(K.setup_drawn):
        return True
    if K.after_paint in s and not s.get(K.train):
        s[K.setup_drawn] = True
        return True
    s[K.after_paint] = new_token()  # names this ask to the component
    return False


def ask_for_the_rest() -> None:
    """Draw the component that asks for the next script run once the browser painted this
    one's page: at the end of a script run that left the setup out (drawn earlier, the
    rerun it asks for would cut the rest of the page short). It asks once, however often
    the same ask is drawn."""
    session = st.session_state[K.after_paint]
    with st.sidebar:
        _ask(key="after_paint", data={"session": session}, height=0, on_painted_change=_nothing)


def _nothing() -> None:
    """The trigger's rerun is all it is for."""
