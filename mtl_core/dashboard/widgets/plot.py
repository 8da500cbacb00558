"""A Plotly chart that keeps the user's zoom while live data keeps arriving.

``st.plotly_chart`` in the pinned Streamlit (1.67) redraws a changed figure from
scratch, so every live refresh reset the zoom, whatever ``layout.uirevision`` said
(checked in a browser: tests/e2e). This small component draws with ``Plotly.react`` into
a div it keeps, and remembers the axis ranges the user chose (per chart key, in the
page, and per figure ``uirevision``: a Live chart's next run starts afresh), so a redraw
with new epochs keeps them until a double-click resets the view.
Plotly.js is the page's own cartesian bundle (``mtl_core/dashboard/static/``), served by
the launcher's own route (dashboard/serve.py): nothing is written into the checkout.
"""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial

import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v2 as components

from mtl_core.analysis.cards import FIRST_SHOWN
from mtl_core.dashboard.feed import FEED_ROUTE
from mtl_core.dashboard.figures.curves import FEW_EPOCHS

FIRST_POINT_POLL = 0.1  # s between a fed chart's asks while its training run has no point
FEED_EVENT = "mtl-feed"  # the page event carrying each of the feed's answers (progress.py)
HELD = "held_chart_{key}"  # session state: the fed figure the tab holds for a chart (held)

# How an element follows the feed's answers (the progress line, the cards): one listener
# per element. Streamlit calls a component's function again with each redraw's data but
# runs the cleanup it returns only when the element goes, so a listener added per call
# piled up, each with the data of its own redraw.
FEED_LISTENER_JS = (
    f"const FEED_EVENT = {FEED_EVENT!r};"
    + """
function onFeed(el, fed) {
  if (el.__mtlFed) window.removeEventListener(FEED_EVENT, el.__mtlFed);
  el.__mtlFed = fed;
  window.addEventListener(FEED_EVENT, fed);
  return () => window.removeEventListener(FEED_EVENT, el.__mtlFed);
}
"""
)

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

