"""The Trade-off view readable: the single-task lines named in the legend (not written
across the points), the points' labels apart and inside the plot, and one line saying why
the bars are wide when an arm has fewer than three seeds.

The drawn figure is checked in a real browser in tests/e2e/test_pareto_browser.py.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from mtl_core.dashboard.figures.pareto import pareto_figure
from mtl_core.dashboard.figures.point_labels import Plot, _box, _overlap, place
from mtl_core.dashboard.figures.style import legend_room
from mtl_core.dashboard.pages.pareto import few_seeds_line
from mtl_core.studies.pareto import pareto_table
from tests.test_pareto import made_up_runs

TASKS = ("digit", "parity")


def drawn(runs: pd.DataFrame, large: bool):
    table = pareto_table(runs, TASKS)
    return pareto_figure(
        table, runs, tasks=TASKS, metrics=("accuracy", "accuracy"), large_fonts=large
    )


@pytest.mark.parametrize("large", [False, True], ids=["desk", "projector"])
def test_the_single_task_line_is_named_with_its_value_in_the_legend_not_on_the_plot(large):
    fig = drawn(made_up_runs(), large)
    assert not fig.layout.annotations  # its label lay across the points and was cut
    (line,) = fig.layout.shapes
    half = stats.t.interval(0.95, 2, 0.88, stats.sem([0.9, 0.88, 0.86]))[1] - 0.88
    assert (line.x0, line.showlegend) == (0.88, True)
    assert line.name == f"digit alone<br>x = 0.880 ± {half:.3f}"
    if large:  # right of the plot, with room for its longest line (style.legend_room)
        assert fig.layout.legend.x > 1 and fig.layout.legend.xanchor == "left"
        names = [t.name for t in fig.data if t.showlegend is not False] + [line.name]
        lines = [part for name in names for part in name.split("<br>")]
        assert fig.layout.margin.r == legend_room(lines, large)
    else:  # below it, as every desk figure's
        assert fig.layout.legend.y < 0 and fig.layout.legend.orientation == "h"


def test_labels_turn_away_from_each_other_and_from_the_plots_edge():
    """Two close points near the right end, both preferring the right: the audit's
    "w=0.75" ran past the plot's edge and onto "w=0.5"."""
    plot = Plot((0.0, 1.0), (0.0, 1.0), width=450, height=500, font=20, radius=10)
    points, texts = [(0.81, 0.9), (0.83, 0.84)], ["w=0.5", "w=0.75"]
    corners = place(points, texts, [("top right",), ("top right",)], plot)
    boxes = [
        _box(plot, x * plot.width, y * plot.height, t, c)
        for (x, y), t, c in zip(points, texts, corners, strict=True)
    ]
    assert corners[1] != "top right"  # it would run past the plot's edge
    assert _overlap(*boxes) == 0, corners
    for b in boxes:
        assert b[0] >= 0 and b[2] <= plot.width and b[1] >= 0 and b[3] <= plot.height, corners
    markers = [(x * 450 - 10, y * 500 - 10, x * 450 + 10, y * 500 + 10) for x, y in points]
    assert not any(_overlap(b, m) for b in boxes for m in markers), corners


def test_a_free_preferred_corner_is_kept():
    plot = Plot((0.0, 1.0), (0.0, 1.0), width=700, height=300, font=13, radius=7)
    assert place(
        [(0.3, 0.5), (0.6, 0.4)], ["w=0.25", "w=0.5"], [("top right",), ("bottom left",)], plot
    ) == ["top right", "bottom left"]


def _seeds(n_of: dict[str, int]) -> pd.DataFrame:
    """made_up_runs with ``n_of[arm]`` of its seeds kept."""
    runs = made_up_runs()
    return pd.concat([part.head(n_of.get(arm, 3)) for arm, part in runs.groupby("arm", sort=False)])


def test_fewer_than_three_seeds_get_one_line_with_the_t_multipliers():
    t = [stats.t.ppf(0.975, n - 1) for n in (2, 3, 5)]
    assert [round(v, 1) for v in t] == [12.7, 4.3, 2.8]
    every = few_seeds_line(pareto_table(_seeds(dict.fromkeys(made_up_runs().arm, 2)), TASKS))
    assert every == (
        "Every arm has fewer than 3 seeds: a 95% t-interval over 2 seeds is the mean "
        f"± {t[0]:.1f} standard errors (over 3 seeds ± {t[1]:.1f}, over 5 ± {t[2]:.1f}), so "
        "these bars are wide because of the few seeds, and a hollow (dominated) point "
        "compares means that more seeds may reorder. Train 3 to 5 seeds per arm."
    )
    some = few_seeds_line(pareto_table(_seeds({"w = 0.5": 2, "mgda": 1}), TASKS))
    assert some.startswith("2 of 5 arms have fewer than 3 seeds: ")
    assert "and one seed gives no interval at all, so" in some
    assert few_seeds_line(pareto_table(made_up_runs(), TASKS)) is None


def test_the_interval_said_is_the_one_drawn():
    """Over 2 seeds the bar's half-width is the said multiple of the standard error."""
    runs = _seeds(dict.fromkeys(made_up_runs().arm, 2))
    row = pareto_table(runs, TASKS).set_index("arm").loc["w = 0.5"]
    values = runs[runs.arm == "w = 0.5"]["m1"]
    assert row.m1_half == pytest.approx(12.706 * stats.sem(values), rel=1e-4)
    assert not math.isnan(row.m2_half)
