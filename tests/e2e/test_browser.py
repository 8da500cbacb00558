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