# A live chart's feed (mtl_core/dashboard/feed.py): between the page's redraws, the chart
# asks the launcher's route for the epochs after the last one it drew and appends them to
# the curves whose ``meta.feed`` names them (task, split, metric), continuing their
# smoothing (an exponential average after n points weighs 1 - s^n), and moves a task's
# star (``meta.star``) to a new lowest validation loss. Ticks keep their pace (the next
# one is due ``every`` after the last began, not after it ended), quicker while a training
# run has drawn nothing yet. It stops when the run is
# no longer live, when the page draws the chart anew, and when the element goes. Each
# answer goes to the page as a FEED_EVENT (the progress line moves on with it,
# widgets/progress.py); one whose status is not the one the page drew triggers the panel
# around the chart to redraw (``_redraw``). ``div.__mtlFed`` counts the points it appended
# since the page last sent the chart a figure (the browser tests read it).
FEED_JS = """
const TYPED = { i1: Int8Array, u1: Uint8Array, i2: Int16Array, u2: Uint16Array,
                i4: Int32Array, u4: Uint32Array, f4: Float32Array, f8: Float64Array };
function plainArray(v) {  // plotly.py sends numeric arrays as {dtype, bdata}: extendTraces needs arrays
  if (!v || !v.bdata || !TYPED[v.dtype]) return v;
  const bin = atob(v.bdata);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return Array.from(new TYPED[v.dtype](bytes.buffer));
}
function fed(fig) {
  for (const tr of fig.data) {
    if (!tr.meta || !(tr.meta.feed || tr.meta.star)) continue;
    for (const k of ["x", "y", "customdata"]) tr[k] = plainArray(tr[k]) || [];
  }
}
function xOf(curves, axis, epoch) {
  if (axis === "epoch") return epoch;
  if (epoch === 0) return 0;
  for (const split of Object.values((curves || {})._run || {})) {
    const got = split[axis];
    if (got) { const k = got[0].indexOf(epoch); if (k >= 0) return got[1][k]; }
  }
  return null;
}
function curveOf(curves, task, split, metric) {
  return ((curves[task] || {})[split] || {})[metric];
}
function moveStar(tr, curves, feed) {  // the first lowest validation loss, as the page finds it
  const [task, shown] = tr.meta.star;
  const losses = curveOf(curves, task, "val", "loss");
  if (!losses) return;
  let [epoch, best] = tr.meta.best;
  losses[0].forEach((e, k) => {  // none before the cards' first epoch (analysis/cards.py)
    const v = losses[1][k];
    if (e >= feed.first_shown && v !== null && (best === null || v < best)) { epoch = e; best = v; }
  });
  if (epoch === tr.meta.best[0]) return;
  const values = curveOf(curves, task, "val", shown);
  const k = values ? values[0].indexOf(epoch) : -1;
  if (k < 0) return;
  tr.meta.best = [epoch, best];
  tr.x = [xOf(curves, feed.x_axis, epoch)];
  tr.y = [values[1][k]];
  tr.name = "best epoch " + epoch;
  tr.hovertemplate = tr.hovertemplate.replace(/epoch [0-9A-Za-z]+/, "epoch " + epoch);
}
function startFeed(Plotly, div, feed) {
  const me = (div.__mtlFeed = { stopped: false });
  const url = new URL(feed.route, document.baseURI);
  const step = async () => {
    const began = (div.__mtlAsked = performance.now());
    if (me.stopped) return;
    const traces = (div.data || []).map((tr, i) => [tr, i]).filter(([tr]) => tr.meta && tr.meta.feed);
    const lastOf = (tr) => (tr.customdata.length ? tr.customdata[tr.customdata.length - 1] : -1);
    const after = Math.min(...traces.map(([tr]) => lastOf(tr)));
    let body = null;
    try {
      url.search = new URLSearchParams({ run: feed.run, after: after }).toString();
      const res = await fetch(url, { cache: "no-store", credentials: "same-origin" });
      if (res.ok) body = await res.json();
      else if (res.status === 404 || res.status === 400) me.stopped = true;
    } catch (e) { /* the server restarts or the network hiccups: try again later */ }
    if (me.stopped || div.__mtlFeed !== me) return;
    if (body) {
      window.dispatchEvent(new CustomEvent(FEED_EVENT, { detail: { run: feed.run, body } }));
      if (body.status !== div.__mtlStatus && me.told !== body.status) {
        me.told = body.status;  // the page drew another status: its panel redraws now
        div.__mtlTrigger("status", body.status);
      }
      const upd = { x: [], y: [], customdata: [] };
      const which = [];
      let top = -1;
      for (const [tr, i] of traces) {
        const got = curveOf(body.curves, ...tr.meta.feed);
        if (!got) continue;
        const s = tr.meta.smoothing || 0;
        const n = tr.customdata.length;
        let weight = 1 - Math.pow(s, n);
        let avg = n ? tr.y[n - 1] * weight : 0;
        const last = lastOf(tr);
        const xs = [], ys = [], cs = [];
        got[0].forEach((epoch, k) => {
          if (epoch <= last) return;
          let v = got[1][k];
          if (s > 0 && v !== null) {
            avg = s * avg + (1 - s) * v;
            weight = s * weight + (1 - s);
            v = avg / weight;
          }
          xs.push(xOf(body.curves, feed.x_axis, epoch)); ys.push(v); cs.push(epoch);
          top = Math.max(top, epoch);
        });
        if (cs.length) { upd.x.push(xs); upd.y.push(ys); upd.customdata.push(cs); which.push(i); }
      }
      if (which.length) {
        for (const tr of div.data) if (tr.meta && tr.meta.star) moveStar(tr, body.curves, feed);
        div.__mtlFed = (div.__mtlFed || 0) + upd.x.reduce((n, xs) => n + xs.length, 0);
        await Plotly.extendTraces(div, upd, which);
        if (top > feed.few_epochs) {  // one tick per epoch only while there are few
          const relax = {};
          for (const [name, axis] of Object.entries(div.layout)) {
            if (/^xaxis\\d*$/.test(name) && axis && axis.dtick === 1) relax[name + ".dtick"] = null;
          }
          if (Object.keys(relax).length) await Plotly.relayout(div, relax);
        }
      }
      if (!body.live) { me.stopped = true; return; }
    }
    // A run that trains but has drawn nothing yet is asked again soon: its first point
    // is the one a user waits for after pressing Train.
    const waiting = body && body.status === "running" && empty();
    const every = waiting ? feed.first_ms : feed.every_ms;
    if (!me.stopped) me.timer = setTimeout(step, Math.max(0, every - (performance.now() - began)));
  };
  const empty = () => (div.data || []).every((tr) => !(tr.meta && tr.meta.feed) || !tr.customdata.length);
  // A figure drawn anew keeps the pace of the feed it replaces: its first ask is due
  // ``every`` after that feed's last one, not after the (slow) redraw.
  const since = div.__mtlAsked === undefined ? 0 : performance.now() - div.__mtlAsked;
  me.timer = setTimeout(step, empty() ? feed.first_ms : Math.max(0, feed.every_ms - since));
  return () => { me.stopped = true; clearTimeout(me.timer); };
}
"""

