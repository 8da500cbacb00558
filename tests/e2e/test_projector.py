"""Projector mode in a real headless Chromium: the whole page grows, legends stay clear.

The figures are drawn by the Plotly.js the dashboard serves (its cartesian bundle), at chart widths the page gives them on 1280- and 1920-pixel screens; the page test
runs the dashboard itself and saves a full-page screenshot per width.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtl_core.dashboard.figures import curves, insights, studies
from mtl_core.dashboard.serve import PLOTLY_JS

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"
TASKS = ["digit", "parity", "magnitude"]

# The legend's box, the figure's and every axis title's (x, x2, ..., y, y2, ...) and the
# figure title's box.
BOXES = """() => {
  const box = e => { const b = e.getBoundingClientRect();
                     return [b.left, b.top, b.right, b.bottom]; };
  const legend = document.querySelector('.infolayer .legend');
  const titles = [...document.querySelectorAll('.infolayer text')]
    .filter(t => /^([xy]\\d*|g)title$/.test(t.getAttribute('class') || '') && t.textContent);
  return {legend: legend ? box(legend) : null, figure: box(document.querySelector('.main-svg')),
          titles: titles.map(t => [t.textContent, box(t)])};
}"""


def _curves(runs: int) -> pd.DataFrame:
    rows = [
        (run, e, task, split, metric, 1 / (e + 1) + run / 10)
        for run in range(1, runs + 1)
        for e in range(20)
        for task in TASKS
        for split in ("train", "val")
        for metric in ("loss", "accuracy")
    ]
    return pd.DataFrame(rows, columns=["run_id", "epoch", "task", "split", "metric", "value"])


def figures(large: bool) -> dict:
    """One figure of every kind mtl_core/dashboard/figures/ draws, each with a legend."""
    epochs = range(20)
    weights = pd.DataFrame({t: np.linspace(1, 2, 20) for t in TASKS}, index=epochs)
    cosines = pd.DataFrame(
        np.random.default_rng(0).uniform(-1, 1, (3, 20)),
        index=["digit–parity", "digit–magnitude", "parity–magnitude"],
        columns=list(epochs),
    )
    stitch = pd.DataFrame(
        {
            f"alpha:{u}:{a}:{b}": np.linspace(0.9, 0.5, 20)
            for u in (0, 1)
            for a in TASKS[:2]
            for b in TASKS[:2]
        },
        index=epochs,
    )
    learning = pd.DataFrame(
        [
            (size, arm, 3, 0.5 + size / 1e4, 0.02)
            for size in (100, 300, 1000)
            for arm in ("single task", "hard sharing", "shuffled control")
        ],
        columns=["size", "arm", "n", "val_mean", "val_sd"],
    )
    sweep = pd.DataFrame(
        [
            (x, c, 0.5 + i / 10, i, 0)
            for i, (x, c) in enumerate(
                [(x, c) for x in ("100", "300", "1000") for c in ("single", "hard", "soft")]
            )
        ],
        columns=["x", "colour", "best_val", "run_id", "seed"],
    )
    points = np.random.default_rng(1).normal(size=(200, 2))
    return {
        "live": curves.curves_figure(_curves(1), tasks=TASKS, metric_of={}, large_fonts=large),
        "compare": curves.curves_figure(_curves(4), tasks=TASKS, metric_of={}, large_fonts=large),
        "weights": insights.lines_figure(
            weights, title="Task weights", y_title="weight", large_fonts=large
        ),
        "conflict": insights.conflict_lines(cosines, large_fonts=large),
        "stitch": insights.stitch_figure(stitch, large_fonts=large),
        "learning": studies.learning_curve_figure(
            learning, metric="accuracy", task="digit", large_fonts=large
        ),
        "sweep": studies.sweep_figure(
            sweep,
            x_axis="train_size",
            x_order=["100", "300", "1000"],
            metric="accuracy",
            colour_by="sharing",
            large_fonts=large,
        ),
        "projection": insights.projection_figure(
            points,
            np.arange(200) % 10,
            classes=[str(c) for c in range(10)],
            colour_by="digit",
            title="PCA",
            large_fonts=large,
        ),
    }


def overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("large", [True, False], ids=["projector", "normal"])
def test_legends_are_whole_and_never_cover_an_axis_title(browser, large):
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.set_content("<div id='plot'></div>")
    page.add_script_tag(path=str(PLOTLY_JS))
    for name, fig in figures(large).items():
        for width in (560, 860, 1500):  # the live chart's width at 1280 and 1920 pixels
            # Drawn wide, then resized as the page lays out (mtl_core/dashboard/widgets/plot.py asks for a
            # responsive chart): the legend may need more rows than at first.
            page.evaluate(
                """async ([fig, width]) => { const d = document.getElementById('plot');
                d.style.width = '1500px'; Plotly.purge(d);
                await Plotly.react(d, fig.data, fig.layout, {responsive: true});
                d.style.width = width + 'px';
                return Plotly.Plots.resize(d); }""",
                [json.loads(fig.to_json()), width],
            )
            boxes = page.evaluate(BOXES)
            assert boxes["legend"] is not None, name
            assert boxes["titles"], name
            for title, box in boxes["titles"]:
                assert not overlaps(boxes["legend"], box), (name, width, title)
            # whole: the projector's legend right of the plot was cut ("parity · trai")
            assert boxes["legend"][2] <= boxes["figure"][2] + 1, (name, width, boxes)
    page.close()


def test_projector_mode_enlarges_every_part_of_the_figures():
    normal, large = figures(False), figures(True)
    for name in normal:
        a, b = normal[name].layout, large[name].layout
        assert b.font.size >= 1.5 * a.font.size, name
        assert b.legend.font.size == b.font.size and b.height > a.height, name
        assert b.hoverlabel.font.size == b.font.size, name
        for x, y in zip(a.annotations, b.annotations, strict=True):  # subplot titles
            assert y.font.size > x.font.size, name
        widths = [
            (t.line.width, u.line.width)
            for t, u in zip(normal[name].data, large[name].data, strict=True)
            if t.mode and "lines" in t.mode and t.line.width
        ]
        assert all(w2 >= 1.5 * w1 for w1, w2 in widths), name


# The parts' font sizes, read in one go once every part is in the page (null before: a
# script run's redraw may replace an element between a wait for it and the reading).
SIZES = """() => { const parts = {root: 'html',
      sidebar: '[data-testid=stSidebar] [data-testid=stWidgetLabel] p', title: 'h1',
      metric: '.mtl-card-value', expander: '[data-testid=stExpander] summary p'};
    const found = Object.fromEntries(Object.entries(parts).map(([k, s]) => [k, document.querySelector(s)]));
    if (Object.values(found).some((el) => !el)) return null;
    const out = Object.fromEntries(Object.entries(found).map(
      ([k, el]) => [k, parseFloat(getComputedStyle(el).fontSize)]));
    out.sidebarWidth = document.querySelector('[data-testid=stSidebar]').offsetWidth;
    return out; }"""


# The live chart's legend text height, once the chart has drawn its legend (null before).
LEGEND_HEIGHT = """() => { const t = document.querySelector('.legend text');
    return t ? t.getBoundingClientRect().height || null : null; }"""


@pytest.mark.parametrize("width", [1280, 1920])
def test_projector_mode_enlarges_the_whole_page(app_server, browser, width):
    url, _ = app_server
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(f"{url}/?aux=parity,magnitude&epochs=6&seed={width}")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('completed')", timeout=90_000)
    page.locator(".mtl-card-value").first.wait_for()
    # the expander comes with the full rerun after the run ended, a moment after the
    # status line and the cards the live panel drew: every part measured must be there
    page.locator("[data-testid=stExpander] summary p").first.wait_for()
    normal = page.wait_for_function(SIZES).json_value()
    legend_before = page.wait_for_function(LEGEND_HEIGHT).json_value()
    page.get_by_text("Projector mode (large fonts)").click()
    page.wait_for_function(
        "() => parseFloat(getComputedStyle(document.documentElement).fontSize) > 16"
    )
    page.wait_for_timeout(2000)  # the chart redraws with the projector's figure
    large = page.wait_for_function(SIZES).json_value()
    for part in ("root", "sidebar", "title", "metric", "expander", "sidebarWidth"):
        assert large[part] >= 1.2 * normal[part], (part, normal[part], large[part])
    legend_after = page.wait_for_function(LEGEND_HEIGHT).json_value()
    assert legend_after >= 1.4 * legend_before
    boxes = page.evaluate(BOXES)
    assert len(boxes["titles"]) >= 3  # the live chart: three x-axis titles, a y-axis one
    for title, box in boxes["titles"]:
        assert not overlaps(boxes["legend"], box), title
    assert boxes["legend"][2] <= boxes["figure"][2] + 1, boxes  # whole ("parity · trai")
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": width, "height": height + 50})  # the page scrolls inside
    page.wait_for_timeout(1000)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"projector_{width}.png"), full_page=True)
    page.close()
