"""A new page is painted before its setup is drawn, and the setup follows unasked.

A session's first script run draws the page without the sidebar's setup controls; once
the browser has painted it, a small component asks for the next script run, which draws
them (mtl_core/dashboard/widgets/after_paint.py). Seen from the page itself: the frame
Train is first visible in, the frame the setup's Dataset box is, and the moments the page
sent a request to the server (a script that wraps the page's WebSocket, installed before
the page loads). The component's own rules (one trigger per ask, none once the viewer
acted) are checked on its script alone, in a blank page.
"""

from __future__ import annotations

import pytest

from mtl_core.dashboard.widgets.after_paint import _JS

pytestmark = pytest.mark.browser

# Each animation frame: whether Train and the setup's Dataset box are visible; each
# WebSocket message the page sends (its requests to the server): the frame it went in.
WATCH = """
(() => {
  const log = (window.__firstPaint = { frame: 0, train: null, setup: null, sent: [] });
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (...args) {
    log.sent.push(log.frame);
    return send.apply(this, args);
  };
  const visible = (el) => el && el.checkVisibility() && el.getBoundingClientRect().width > 0;
  const tick = () => {
    log.frame += 1;
    const train = [...document.querySelectorAll("button")]
      .find((b) => b.textContent.trim() === "Train");
    const dataset = [...document.querySelectorAll("[data-testid=stSidebar] [data-testid=stWidgetLabel]")]
      .find((l) => l.textContent.trim() === "Dataset");
    if (log.train === null && visible(train)) log.train = log.frame;
    if (log.setup === null && visible(dataset)) log.setup = log.frame;
    if (log.setup === null || log.train === null) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def test_a_new_page_shows_train_before_its_setup_and_the_setup_follows_unasked(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(WATCH)
    page.goto(f"{url}/?epochs=7")
    page.wait_for_function("() => window.__firstPaint.setup && window.__firstPaint.train")
    log = page.evaluate("window.__firstPaint")
    assert log["train"] is not None and log["train"] < log["setup"], log
    # the setup came with a script run the page asked for after Train was painted, with
    # no click or key from the viewer
    assert any(log["train"] < frame <= log["setup"] for frame in log["sent"]), log
    epochs = page.locator("[data-testid=stSidebar]").get_by_label("Epochs", exact=True)
    if not epochs.is_visible():
        page.locator("[data-testid=stSidebar]").get_by_text("Training", exact=True).click()
    assert epochs.input_value() == "7"  # the link's setup, as the first script run read it


def _asks(browser, act_first: bool) -> list[str]:
    """The triggers the ask component sends in a blank page, drawn twice for one ask,
    with a pointer press before its frame or not (Plotly.js cannot load here: it asks
    anyway)."""
    page = browser.new_page()
    try:
        page.set_content("<div></div>")
        page.add_script_tag(
            content=_JS.replace("export default function", "window.askAfterPaint = function"),
            type="module",
        )
        page.wait_for_function("() => typeof window.askAfterPaint === 'function'")
        page.evaluate(
            """(actFirst) => {
              window.sent = [];
              const component = { data: { session: "a" },
                                  setTriggerValue: (name) => window.sent.push(name) };
              window.askAfterPaint(component);
              window.askAfterPaint(component);  // the same ask drawn again
              if (actFirst) window.dispatchEvent(new PointerEvent("pointerdown"));
            }""",
            act_first,
        )
        page.wait_for_timeout(1000)
        return page.evaluate("window.sent")
    finally:
        page.close()


def test_the_ask_is_sent_once_after_paint_and_never_after_the_viewer_acted(browser):
    assert _asks(browser, act_first=False) == ["painted"]
    assert _asks(browser, act_first=True) == []
