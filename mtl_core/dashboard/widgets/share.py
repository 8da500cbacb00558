"""The **Copy share link** button: the page's setup as a link, never the owner's control.

The link is this page's address with the setup's query (the controls, Train's Seeds and
its data-seed box among them, and the preset: ``setup_params`` in
mtl_core/dashboard/urlstate.py), or with a lesson open the lesson and its draw of seeds
(``?lesson=…&seeds=…``, as the address bar holds them), and nothing else: no run, and
never the owner token, which
lives in a cookie (mtl_core/dashboard/state.py). It is copied with the Clipboard API; where
the browser refuses (a page served over plain http to a classroom is not a secure context)
it falls back to a selected text field and ``document.execCommand("copy")``, and the field
stays visible so the link can be copied by hand, until the setup changes: the line about
the last copy then goes (it stayed under the button after a lesson had been opened).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

import streamlit.components.v2 as components

from mtl_core.config import RunConfig
from mtl_core.dashboard.urlstate import setup_params

_CSS = """
.mtl-share button {
  font: inherit; padding: 0.25rem 0.75rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid rgba(49, 51, 63, 0.2); background: var(--st-background-color, white);
  color: inherit; min-height: 2.5rem;
}
.mtl-share button:hover { border-color: var(--st-primary-color, #ff4b4b); }
.mtl-share .status { display: block; font-size: 0.875rem; opacity: 0.75; margin-top: 0.25rem; }
.mtl-share input { width: 100%; font: inherit; font-size: 0.875rem; margin-top: 0.25rem; }
"""

_JS = """
export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".mtl-share");
  if (!root) {
    root = document.createElement("div");
    root.className = "mtl-share";
    root.innerHTML = '<button type="button">Copy share link</button>' +
      '<span class="status"></span><input type="text" readonly hidden aria-label="Share link">';
    parentElement.appendChild(root);
    const status = root.querySelector(".status");
    const field = root.querySelector("input");
    root.querySelector("button").addEventListener("click", async () => {
      // a lesson's link is the address bar's own: its slug and the draw of seeds on show
      const query = root.dataset.own ? window.location.search : root.dataset.query;
      const link = window.location.origin + window.location.pathname + query;
      root.dataset.link = link;
      field.value = link;
      try {
        await navigator.clipboard.writeText(link);
        field.hidden = true;
        status.textContent = "Copied: the setup only, without control of your runs.";
      } catch (err) {
        field.hidden = false;
        field.select();
        const copied = document.execCommand && document.execCommand("copy");
        status.textContent = copied ? "Copied: the setup only, without control of your runs."
          : "Copy this link (the setup only):";
      }
    });
  }
  // A new setup (a control changed, a lesson opened): the line about the last copy, and
  // the field holding its link, no longer describe what the button copies.
  if (root.dataset.query !== undefined && root.dataset.query !== data.query) {
    root.querySelector(".status").textContent = "";
    root.querySelector("input").hidden = true;
  }
  root.dataset.query = data.query ?? "";
  root.dataset.own = data.query === null ? "1" : "";
}
"""

_share = components.component("mtl_curves.share", html="", css=_CSS, js=_JS, isolate_styles=False)


def share_query(config: RunConfig, preset: str | None, batch: Mapping[str, object]) -> str:
    """``?…`` for the setup: the preset, the controls that differ from it and the Train
    batch (Seeds, the data-seed box) where it differs from its default (or '')."""
    params = setup_params(config, preset, batch)
    return "?" + urlencode(params, quote_via=quote) if params else ""


def share_button(
    config: RunConfig, preset: str | None, batch: Mapping[str, object], lesson_open: bool
) -> None:
    """The button, holding the setup's query; with a lesson open, none (``null``): the
    button copies the address bar, which holds the lesson and its draw of seeds from the
    moment Run is pressed (the button, drawn before the lesson's Run, would hold the
    last draw's). It copied the lesson's setup without the lesson, a link that opened
    the lesson cards."""
    query = None if lesson_open else share_query(config, preset, batch)
    _share(key="share_link", data={"query": query})
