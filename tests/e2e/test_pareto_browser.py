"""The Trade-off figure in a real headless Chromium: every word on it readable.

An audit found the single-task lines' labels drawn by the lines, across the points and
their w labels, under the projector's legend and cut at the plot's edge. Here the
figure is drawn by the Plotly.js the dashboard serves, at the chart's widths on 1280- and
1400-pixel screens (about 800 and 940 pixels) and a wide one, on a desk and in projector
mode, for the audit's own numbers, a study of nine weights and an aggregator, and a
store holding only a task trained alone; the boxes of the drawn texts are compared.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from mtl_core.dashboard.figures.pareto import pareto_figure
from mtl_core.dashboard.serve import PLOTLY_JS
from mtl_core.studies.pareto import METHOD, RATIO, SINGLE, pareto_table

pytestmark = [pytest.mark.slow, pytest.mark.browser]
TASKS = ("digit", "parity")
WIDTHS = (800, 940, 1500)

# The boxes of the figure, its plot area, legend, titles and annotations, and per trace
# (by name) its markers and its point labels, in the order of the points.
BOXES = """() => {
  const box = e => { const b = e.getBoundingClientRect();
                     return [b.left, b.top, b.right, b.bottom]; };
  const all = s => [...document.querySelectorAll(s)];
  const legend = document.querySelector('.infolayer .legend .bg');
  return {
    figure: box(document.querySelector('.main-svg')),
    plot: box(document.querySelector('.draglayer .nsewdrag')),
    legend: legend ? box(legend) : null,
    legendText: all('.infolayer .legend .legendtext').map(t => t.textContent),
    titles: all('.infolayer text').filter(
      t => /^([xy]\\d*|g)title$/.test(t.getAttribute('class') || '') && t.textContent)
      .map(t => [t.textContent, box(t)]),
    annotations: all('.annotation').map(a => [a.textContent, box(a)]),
    traces: all('.scatterlayer .trace').map(g => ({
      name: g.__data__[0].trace.name,
      points: all_in(g, '.points path.point').map(box),
      labels: all_in(g, '.textpoint text').map(t => [t.textContent, box(t)]),
    })),
  };
  function all_in(g, s) { return [...g.querySelectorAll(s)]; }
}"""


def _runs(arms: list[tuple[str, str, float, int, float, float, float, float]]) -> pd.DataFrame:
    """Runs whose table has the given means and 95% t-interval half-widths: ``n`` seeds
    spread evenly around each mean (NaN for a task the arm did not train)."""
    rows = []
    for arm, kind, w, n, m1, h1, m2, h2 in arms:
        offsets = np.linspace(-1, 1, n) / np.std(np.linspace(-1, 1, n), ddof=1)
        scale = math.sqrt(n) / stats.t.ppf(0.975, n - 1)  # a half-width h needs an sd h·scale
        for seed, z in enumerate(offsets):
            a, b = m1 + z * h1 * scale, m2 + z * h2 * scale
            rows.append([arm, kind, w, seed, seed, len(rows) + 1, "completed", 5, a, b])
    columns = ["arm", "kind", "w", "seed", "data_seed", "run_id", "status", "epoch", "m1", "m2"]
    return pd.DataFrame(rows, columns=columns)


AUDIT = [  # the audit's study: digits, 100 images, width 32, 15 epochs, 2 seeds
    ("w = 0.25", RATIO, 0.25, 2, 0.6819, 0.5824, 0.9111, 0.1412),
    ("w = 0.5", RATIO, 0.5, 2, 0.8111, 0.2118, 0.9028, 0.1412),
    ("w = 0.75", RATIO, 0.75, 2, 0.8306, 0.6000, 0.8778, 0.3530),
    ("digit alone", SINGLE, math.nan, 3, 0.8306, 0.1761, math.nan, math.nan),
    ("parity alone", SINGLE, math.nan, 2, math.nan, math.nan, 0.8986, 0.3000),
]
NINE = [  # nine weights along a front, two of them dominated, and MGDA
    *(
        (f"w = {w:g}", RATIO, w, 3, 0.70 + 0.2 * w, 0.02, 0.95 - 0.12 * w**2 - bump, 0.015)
        for w, bump in zip(np.arange(1, 10) / 10, [0, 0, 0.03, 0, 0, 0.04, 0, 0, 0], strict=True)
    ),
    ("digit alone", SINGLE, math.nan, 3, 0.88, 0.01, math.nan, math.nan),
    ("parity alone", SINGLE, math.nan, 3, math.nan, math.nan, 0.94, 0.01),
    ("mgda", METHOD, math.nan, 3, 0.80, 0.02, 0.90, 0.02),
]
ALONE = [("digit alone", SINGLE, math.nan, 3, 0.8306, 0.1761, math.nan, math.nan)]


def figure(arms, large: bool) -> go.Figure:
    runs = _runs(arms)
    table = pareto_table(runs, TASKS)
    return pareto_figure(
        table, runs, tasks=TASKS, metrics=("accuracy", "accuracy"), large_fonts=large
    )


def overlaps(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(a: list[float], b: list[float]) -> bool:
    """``a`` within ``b`` (a pixel of slack for rounding)."""
    return a[0] >= b[0] - 1 and a[1] >= b[1] - 1 and a[2] <= b[2] + 1 and a[3] <= b[3] + 1


def drawn(page, fig: go.Figure, width: int) -> dict:
    return page.evaluate(
        """async ([fig, width]) => { const d = document.getElementById('plot');
        d.style.width = width + 'px'; Plotly.purge(d);
        await Plotly.react(d, fig.data, fig.layout, {responsive: true});
        return ("""
        + BOXES
        + """)(); }""",
        [json.loads(fig.to_json()), width],
    )


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.set_content("<div id='plot'></div>")
    page.add_script_tag(path=str(PLOTLY_JS))
    return page  # closed after the test (tests/e2e/conftest.py)


@pytest.mark.parametrize("large", [False, True], ids=["desk", "projector"])
@pytest.mark.parametrize("arms", [AUDIT, NINE], ids=["audit", "nine"])
def test_no_text_overlaps_a_point_a_label_or_the_legend_and_none_is_cut(page, arms, large):
    fig = figure(arms, large)
    for width in WIDTHS:
        boxes = drawn(page, fig, width)
        where = (width, large)
        arms_drawn = [t for t in boxes["traces"] if t["name"].startswith(("task", "aggreg"))]
        points = [p for t in arms_drawn for p in t["points"]]
        labels = [label for t in arms_drawn for label in t["labels"]]
        assert len(labels) == sum(1 for a in arms if a[1] != SINGLE), where
        texts = [*labels, *boxes["titles"], *boxes["annotations"], ("legend", boxes["legend"])]
        for k, (text, box) in enumerate(texts):
            assert inside(box, boxes["figure"]), (where, text, box, boxes["figure"])
            for other, second in texts[k + 1 :]:
                assert not overlaps(box, second), (where, text, other)
        for text, box in labels:
            assert inside(box, boxes["plot"]), (where, text)  # not cut at the plot's edge
            assert not any(overlaps(box, p) for p in points), (where, text)
        assert not overlaps(boxes["legend"], boxes["plot"]), where


@pytest.mark.parametrize("large", [False, True], ids=["desk", "projector"])
def test_the_single_task_lines_are_named_with_their_values_in_the_whole_legend(page, large):
    for arms, names in (
        (AUDIT, ["digit alonex = 0.831 ± 0.176", "parity aloney = 0.899 ± 0.300"]),
        (ALONE, ["digit alonex = 0.831 ± 0.176"]),
    ):
        for width in WIDTHS:
            boxes = drawn(page, figure(arms, large), width)
            assert [t for t in boxes["legendText"] if "alone" in t] == names
            assert not boxes["annotations"]  # nothing written on the plot
            assert inside(boxes["legend"], boxes["figure"]), (width, boxes)  # whole
            if large:  # the projector's legend stands right of the plot (style.look)
                assert boxes["legend"][0] >= boxes["plot"][2], (width, boxes)
            else:  # below it, as every desk figure's
                assert boxes["legend"][1] >= boxes["plot"][3], (width, boxes)
