"""A new page is painted before its setup is drawn, and the setup follows unasked.

A session's first script run draws the page without the sidebar's setup controls; once
the browser has painted it, a small component asks for the next script run, which draws
them (mtl_core/dashboard/widgets/after_paint.py). Seen from the page itself: the frame
Train is first visible in, the frame the setup's Dataset box is, and the moments the page
sent a request to the server (a script that wraps the page's WebSocket, installed before
the page loads). The component's own rules (one trigger per ask, only the latest ask's, and
a click before it delaying it) are checked on its script alone, in a blank page.
"""

from __future__ import annotations

import pytest

from mtl_core.dashboard.widgets.after_paint import _JS, QUIET_MS

from .conftest import component_alone

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


# A press on the page once the ask component is on it and before it asks (one that
# starts no script run: on the page's background; Copy share link is another), and the
# moments the page sent requests to the server.
PRESS_AT_ONCE = """
(() => {
  window.__sent = [];
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (...args) {
    window.__sent.push(performance.now());
    return send.apply(this, args);
  };
  const tick = () => {
    const ask = window.__mtlAfterPaint;
    if (ask && ask.sent.size) {
      window.__pressed = performance.now();
      window.dispatchEvent(new PointerEvent("pointerdown"));
    } else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""


def test_a_press_that_starts_no_script_run_only_delays_the_setup(app_server, browser):
    """The setup comes with the next script run only: a press before the page asked for it
    cancelled the ask, and if the press started no run, the setup never came."""
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(PRESS_AT_ONCE)
    page.goto(f"{url}/")
    page.wait_for_function("() => window.__pressed")
    dataset = page.locator("[data-testid=stSidebar]").get_by_text("Dataset", exact=True)
    dataset.wait_for(timeout=15_000)
    pressed, sent = page.evaluate("[window.__pressed, window.__sent]")
    asked = [t for t in sent if t > pressed]
    assert asked and asked[0] - pressed >= QUIET_MS, (pressed, sent)


# A blank page with the ask component's script, and ``window.draw(session, name)``: draws
# one ask in a new element as Streamlit would, each trigger it sends noted as ``name``
# and the milliseconds since the page's start.
BLANK = """() => {
  window.sent = [];
  window.draw = (session, name) => {
    const parentElement = document.createElement("div");
    document.body.appendChild(parentElement);
    window.askAfterPaint({ data: { session }, parentElement,
      setTriggerValue: () => window.sent.push([name, performance.now()]) });
    return parentElement;
  };
}"""


def _blank(browser):
    page = component_alone(browser, _JS, "askAfterPaint")
    page.evaluate(BLANK)
    return page


def test_the_ask_is_sent_once_after_paint_and_only_by_the_latest_drawn(browser):
    """Plotly.js cannot load here: the ask is sent anyway."""
    page = _blank(browser)
    page.evaluate("() => { window.draw('a', 'a'); window.draw('a', 'a again'); }")
    page.wait_for_timeout(500)
    assert [name for name, _ in page.evaluate("window.sent")] == ["a"]
    # a later script run asks anew before the first ask went: only the new one is sent
    page.evaluate("() => { window.draw('b', 'b'); window.draw('c', 'c'); }")
    page.wait_for_timeout(500)
    assert [name for name, _ in page.evaluate("window.sent")] == ["a", "c"]
    # a later script run drew the page without the ask: its element is gone, nothing sent
    page.evaluate("() => window.draw('d', 'd').remove()")
    page.wait_for_timeout(500)
    assert [name for name, _ in page.evaluate("window.sent")] == ["a", "c"]
    page.close()


def test_a_click_before_the_ask_delays_it_and_never_loses_it(browser):
    """A click or key that starts no script run (Copy share link, a touch that scrolls)
    left the setup undrawn for good when it cancelled the ask."""
    page = _blank(browser)
    clicked = page.evaluate(
        """() => { window.draw('a', 'a');
                   window.dispatchEvent(new PointerEvent('pointerdown'));
                   return performance.now(); }"""
    )
    page.wait_for_timeout(QUIET_MS // 2)
    assert page.evaluate("window.sent") == []
    page.wait_for_function("() => window.sent.length > 0", timeout=5 * QUIET_MS)
    ((name, at),) = page.evaluate("window.sent")
    assert name == "a" and at - clicked >= QUIET_MS
    page.close()
