"""The Insights view in a real headless Chromium: its charts grow while the run trains."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HEATMAP_EPOCHS = """() => {
    const plot = [...document.querySelectorAll('.js-plotly-plot')]
        .find(d => d.data && d.data.length && d.data[0].type === 'heatmap');
    return plot ? plot.data[0].x.length : 0;
}"""


def test_the_conflict_heatmap_grows_live_and_the_map_appears_at_the_end(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?aux=parity&epochs=120&train_size=1000")
    page.get_by_role("button", name="Train", exact=True).click()
    # Train opens the Live view; switch only once it shows the run (its Pause button), or
    # Train's own rerun could switch the view back to Live after our click.
    page.get_by_role("button", name="Pause", exact=True).wait_for(timeout=60_000)
    page.get_by_role("radio", name="Insights", exact=True).click()
    page.wait_for_function(f"({HEATMAP_EPOCHS})() >= 3", timeout=60_000)
    first = page.evaluate(HEATMAP_EPOCHS)
    page.wait_for_function(f"({HEATMAP_EPOCHS})() >= {first} + 3", timeout=60_000)
    assert page.get_by_text("The map appears when the run finishes").is_visible()
    page.wait_for_function(
        "() => document.body.innerText.includes('completed · epoch 120/120')", timeout=120_000
    )
    page.wait_for_function(f"({HEATMAP_EPOCHS})() === 121", timeout=30_000)  # epochs 0..120
    page.get_by_text("PCA of the shared trunk's features", exact=False).wait_for(timeout=30_000)
    assert page.get_by_text("digit and parity", exact=False).first.is_visible()
    page.close()
