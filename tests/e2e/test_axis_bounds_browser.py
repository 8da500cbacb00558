"""A study's accuracy axis stays where an accuracy can be, as Plotly.js draws it.

Plotly pads a lone point by half an axis on each side: a learning curve of one train size
drew its accuracy axis from -0.5 to 1.5. The study figures now let the autorange stop just
past the metric's bounds (``figures.style.bounded``); the range is Plotly.js's own, so it
is read here from the chart the served bundle draws.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mtl_core.dashboard.figures.studies import learning_curve_figure, sweep_figure
from mtl_core.dashboard.serve import PLOTLY_JS

pytestmark = pytest.mark.browser


def _y_range(browser, fig) -> list[float]:
    page = browser.new_page()
    try:
        page.set_content("<div id='plot' style='width: 700px'></div>")
        page.add_script_tag(path=str(PLOTLY_JS))
        return page.evaluate(
            """async (fig) => { const d = document.getElementById('plot');
            await Plotly.react(d, fig.data, fig.layout);
            return d._fullLayout.yaxis.range; }""",
            json.loads(fig.to_json()),
        )
    finally:
        page.close()


def test_a_lone_accuracy_point_gets_an_axis_within_what_accuracy_can_be(browser):
    table = pd.DataFrame(
        {"size": [200], "arm": ["single task"], "n": [1], "val_mean": [0.82], "val_sd": [None]}
    )
    low, high = _y_range(browser, learning_curve_figure(table, metric="accuracy", task="digit"))
    assert -0.03 < low < 0.82 < high < 1.03, (low, high)


def test_an_unbounded_metrics_axis_still_fits_its_points(browser):
    points = pd.DataFrame(
        {
            "x": ["a", "b"],
            "colour": ["c", "c"],
            "best_val": [3.0, 7.0],
            "run_id": [1, 2],
            "seed": [0, 0],
        }
    )
    low, high = _y_range(
        browser, sweep_figure(points, x_axis="k", x_order=["a", "b"], metric="mae")
    )
    assert low < 3.0 and high > 7.0


def test_a_trade_off_of_one_tasks_points_gets_accuracy_axes(browser):
    """Before any weighted run, the trade-off holds a task trained alone: a line on one
    axis and no point, and Plotly drew its default -1 to 6 on both."""
    from mtl_core.dashboard.figures.pareto import pareto_figure

    table = pd.DataFrame(
        {
            "arm": ["digit alone"],
            "kind": ["single task"],
            "w": [None],
            "n": [3],
            "m1_mean": [0.81],
            "m1_half": [0.02],
            "m2_mean": [float("nan")],
            "m2_half": [float("nan")],
            "dominated": [False],
        }
    )
    runs = pd.DataFrame(columns=["arm", "kind", "run_id", "seed", "epoch", "m1", "m2"])
    fig = pareto_figure(table, runs, tasks=("digit", "parity"), metrics=("accuracy", "accuracy"))
    page = browser.new_page()
    try:
        page.set_content("<div id='plot' style='width: 700px'></div>")
        page.add_script_tag(path=str(PLOTLY_JS))
        ranges = page.evaluate(
            """async (fig) => { const d = document.getElementById('plot');
            await Plotly.react(d, fig.data, fig.layout);
            return [d._fullLayout.xaxis.range, d._fullLayout.yaxis.range]; }""",
            json.loads(fig.to_json()),
        )
    finally:
        page.close()
    for low, high in ranges:
        assert low > -0.03 and high < 1.03, ranges
