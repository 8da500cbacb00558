"""The Sharing depth view in a real headless Chromium: run a tiny study, read the chart back.

The page trains the study's runs through its form (two seeds, K = 0 and K = 1 of a
depth-1 mlp); the numbers Plotly drew (tests/e2e/drawn.py) are then compared with the
run store: each point is the mean of the stored runs' best validation accuracy at its K,
its error bars the 95% t-interval of that mean, and the caption names the best K.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from mtl_core.store.runs import RunStore

from .drawn import assert_drawn, drawn_plots, settle, store_path, trace

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"
SETUP = "/?dataset=digits&train_size=60&aux=parity&width=16&depth=1&batch_size=16&epochs=2"
SEEDS = 2

# The error bars of the trace named ``name`` in the Sharing depth chart (numbers decoded).
ERROR_BARS = """(name) => {
  const TYPES = {f8: Float64Array, f4: Float32Array, i4: Int32Array};
  const decode = (v) => {
    if (Array.isArray(v)) return v;
    if (ArrayBuffer.isView(v)) return Array.from(v);
    const bytes = Uint8Array.from(atob(v.bdata), (c) => c.charCodeAt(0));
    return Array.from(new TYPES[v.dtype](bytes.buffer));
  };
  const div = [...document.querySelectorAll('.js-plotly-plot')]
    .find((d) => ((d.layout.title || {}).text || '').startsWith('Sharing depth'));
  const t = div.data.find((t) => t.name === name);
  return [decode(t.error_y.array), decode(t.error_y.arrayminus)];
}"""


def stored_best(root: Path) -> dict[int, list[float]]:
    """K -> the best stored validation accuracy of digit of each run (K = 0: single task)."""
    out: dict[int, list[float]] = {0: [], 1: []}
    with RunStore(store_path(root)) as store:
        runs = store.runs()
        assert len(runs) == 2 * SEEDS and set(runs.status) == {"completed"}, runs.status
        for run in runs.itertuples():
            m = store.metrics(int(run.id))
            values = m[(m.task == "digit") & (m.split == "val") & (m.metric == "accuracy")]
            out[0 if run.config["sharing"] == "single" else 1].append(float(values.value.max()))
    return out


def test_the_view_draws_the_stored_study_with_its_intervals(app_server, browser):
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url + SETUP)
    page.get_by_role("radio", name="Sharing depth", exact=True).click()
    seeds = page.get_by_test_id("stForm").get_by_label("Seeds", exact=True)
    seeds.fill(str(SEEDS))
    seeds.press("Tab")
    page.get_by_role("button", name="Train the missing runs of this study").click()
    page.wait_for_function("() => document.body.innerText.includes('was best')", timeout=180_000)
    best = stored_best(root)
    means = [np.mean(best[0]), np.mean(best[1])]

    def chart() -> dict:
        plots = [p for p in drawn_plots(page) if p["title"].startswith("Sharing depth")]
        assert len(plots) == 1, f"expected one Sharing depth chart, found {len(plots)}"
        return plots[0]

    def complete(plot: dict) -> None:
        assert len(trace(plot, "digit")["y"] or []) == 2

    plot = settle(chart, complete)
    line = trace(plot, "digit")
    assert_drawn(line["x"], [0, 1], "K of each point")
    assert_drawn(line["y"], means, "mean best validation accuracy per K")
    runs = trace(plot, "digit · runs")
    assert_drawn(sorted(runs["y"]), sorted(best[0] + best[1]), "every run's best accuracy")
    up, down = page.evaluate(ERROR_BARS, "digit")
    for k in (0, 1):
        low, high = stats.t.interval(0.95, SEEDS - 1, means[k], stats.sem(best[k]))
        assert up[k] == pytest.approx(high - means[k]) and down[k] == pytest.approx(means[k] - low)
    assert plot["axes"]["xaxis"].startswith("shared layers K")
    winner = int(np.argmax(means))
    name = "single task" if winner == 0 else "all shared"
    assert page.get_by_text(f"digit: K = {winner} ({name}) was best").is_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "sharing_depth.png"), full_page=True)
    page.close()
