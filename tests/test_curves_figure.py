"""The curves' figure is built as plain data and not validated (figures/curves.py): Plotly's
validation of the same data must change nothing, for every kind of figure the views draw
(one run or several, bands, the live feed, log axes, steps on x, projector fonts)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import plotly
import plotly.graph_objects as go
import pytest

from mtl_core.dashboard.figures.curves import curves_figure

COLUMNS = ["run_id", "epoch", "task", "split", "metric", "value"]


def _frame(runs: list[int], tasks: list[str], epochs: int) -> pd.DataFrame:
    rng = np.random.default_rng(len(runs) * 10 + epochs)
    rows = []
    for run, epoch in itertools.product(runs, range(epochs)):
        rows += [
            (run, epoch, task, split, metric, float(rng.random()))
            for task in tasks
            for split in ("train", "val")
            for metric in ("loss", "accuracy")
        ]
        rows += [(run, epoch, "_run", "train", "steps", 10.0 * (epoch + 1))]
    return pd.DataFrame(rows, columns=COLUMNS)


def _json(fig: go.Figure) -> str:
    return json.dumps(fig.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)


CASES = [  # tasks, runs, epochs, options
    (1, 1, 0, {"feed": True, "planned": 60}),
    (1, 1, 1, {"feed": True, "log_y": True}),
    (2, 1, 12, {"view": "metric", "smoothing": 0.6}),
    (4, 3, 5, {"x_axis": "steps", "large_fonts": True}),
    (2, 3, 30, {"bands": True, "log_y": True, "large_fonts": True}),
    (3, 2, 8, {"bands": True, "by_run": True, "feed": True}),
]


@pytest.mark.parametrize(("n_tasks", "n_runs", "epochs", "options"), CASES)
def test_validating_the_figure_changes_nothing(n_tasks, n_runs, epochs, options):
    tasks = ["digit", "parity", "magnitude", "colour"][:n_tasks]
    runs = list(range(1, n_runs + 1))
    frame = _frame(runs, tasks, epochs)
    options = dict(options)
    if options.pop("bands", False):
        sd = frame[frame.task != "_run"].rename(columns={"value": "sd"})
        options["bands"] = {1: sd[sd.run_id == 1].drop(columns="run_id")}
    fig = curves_figure(
        frame,
        tasks=tasks,
        metric_of=dict.fromkeys(tasks, "accuracy"),
        run_names={run: f"run {run}" for run in runs},
        best={(run, tasks[0]): epochs // 2 if epochs else None for run in runs},
        colours={2: "#123456"},
        **options,
    )
    assert len(fig.data) >= (n_tasks * n_runs * 2 if epochs else 0)
    assert _json(go.Figure(fig.to_plotly_json())) == _json(fig)


@pytest.mark.parametrize(("planned", "dtick"), [(60, None), (8, 1)])
def test_a_live_runs_epoch_axis_spans_its_planned_epochs_from_its_first_point(planned, dtick):
    """Fitted to the points drawn, a run's first point stood alone on an axis from -1 to 1
    and the axis stretched as the curve grew; one tick per epoch only while they are few."""
    tasks = ["digit", "parity"]
    fig = curves_figure(
        _frame([1], tasks, 1),
        tasks=tasks,
        metric_of=dict.fromkeys(tasks, "accuracy"),
        feed=True,
        planned=planned,
    )
    for axis in (fig.layout.xaxis, fig.layout.xaxis2):
        assert list(axis.range) == [0, planned] and axis.dtick == dtick
    ended = curves_figure(_frame([1], tasks, 1), tasks=tasks, metric_of={})
    assert ended.layout.xaxis.range is None  # an ended run's axis fits its curves


def test_a_loss_axis_starts_at_zero_and_a_metric_axis_fits_its_curves():
    """A live run's first loss stood on an axis from 2.30206 to 2.30208, its six-decimal
    tick labels cut off; an ended lr=10 run's axis reached -6 around its star."""
    tasks = ["digit", "parity"]
    frame = _frame([1], tasks, 1)
    loss = curves_figure(frame, tasks=tasks, metric_of=dict.fromkeys(tasks, "accuracy"))
    assert [loss.layout.yaxis.rangemode, loss.layout.yaxis2.rangemode] == ["tozero"] * 2
    for options in ({"view": "metric"}, {"log_y": True}):
        fig = curves_figure(
            frame, tasks=tasks, metric_of=dict.fromkeys(tasks, "accuracy"), **options
        )
        assert fig.layout.yaxis.rangemode is None, options
