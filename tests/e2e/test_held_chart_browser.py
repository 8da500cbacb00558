"""In a real page: a control changed while a run trains leaves the live chart as it is.

The page's full rerun sent the live chart's whole figure again and the browser drew it
anew (``Plotly.react``), points its feed had already drawn; its feed then started over a
whole poll after that redraw. On a classroom server this was the largest gap between a
page's live points (bench/bench_class.py). The tab now keeps the figure it holds and
feeds it on (widgets/plot.py: ``held``); a tab that no longer has it asks for it.
The rules on the server's side: tests/test_held_chart.py.
"""

from __future__ import annotations

import pytest

from .conftest import component_alone
from .drawn import live_chart, settle

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Long and slow to learn, so that the run trains throughout the test.
SETUP = "/?epochs=5000&train_size=1000&lr=0.0001"

# Counts the page's Plotly.react calls (every drawing of a whole figure), once Plotly.js
# has loaded: installed before any page script.
COUNT_REACTS = """
(() => {
  window.__reacts = 0;
  const wrap = setInterval(() => {
    if (!window.Plotly) return;
    clearInterval(wrap);
    const react = window.Plotly.react;
    window.Plotly.react = function () { window.__reacts += 1; return react.apply(this, arguments); };
  }, 2);
})();
"""
FED = """() => { const d = document.querySelector('.js-plotly-plot');
    return d ? d.__mtlFed || 0 : 0; }"""  # points the feed appended to the figure it holds
DRAWN_EPOCHS = """() => { const d = document.querySelector('.js-plotly-plot');
    const tr = d && (d._fullData || []).find((t) => t.name === 'digit · train');
    return tr ? tr._length || 0 : 0; }"""


def training_page(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.add_init_script(COUNT_REACTS)
    page.goto(url + SETUP)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"({FED})() >= 8", timeout=60_000)  # the feed draws
    return page


