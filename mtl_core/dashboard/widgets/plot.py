"""A Plotly chart that keeps the user's zoom while live data keeps arriving.

``st.plotly_chart`` in the pinned Streamlit (1.67) redraws a changed figure from
scratch, so every live refresh reset the zoom, whatever ``layout.uirevision`` said
(checked in a browser: tests/e2e). This small component draws with ``Plotly.react`` into
a div it keeps, and remembers the axis ranges the user chose (per chart key, in the
page), so a redraw with new epochs keeps them until a double-click resets the view.
Plotly.js is the copy shipped inside the ``plotly`` package, served by the launcher's own
route (dashboard/serve.py): nothing is written into the checkout.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit.components.v2 as components

# Plotly.js, loaded once per tab (the launcher serves it, serve.py): the chart waits for
# it, and the page's pulse (keepalive.py) starts it early, so a first chart need not.
PLOTLY_LOADER_JS = """
function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!window.__mtlPlotly) {
    window.__mtlPlotly = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = new URL("mtl/plotly.min.js", document.baseURI).href;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { delete window.__mtlPlotly; reject(); };
      document.head.appendChild(s);
    });
  }
  return window.__mtlPlotly;
}
"""

_JS = (
    """
const ZOOM = (window.__mtlZoom = window.__mtlZoom || {});
"""
    + PLOTLY_LOADER_JS
    + """
export default function (component) {
  const { data, parentElement } = component;
  let div = parentElement.querySelector(".mtl-plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "mtl-plot";
    parentElement.appendChild(div);
  }
  const fig = JSON.parse(data.figure);
  const saved = ZOOM[data.key] || {};
  Object.assign(fig.layout, saved);
  loadPlotly().catch(() => {
    div.textContent = "The chart library (Plotly.js) did not load: start the dashboard " +
      "with `make dashboard` (streamlit run dashboard/serve.py), then reload the page.";
    return new Promise(() => {});
  }).then((Plotly) => {
    Plotly.react(div, fig.data, fig.layout, data.config).then(() => {
      if (div.__mtlListening) return;
      div.__mtlListening = true;
      div.on("plotly_relayout", (ev) => {
        const zoom = (ZOOM[data.key] = ZOOM[data.key] || {});
        for (const [name, value] of Object.entries(ev)) {
          const m = name.match(/^([xy]axis\\d*)\\.(range\\[[01]\\]|autorange)$/);
          if (!m) continue;
          const axis = (zoom[m[1]] = zoom[m[1]] || {});
          if (m[2] === "autorange") { delete zoom[m[1]]; continue; }
          const r = (axis.range = axis.range || [null, null]);
          r[m[2] === "range[0]" ? 0 : 1] = value;
          axis.autorange = false;
        }
      });
    });
  });
}
"""
)

_chart = components.component("mtl_curves.chart", html="", js=_JS, isolate_styles=False)


def chart(fig: go.Figure, key: str) -> None:
    """Draw ``fig``; the user's zoom on it survives redraws with the same ``key``."""
    config = {
        "displaylogo": False,
        "responsive": True,
        "toImageButtonOptions": {"format": "png", "filename": key},
    }
    _chart(
        key=key,
        data={"figure": fig.to_json(), "key": key, "config": config},
        height=int(fig.layout.height or 420),
    )