_JS = (
    f"const FEED_EVENT = {FEED_EVENT!r};"
    + """
const ZOOM = (window.__mtlZoom = window.__mtlZoom || {});
const FIGS = (window.__mtlFigs = window.__mtlFigs || {});  // a fed chart's figure, per key
"""
    + PLOTLY_LOADER_JS
    + FEED_JS
    + """
export default function (component) {
  const { data, parentElement } = component;
  let div = parentElement.querySelector(".mtl-plot");
  if (!div) {
    div = document.createElement("div");
    div.className = "mtl-plot";
    parentElement.appendChild(div);
  }
  div.__mtlTrigger = component.setTriggerValue;
  if (data.feed) div.__mtlStatus = data.feed.status;
  let fig = FIGS[data.key];
  if (data.figure !== null) {
    fig = JSON.parse(data.figure);
    div.__mtlFed = 0;  // counts what the feed appends to this figure
    if (data.feed) { fed(fig); FIGS[data.key] = fig; } else delete FIGS[data.key];
  } else if (div.__mtlFig === fig && div.__mtlFeed && !div.__mtlFeed.stopped) {
    return () => {};  // the same figure, still fed: nothing to redraw
  }
  if (!fig) {  // a held figure this tab no longer has (chart below): the page sends it
    if (data.feed) component.setTriggerValue("lost", Date.now());
    return () => {};
  }
  if (div.__mtlFeed) { div.__mtlFeed.stopped = true; clearTimeout(div.__mtlFeed.timer); }
  // The zoom belongs to the figure's uirevision too: another run's starts afresh.
  div.__mtlZoomKey = data.key + "|" + String(fig.layout.uirevision ?? "");
  const saved = ZOOM[div.__mtlZoomKey] || {};
  Object.assign(fig.layout, saved);
  let stop = () => {};
  let gone = false;
  loadPlotly().catch(() => {
    div.textContent = "The chart library (Plotly.js) did not load: start the dashboard " +
      "with `make dashboard` (streamlit run dashboard/serve.py), then reload the page.";
    return new Promise(() => {});
  }).then((Plotly) => {
    Plotly.react(div, fig.data, fig.layout, data.config).then(() => {
      div.__mtlFig = fig;
      if (data.feed && !gone) stop = startFeed(Plotly, div, data.feed);
      if (div.__mtlListening) return;
      div.__mtlListening = true;
      div.on("plotly_relayout", (ev) => {
        const zoom = (ZOOM[div.__mtlZoomKey] = ZOOM[div.__mtlZoomKey] || {});
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
  return () => { gone = true; stop(); };
}
"""
)

_chart = components.component("mtl_curves.chart", html="", js=_JS, isolate_styles=False)


def chart(
    fig: go.Figure | None,
    key: str,
    feed: dict | None = None,
    height: int = 420,
    look: Hashable = None,
) -> None:
    """Draw ``fig``; the user's zoom on it survives redraws with the same ``key``.

    ``feed`` (``live_feed``): the chart appends the run's new epochs itself (its curves say
    which they are: ``curves_figure(feed=True)``). A fed chart may then be drawn again with
    ``fig`` None and its ``height``: it keeps the figure it holds, and keeps feeding it, so
    a page's redraw need neither rebuild nor re-send it. ``look``: what the fed figure was
    drawn from, but its epochs (``held`` finds it again)."""
    config = {
        "displaylogo": False,
        "responsive": True,
        "toImageButtonOptions": {"format": "png", "filename": key},
    }
    if fig is not None:
        height = int(fig.layout.height or 420)
        if feed is not None and look is not None:
            st.session_state[HELD.format(key=key)] = {"look": look, "height": height}
        else:
            st.session_state.pop(HELD.format(key=key), None)
    _chart(
        key=key,
        data={
            "figure": None if fig is None else fig.to_json(),
            "key": key,
            "config": config,
            "feed": feed,
        },
        height=height,
        on_status_change=_redraw,
        on_lost_change=partial(_lost, key),
    )


def held(key: str, look: Hashable) -> int | None:
    """The height of the fed chart ``key`` when the browser holds one drawn from ``look``;
    None when the page must send a figure.

    Why: a page's full rerun (any control changed while a run trains) sent the live
    chart's whole figure again, and the browser drew it anew with ``Plotly.react``, points
    the feed had already drawn. On a classroom server that redraw held a page's main
    thread for about a second, and its feed started over a whole ``every`` after it: the
    largest gap between its live points (bench/bench_class.py). The figure a tab holds
    lives on in the tab (``FIGS``) when its element goes, e.g. while another view shows,
    so the look is enough; a tab that lacks it says so (the ``lost`` trigger, ``_lost``)."""
    got = st.session_state.get(HELD.format(key=key))
    return got["height"] if got and got["look"] == look else None


def _lost(key: str) -> None:
    """The tab has no figure for the chart ``key`` the page thought it held: the trigger
    reruns the panel around it, which now sends one."""
    st.session_state.pop(HELD.format(key=key), None)


def _redraw() -> None:
    """The fed chart saw its run's status change (it started, paused or ended): the
    trigger alone reruns the panel around the chart (a fragment) at once, which then draws
    the new status, its buttons and, once the run has ended, the whole page."""


def live_feed(run_id: int, status: str, every: float, x_axis: str) -> dict:
    """What a live chart needs to read its run's new epochs: the route, the run and the
    status the page drew (another one in the feed's answer redraws the panel), how often
    (seconds; every FIRST_POINT_POLL until a training run's first point) and the x axis
    the figure uses."""
    return {
        "route": FEED_ROUTE,
        "run": int(run_id),
        "status": str(status),
        "every_ms": round(every * 1000),
        "first_ms": round(min(every, FIRST_POINT_POLL) * 1000),
        "x_axis": x_axis,
        "few_epochs": FEW_EPOCHS,
        "first_shown": FIRST_SHOWN,
    }