def change_data_seed(page, value: int) -> None:
    """A full rerun of the page, as a student's change in the sidebar makes."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    box = sidebar.get_by_label("Data seed", exact=True)
    if not box.is_visible():
        sidebar.get_by_text("Training", exact=True).click()
    box.fill(str(value))
    box.press("Enter")
    page.wait_for_function(
        "(v) => new URLSearchParams(location.search).get('data_seed') === v"
        " && !document.querySelector('[data-stale=\"true\"]')",
        arg=str(value),
        timeout=30_000,
    )


def test_a_control_changed_while_the_run_trains_leaves_the_chart_as_it_is(app_server, browser):
    page = training_page(app_server, browser)
    reacts, fed = page.evaluate(f"() => [window.__reacts, ({FED})()]")
    change_data_seed(page, 321)
    # the feed goes on appending to the same figure: its count grows from where it was
    page.wait_for_function(f"({FED})() >= {fed + 8}", timeout=30_000)
    assert page.evaluate("() => window.__reacts") == reacts, "the chart was drawn anew"
    page.get_by_role("button", name="Stop", exact=True).click()
    page.close()


def test_a_tab_that_lost_the_chart_gets_it_again(app_server, browser):
    """Live left for another view and opened again draws the figure the tab kept, fed on;
    when the tab no longer has it, the page sends it (the chart's ``lost`` trigger)."""
    page = training_page(app_server, browser)
    picker = page.locator('[class*="st-key-page_view_picker_"]')
    for forget in (False, True):
        picker.get_by_text("History", exact=True).click()
        page.wait_for_function("() => !document.querySelector('.js-plotly-plot')")
        if forget:
            page.evaluate("() => { delete window.__mtlFigs.live_chart; }")
        drawn = page.evaluate(DRAWN_EPOCHS)
        picker.get_by_text("Live", exact=True).click()
        page.wait_for_function(f"({DRAWN_EPOCHS})() > {drawn}", timeout=30_000)

        def whole(chart: dict) -> None:  # every curve of the run, drawn from epoch 0
            firsts = {t["name"]: (t["x"] or [None])[0] for t in chart["traces"]}
            assert firsts.get("digit · train") == 0 and firsts.get("digit · val") == 0, firsts

        settle(lambda: live_chart(page), whole)
    page.get_by_role("button", name="Stop", exact=True).click()
    page.close()


# The chart's script alone in a blank page, with a stand-in Plotly and points route: each
# of the feed's asks is logged with its time and answered with the next of
# ``window.answers`` (no new point once they are used up). The figure: digit's validation
# loss (epoch 0 drawn, or none with ``draw(true)``), and its star, empty.
BLANK = """() => {
  window.asks = [];
  window.answers = [];
  window.Plotly = {
    react: (div, data, layout) => { div.data = data; div.layout = layout; div.on = () => {};
                                    return Promise.resolve(); },
    extendTraces: (div, upd, which) => { which.forEach((i, k) => {
      for (const key of ["x", "y", "customdata"]) div.data[i][key].push(...upd[key][k]); });
      return Promise.resolve(); },
    relayout: () => Promise.resolve() };
  window.fetch = (url) => { window.asks.push(performance.now());
    const curves = window.answers.shift() || {};
    return Promise.resolve({ ok: true, json: () => ({ status: "running", live: true, curves }) }); };
  const parentElement = document.createElement("div");
  document.body.appendChild(parentElement);
  const val = (empty) => ({ x: empty ? [] : [0], y: empty ? [] : [2.3], customdata: empty ? [] : [0],
                           meta: { feed: ["digit", "val", "loss"] } });
  const star = { x: [], y: [], customdata: [], name: "best epoch None", hovertemplate: "epoch None",
                 meta: { star: ["digit", "loss"], best: [null, null] } };
  window.draw = (empty) => window.drawChart({ parentElement, setTriggerValue: () => {}, data: {
    key: "live_chart", config: {}, figure: JSON.stringify({ data: [val(empty), star], layout: {} }),
    feed: { route: "mtl/points", run: 1, status: "running", every_ms: 1000, first_ms: 100,
            x_axis: "epoch", few_epochs: 30, first_shown: 1 } } });
  window.star = () => parentElement.querySelector(".mtl-plot").data[1].x;
}"""


def blank_chart(browser):
    from mtl_core.dashboard.widgets.plot import _JS

    page = component_alone(browser, _JS, "drawChart")
    page.evaluate(BLANK)
    return page


def test_the_fed_star_waits_for_the_first_trained_epoch(browser):
    """As the cards do (analysis/cards.py: FIRST_SHOWN): epoch 0 is the untrained
    network, and the feed put the star on it when it brought that epoch."""
    page = blank_chart(browser)
    page.evaluate(
        """() => { window.answers.push({ digit: { val: { loss: [[0], [2.3]] } } },
                                       { digit: { val: { loss: [[1, 2], [1.4, 1.6]] } } }); }"""
    )
    page.evaluate("() => window.draw(true)")
    page.wait_for_function("() => window.asks.length === 1", timeout=5_000)
    page.wait_for_timeout(300)  # the next ask is due 1 s after this one
    assert page.evaluate("window.star()") == []  # epoch 0 alone
    page.wait_for_function("() => window.asks.length === 2", timeout=5_000)
    page.wait_for_timeout(300)
    assert page.evaluate("window.star()") == [1]
    page.close()


def test_a_figure_drawn_anew_keeps_the_pace_of_the_feed_it_replaces(browser):
    """A figure the page does send again (a display control changed) stopped the feed,
    whose next ask then came a whole poll after the redraw: here the redraw comes 0.6 s
    after an ask, and the next ask is due 0.4 s later, not 1 s."""
    page = blank_chart(browser)
    page.evaluate("() => window.draw()")
    page.wait_for_function("() => window.asks.length === 1", timeout=5_000)
    page.wait_for_timeout(600)
    page.evaluate("() => window.draw()")  # the figure sent anew
    page.wait_for_function("() => window.asks.length === 2", timeout=5_000)
    first, second = page.evaluate("window.asks")
    assert second - first < 1300, f"the next ask came {second - first:.0f} ms after the last"
    page.close()
