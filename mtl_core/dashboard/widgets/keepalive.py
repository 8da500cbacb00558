"""The page's pulse: a timer in the browser that tells the server the page is open.

Drawn once per script run, it starts (once per browser tab, whatever Streamlit does with
its element afterwards) a JavaScript timer that posts to the launcher's ``mtl/alive``
route every few seconds; the route tells the run managers (mtl_core/dashboard/pulse.py
says why a Streamlit fragment could not do this). The owner travels in its HttpOnly cookie;
only a session without the cookie (a browser that refuses it) sends its per-session token
in the body. It also starts loading Plotly.js (the 1.5 MB cartesian bundle, serve.py) as
soon as the page is drawn, so the first chart does not wait for it: a newcomer's first
click on Train, right after the page showed, drew its first point 1.5-2.1 s after the
click when Plotly.js loaded a second later, 0.8-1.1 s when it loaded at once (the full
4.8 MB bundle had to wait, not to slow the page down). A closed tab stops the timer and,
after MTL_ABANDON_AFTER, its runs; a hidden tab's timer still fires about once a minute,
and keeps them.
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v2 as components

from mtl_core.dashboard import state
from mtl_core.dashboard.widgets.plot import PLOTLY_LOADER_JS

ALIVE_ROUTE = "mtl/alive"  # relative to the page, like the Plotly route (serve.py)

_JS = (
    PLOTLY_LOADER_JS
    + """
export default function (component) {
  const { data } = component;
  const pulse = (window.__mtlPulse = window.__mtlPulse || {});
  if (!pulse.plotly) pulse.plotly = loadPlotly().catch(() => {});  // for the first chart
  pulse.body = JSON.stringify({ owner: data.owner });
  if (pulse.timer && pulse.every === data.every_ms) return;
  clearInterval(pulse.timer);
  pulse.every = data.every_ms;
  const url = new URL(data.route, document.baseURI).href;
  const beat = () =>
    fetch(url, {
      method: "POST", credentials: "same-origin", body: pulse.body,
      headers: { "Content-Type": "application/json" },
    }).catch(() => {});
  beat();
  pulse.timer = setInterval(beat, data.every_ms);
}
"""
)

_pulse = components.component("mtl_curves.pulse", html="", js=_JS, isolate_styles=False)


def pulse_timer(owner: str, every: float) -> None:
    """Start (or retime) this tab's pulse: a beat now and every ``every`` seconds."""
    cookie = state.valid_token(st.context.cookies.get(state.OWNER_COOKIE))
    _pulse(
        key="mtl_pulse",
        data={
            "route": ALIVE_ROUTE,
            "every_ms": int(every * 1000),
            "owner": "" if cookie else owner,
        },
    )
