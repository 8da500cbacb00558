"""A run's progress line that keeps up with its live chart between the page's redraws.

Why: the Live view's chart appends each new epoch itself (its feed, ``widgets/plot.py``),
but the line above it ("running · epoch 23/150 · 4.1 s · about 22 s left") was a
``st.progress`` redrawn only with the panel around it, so it trailed the chart by up to
a panel interval; and redrawing that panel every second is what a crowd of pages cannot
afford (each redraw cost the browser about 0.2 s, feed.py). This line is drawn from the
numbers the page read (``progress_line``) and then moved on by the chart's feed: each
answer the feed gets is passed to the page as an event (``FEED_EVENT``, declared by the
chart that sends it), and the line adds the wall times of the epochs it had not counted
yet. The panel can then redraw at its own, slower pace (``Limits.live_panel_every``).

The status word is the page's alone. The feed sees a run end (or pause) before the panel
does, and the line used to say "completed" 0.2-0.3 s before the panel took Pause and Stop
away and filled in the test scores; now the feed moves the epochs and the time, and the
status changes with the panel's redraw, which the feed asks for at once (``plot.py``).
The Live view writes this line last in its panel, in a slot above the buttons
(``pages/live.py``), so the new status reaches the browser after the buttons and cards
that go with it.

The text and the time-left estimate are written here once, in the browser: the elapsed
time is the sum of the stored per-epoch wall times (a pause adds nothing), the estimate
the mean epoch time times the epochs still to go, shown while the run trains (a paused
run's line counted down time it was not spending).
"""

from __future__ import annotations

import streamlit.components.v2 as components

from mtl_core.dashboard.widgets.plot import FEED_LISTENER_JS
from mtl_core.store.schema import LIVE, Status

_JS = (
    FEED_LISTENER_JS
    + """
// ``counted``: the last epoch whose wall time ``elapsed`` holds (-1: none yet); the line
// shows epoch 0 until one is stored. When one number stood for both, a line drawn before
// epoch 0 was stored skipped epoch 0's time once the feed brought it.
const shown = (p) => Math.max(p.counted, 0);
function text(p) {
  const done = shown(p);
  let t = `${p.status} · epoch ${done}/${p.planned} · ${p.elapsed.toFixed(1)} s`;
  if (p.status === p.running && done > 0) {  // paused or queued: no countdown
    t += ` · about ${(p.elapsed / done * (p.planned - done)).toFixed(0)} s left`;
  }
  return t;
}
export default function (component) {
  const { data, parentElement } = component;
  let el = parentElement.querySelector(".mtl-progress");
  if (!el) {
    el = document.createElement("div");
    el.className = "mtl-progress";
    el.innerHTML = '<p class="mtl-progress-text"></p><div class="mtl-progress-track" ' +
      'role="progressbar" aria-valuemin="0"><div class="mtl-progress-bar"></div></div>';
    parentElement.appendChild(el);
  }
  // The page's numbers, unless the feed has already shown later epochs of the same run.
  const p = el.__mtl && el.__mtl.run === data.run && el.__mtl.counted > data.counted
    ? el.__mtl : (el.__mtl = { ...data });
  p.planned = data.planned;
  p.status = data.status;  // the page's only: it changes with the buttons and cards
  const draw = () => {
    const line = text(p);
    el.querySelector(".mtl-progress-text").textContent = line;
    const track = el.querySelector(".mtl-progress-track");
    track.setAttribute("aria-valuemax", String(p.planned));
    track.setAttribute("aria-valuenow", String(Math.min(shown(p), p.planned)));
    track.setAttribute("aria-valuetext", line);
    const share = p.planned ? Math.min(1, shown(p) / p.planned) : 0;
    el.querySelector(".mtl-progress-bar").style.width = (100 * share).toFixed(2) + "%";
  };
  const fed = (ev) => {
    if (ev.detail.run !== p.run) return;
    const wall = ((ev.detail.body.curves._run || {}).train || {}).wall_time;
    if (wall) {
      wall[0].forEach((epoch, k) => {
        if (epoch <= p.counted) return;
        p.elapsed += wall[1][k] || 0;
        p.counted = epoch;
      });
    }
    draw();
  };
  const stop = onFeed(el, fed);
  // A status that ends the run waits one task: the cards below the line are a component
  // too, and the browser runs the components of one redraw in page order, the line's
  // first; so the cards' test score comes before the line says "completed".
  if (data.live.includes(p.status)) draw(); else setTimeout(draw, 0);
  return stop;
}
"""
)

_CSS = """
.mtl-progress-text { margin: 0 0 0.35rem 0; font-family: var(--st-font); font-size: 0.875rem;
  color: var(--st-text-color); }
.mtl-progress-track { height: 0.5rem; border-radius: 0.25rem; overflow: hidden;
  background: var(--st-secondary-background-color, #f0f2f6); }
.mtl-progress-bar { height: 100%; background: var(--st-blue-color, #0068c9); }
"""

_progress = components.component(
    "mtl_curves.progress", html="", css=_CSS, js=_JS, isolate_styles=False
)


def progress_line(run_id: int, status: str, done: int, planned: int, elapsed: float) -> None:
    """Draw the run's progress: ``done`` of ``planned`` epochs (-1: none stored yet),
    ``elapsed`` seconds of training (the stored wall times up to ``done``), moved on by
    the run's live chart if it has one."""
    _progress(
        key=f"progress_{run_id}",
        data={
            "run": int(run_id),
            "status": str(status),
            "counted": int(done),  # the last epoch ``elapsed`` counts (-1: none)
            "planned": int(planned),
            "elapsed": float(elapsed),
            "live": [str(s) for s in LIVE],
            "running": str(Status.RUNNING),
        },
    )
