"""The Insights view in a real headless Chromium: its charts grow while the run trains.

At the end the drawn numbers are compared with the run store (tests/e2e/drawn.py): the
heatmap's cells are the stored gradient cosines, and the map has one dot per stored
validation image, in the class its stored label says.
"""

from __future__ import annotations

import pytest

from .drawn import assert_drawn, drawn_plots, numbers, stored, stored_array, the_run

pytestmark = [pytest.mark.slow, pytest.mark.browser]

HEATMAP_EPOCHS = """() => {
    const title = (t) => (t && typeof t === 'object' ? t.text : t) || '';
    const plot = [...document.querySelectorAll('.js-plotly-plot')]
        .find(d => d.data && d.data.length && d.data[0].type === 'heatmap'
              && title(d.layout && d.layout.title).startsWith('Gradient conflict'));
    return plot ? plot.data[0].x.length : 0;
}"""
EPOCHS = 120
MAP_IMAGES = 500  # validation images whose features the trainer stores (representation.py)


def one_plot(page, where) -> dict:
    plots = [p for p in drawn_plots(page) if where(p)]
    assert len(plots) == 1, f"expected one such chart, found {len(plots)}"
    return plots[0]


def test_the_conflict_heatmap_grows_live_and_the_map_appears_at_the_end(app_server, browser):
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?aux=parity&epochs={EPOCHS}&train_size=1000")
    page.get_by_role("button", name="Train", exact=True).click()
    # Train opens the Live view; switch only once it shows the run (its Pause button), or
    # Train's own rerun could switch the view back to Live after our click.
    page.get_by_role("button", name="Pause", exact=True).wait_for()
    page.get_by_role("radio", name="Insights", exact=True).click()
    page.wait_for_function(f"({HEATMAP_EPOCHS})() >= 3")
    first = page.evaluate(HEATMAP_EPOCHS)
    page.wait_for_function(f"({HEATMAP_EPOCHS})() >= {first} + 3")
    assert page.get_by_text("The map appears when the run finishes").is_visible()
    page.wait_for_function(
        f"() => document.body.innerText.includes('completed · epoch {EPOCHS}/{EPOCHS}')",
        timeout=300_000,  # 120 epochs on 1,000 images: on two busy cores, minutes
    )
    page.wait_for_function(f"({HEATMAP_EPOCHS})() === {EPOCHS + 1}")  # 0..120
    page.get_by_text("PCA of the shared trunk's features", exact=False).wait_for()
    assert page.get_by_text("digit and parity", exact=False).first.is_visible()
    run_id, frame = the_run(root)

    # The heatmap: one row (the only pair), whose cells are the stored cosines, by epoch.
    heatmap = one_plot(page, lambda p: p["title"].startswith("Gradient conflict"))
    (cells,) = heatmap["traces"]
    cosines = stored(frame, "_conflict", "train", "cos:digit|parity")
    assert list(cosines.index) == list(range(EPOCHS + 1))
    assert_drawn(cells["x"], cosines.index, "heatmap: epochs")
    assert len(cells["z"]) == 1, f"expected one pair of tasks, drew {len(cells['z'])} rows"
    assert_drawn(cells["z"][0], cosines.to_numpy(), "heatmap: cosines of digit ↔ parity")

    # The map: every stored image is one dot, in the trace of its stored digit label.
    features, meta = stored_array(root, run_id, "features/best/shared")
    labels, label_meta = stored_array(root, run_id, "labels/digit")
    assert features.shape[0] == len(labels) == MAP_IMAGES
    pca = one_plot(page, lambda p: p["title"].startswith("PCA of the shared trunk"))
    assert f"epoch {meta['epoch']} (best)" in pca["title"]
    drawn = {t["name"]: len(numbers(t["x"])) for t in pca["traces"] if t["mode"] == "markers"}
    assert sum(drawn.values()) == features.shape[0], drawn
    named = sorted(t["name"] for t in pca["traces"] if t["mode"] == "text")
    assert named == sorted(drawn), "each class drawn is named on the map"
    codes = labels.astype(int)
    expected = {name: int((codes == c).sum()) for c, name in enumerate(label_meta["classes"])}
    assert drawn == {name: n for name, n in expected.items() if n}, (drawn, expected)
    page.get_by_text("PCA of the shared trunk's features").first.scroll_into_view_if_needed()
    page.screenshot(path="/tmp/mtl_insights_map.png")
    page.close()
