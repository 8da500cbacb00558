"""The dashboard in a real headless Chromium: click Train, watch the curves arrive."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"

TRACE_NAMES = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(div => (div.data || []).map(t => [t.name, (t.x || []).length]))"""


def test_train_shows_train_and_val_curves_for_every_task(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?aux=parity&epochs=30")  # two tasks, from the link
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        """() => document.body.innerText.includes('completed · epoch 30/30')""", timeout=90_000
    )
    expected = [f"{task} · {split}" for task in ("digit", "parity") for split in ("train", "val")]
    # The live chart settles on one plot whose four traces hold epochs 0..30.
    page.wait_for_function(
        f"""() => {{
            const plots = document.querySelectorAll('.js-plotly-plot');
            if (plots.length !== 1) return false;
            const n = Object.fromEntries((plots[0].data || []).map(t => [t.name, t.x.length]));
            return {expected!r}.every(name => n[name] === 31);
        }}""",
        timeout=30_000,
    )
    traces = dict(page.evaluate(TRACE_NAMES))
    assert all(traces[name] == 31 for name in expected), traces
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "train.png"), full_page=True)
    assert "session=" in page.url and "aux=parity" in page.url
    page.close()


def test_zoom_survives_the_live_refresh(app_server, browser):
    """A user's zoom on the live chart is kept while new epochs keep arriving."""
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=400&train_size=1000")
    page.get_by_role("button", name="Train", exact=True).click()
    points = """() => { const d = document.querySelector('.js-plotly-plot');
        return d && d.data && d.data.length ? d.data[0].x.length : 0; }"""
    page.wait_for_function(f"({points})() >= 3", timeout=60_000)
    # Drag a zoom box with the mouse, as a user would.
    box = page.locator(".js-plotly-plot .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.8, steps=8)
    page.mouse.up()
    ranges = """() => { const l = document.querySelector('.js-plotly-plot').layout;
        return [l.xaxis.range, l.yaxis.range, l.xaxis.autorange]; }"""
    zoomed = page.evaluate(ranges)
    assert zoomed[2] is False
    before = page.evaluate(points)
    page.wait_for_function(f"({points})() >= {before} + 3", timeout=60_000)  # several redraws
    assert page.evaluate(ranges) == zoomed
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.body.innerText.includes('stopped')", timeout=30_000)
    page.close()
