"""A band or an interval drawn past what its metric can be is cut there, in every figure.

An accuracy of 0.98 ± 0.05 over a few seeds put the Learning curve's and the Sharing
depth's axes past 1, where no run can be; a loss band of a wide spread reached below 0.
The drawn band stops at the bound (``figures.style.within``); the hover keeps the numbers
as computed, so nothing is hidden.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.pareto import pareto_figure
from mtl_core.dashboard.figures.studies import (
    learning_curve_figure,
    sharing_depth_figure,
    sweep_figure,
)
from mtl_core.data.tasks import METRIC_RANGE

TOP = 1.0  # accuracy's upper bound


def test_every_task_metric_and_the_loss_have_a_declared_range():
    from mtl_core.data.tasks import TASKS

    assert {task.metric for task in TASKS.values()} | {"loss"} <= set(METRIC_RANGE)
    assert METRIC_RANGE["accuracy"] == (0.0, TOP)


def test_the_learning_curves_band_stops_at_an_accuracy_of_1():
    table = pd.DataFrame(
        {
            "size": [100, 300],
            "arm": ["hard", "hard"],
            "n": [3, 3],
            "val_mean": [0.90, 0.98],
            "val_sd": [0.02, 0.05],
        }
    )
    band, line = learning_curve_figure(table, metric="accuracy", task="digit").data
    assert max(band.y) == TOP and min(band.y) == 0.88
    assert line.customdata[1][0] == 0.05  # the hover's ± is the sd as computed


def test_a_sweeps_band_stops_at_an_accuracy_of_1():
    points = pd.DataFrame(
        {
            "x": ["a", "a", "b", "b"],
            "colour": ["c"] * 4,
            "best_val": [0.93, 1.0, 0.7, 0.72],
            "run_id": [1, 2, 3, 4],
            "seed": [0, 1, 0, 1],
        }
    )
    fig = sweep_figure(points, x_axis="lr", x_order=["a", "b"], metric="accuracy")
    band = next(t for t in fig.data if t.fill == "toself")
    assert max(band.y) == TOP


def test_the_sharing_depths_bars_stop_at_an_accuracy_of_1_and_its_hover_keeps_the_interval():
    table = pd.DataFrame(
        {
            "k": [0, 1],
            "task": ["digit", "digit"],
            "n": [3, 3],
            "val_mean": [0.80, 0.97],
            "val_low": [0.75, 0.91],
            "val_high": [0.85, 1.03],
        }
    )
    runs = pd.DataFrame(
        {
            "k": [0, 1],
            "task": ["digit"] * 2,
            "run_id": [1, 2],
            "seed": [0, 0],
            "best_val": [0.8, 0.97],
        }
    )
    fig = sharing_depth_figure(table, runs, max_k=1, labels={}, metrics={"digit": "accuracy"})
    line = fig.data[-1]
    tops = np.asarray(line.y) + np.asarray(line.error_y.array)
    np.testing.assert_allclose(tops, [0.85, TOP])
    np.testing.assert_allclose(
        np.asarray(line.y) - np.asarray(line.error_y.arrayminus), [0.75, 0.91]
    )
    assert line.customdata[1][1] == 1.03  # the hover's interval, as computed


def test_the_trade_offs_bars_stop_at_an_accuracy_of_1():
    table = pd.DataFrame(
        {
            "arm": ["w = 0.5"],
            "kind": ["ratio"],
            "w": [0.5],
            "n": [3],
            "m1_mean": [0.99],
            "m1_half": [0.04],
            "m2_mean": [0.02],
            "m2_half": [0.05],
            "dominated": [False],
        }
    )
    runs = pd.DataFrame(columns=["arm", "kind", "run_id", "seed", "epoch", "m1", "m2"])
    fig = pareto_figure(table, runs, tasks=("digit", "parity"), metrics=("accuracy", "accuracy"))
    point = next(t for t in fig.data if t.error_x is not None and t.error_x.array is not None)
    assert point.x[0] + point.error_x.array[0] == TOP
    assert point.y[0] - point.error_y.arrayminus[0] == 0.0  # and at 0 below
    assert point.x[0] - point.error_x.arrayminus[0] == 0.99 - 0.04


def test_compares_seed_bands_stop_at_the_metrics_bounds():
    rows = [
        (1, epoch, "digit", split, metric, value)
        for epoch in range(3)
        for split in ("train", "val")
        for metric, value in (("loss", 0.05), ("accuracy", 0.99))
    ]
    frame = pd.DataFrame(rows, columns=["run_id", "epoch", "task", "split", "metric", "value"])
    band = frame.rename(columns={"value": "sd"}).drop(columns="run_id").assign(sd=0.1)
    for view, low, high in (("loss", 0.0, 0.15), ("metric", 0.89, TOP)):
        fig = curves_figure(
            frame, tasks=["digit"], bands={1: band}, view=view, metric_of={"digit": "accuracy"}
        )
        drawn = [t for t in fig.data if t.fill == "toself"]
        assert drawn, view
        for trace in drawn:
            assert min(trace.y) == low and max(trace.y) == pytest.approx(high), view


def test_an_axis_without_points_spans_what_its_metric_can_be_else_its_lines():
    from mtl_core.dashboard.figures.style import metric_span

    assert metric_span("accuracy", []) == pytest.approx([-0.02, 1.02])
    assert metric_span("mae", [3.0, 2.0]) == pytest.approx([1.7, 3.3])  # 10% of the largest
    assert metric_span("mae", []) is None  # Plotly's own default, then
