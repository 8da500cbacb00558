"""Bring what a click started into view: the curves a lesson's Run began to draw.

A lesson page holds its question, setup, guess and Run above the chart, so a Run pressed
at 1400×1000 grew its curves below the fold (only the chart's title showed), and in
projector mode two screens down: the class watched a page that did not move. Streamlit
has no scrolling of its own, so this small component, drawn just above the results once
per Run, scrolls its place to the top of the viewport. The results arrive after it (a
progress line, then the chart when the first epoch is stored), so the page is often too
short at first to bring it up: it aligns again as the page grows, for a while, and stops
for good at the viewer's first scroll, key or click, so it never fights them. A token per
Run makes a redraw of the same element a no-op.
"""

from __future__ import annotations

import streamlit.components.v2 as components

FOLLOW_MS = 30_000  # how long it keeps aligning while the page grows (the first epoch's wait)

_JS = (
    f"const FOLLOW_MS = {FOLLOW_MS};"
    + """
const DONE = (window.__mtlRevealed = window.__mtlRevealed || new Set());
export default function (component) {
  const { data, parentElement } = component;
  if (!data.token || DONE.has(data.token)) return () => {};
  DONE.add(data.token);
  const target = parentElement;
  const head = document.querySelector('[data-testid="stHeader"]');  // fixed above the page
  target.style.scrollMarginTop = `${(head ? head.offsetHeight : 0) + 8}px`;
  const page = target.closest('[data-testid="stMain"]') || document.body;
  const calm = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  let first = true;
  const align = () => {
    target.scrollIntoView({ block: "start", behavior: first && !calm ? "smooth" : "auto" });
    first = false;
  };
  const grown = new ResizeObserver(() => align());
  const stop = () => {
    grown.disconnect();
    clearTimeout(timer);
    for (const ev of INPUTS) window.removeEventListener(ev, stop, true);
  };
  const INPUTS = ["wheel", "touchmove", "keydown", "pointerdown"];
  for (const ev of INPUTS) window.addEventListener(ev, stop, true);
  const timer = setTimeout(stop, FOLLOW_MS);
  requestAnimationFrame(() => {
    align();
    const grows = page.querySelector('[data-testid="stMainBlockContainer"]') || page;
    grown.observe(grows);
  });
  return stop;
}
"""
)

_reveal = components.component("mtl_curves.reveal", html="", js=_JS, isolate_styles=False)


def reveal(token: str, key: str) -> None:
    """Scroll this place to the top of the viewport once for ``token`` (a Run's own)."""
    _reveal(key=key, data={"token": token}, height=0)
