"""Learning curves from long-form metrics: one panel per task, train solid, validation dashed.

Why a pure function of a DataFrame (run_id, epoch, task, split, metric, value): the live
view, the comparison and the tests draw exactly the same thing. Smoothing changes the
display only; the stored numbers never change. A group of seeds is drawn as its mean
with a ± one standard deviation band. No ``st.*``.

Why plain data: the server builds these figures in the script runs that draw them (a
Train click's, a lesson's or a comparison's every redraw), and Plotly's property-by-property
checks cost more than the rest of the work (``bench/bench_figures.py``); the figure is
built as Plotly's JSON and checked by the tests instead.
"""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.dashboard.figures.style import (
    colour,
    legend_room,
    line_width,
    marker_size,
    rgba,
    scaled_height,
    styled_layout,
    within,
)

FEW_EPOCHS = 10  # up to this many epochs, one tick per epoch (auto ticks would halve them)
X_AXES = {"epoch": "epoch", "steps": "optimiser steps", "samples": "samples seen"}


def ema(values: np.ndarray, smoothing: float) -> np.ndarray:
    """Exponential moving average with bias correction (as TensorBoard draws it)."""
    if smoothing <= 0 or len(values) == 0:
        return values
    out = np.empty(len(values))
    avg, weight = 0.0, 0.0
    for i, v in enumerate(values):
        avg = smoothing * avg + (1 - smoothing) * v
        weight = smoothing * weight + (1 - smoothing)
        out[i] = avg / weight
    return out


def _x_map(frame: pd.DataFrame, run_id: int, x_axis: str) -> dict[int, float] | None:
    if x_axis == "epoch":
        return None
    rows = frame[(frame.run_id == run_id) & (frame.task == "_run") & (frame.metric == x_axis)]
    mapping = {0: 0.0}
    mapping.update(dict(zip(rows.epoch.astype(int), rows.value, strict=True)))
    return mapping


def _band_sds(band: pd.DataFrame) -> dict[tuple[str, str, str], pd.Series]:
    """A band's sd by curve (task, split, metric), indexed by epoch."""
    if not len(band):
        return {}
    groups = band.groupby(["task", "split", "metric"], sort=False)
    return {key: pd.Series(part.sd.to_numpy(), index=part.epoch.to_numpy()) for key, part in groups}


def _band_sd(sds: dict, key: tuple[str, str, str], epochs: np.ndarray) -> np.ndarray:
    """The sd at ``epochs`` of the curve ``key`` (``_band_sds``); 0 where it has none."""
    sd = sds.get(key)
    if sd is None:
        return np.zeros(len(epochs))
    return sd.reindex(epochs.astype(int), fill_value=0.0).to_numpy(dtype=float)


def _cuts(frame: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Every curve of ``frame`` by (run_id, task, split, metric), in epoch order: one
    grouping instead of a filter of the whole frame per curve."""
    if not len(frame):
        return {}
    keys = ["run_id", "task", "split", "metric"]
    return {key: part.sort_values("epoch") for key, part in frame.groupby(keys, sort=False)}


def _band(
    x: np.ndarray,
    y: np.ndarray,
    sd: np.ndarray,
    tint: str,
    label: str,
    log_y: bool,
    group: str,
    alpha: float,
    metric: str,
) -> dict:
    """mean ± sd as one closed, filled polygon under the mean line (hidden with it), cut at
    what ``metric`` can be (``within``)."""
    low = within(y - sd, metric)
    if log_y:  # a band reaching below 0 cannot be drawn on a log axis: clip it
        low = np.maximum(low, y / 10)
    return {
        "type": "scatter",
        "x": np.concatenate([x, x[::-1]]),
        "y": np.concatenate([within(y + sd, metric), low[::-1]]),
        "fill": "toself",
        "fillcolor": rgba(tint, alpha),
        "line": {"width": 0},
        "mode": "lines",
        "name": f"{label} ± sd",
        "legendgroup": group,
        "showlegend": False,
        "hoverinfo": "skip",
    }


@functools.lru_cache(maxsize=64)
def _grid(rows: int, cols: int, titles: tuple[str, ...]) -> dict:
    """The layout of a grid of subplots (axes' domains, subplot titles), as plain data."""
    return make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=list(titles),
        horizontal_spacing=0.08,
        vertical_spacing=0.16,
    ).layout.to_plotly_json()


def _ref(kind: str, cell: int) -> str:
    """How a trace names the ``cell``-th subplot's axis: x, x2, ... (y, y2, ...)."""
    return f"{kind}{cell if cell > 1 else ''}"


def _axis(kind: str, cell: int) -> str:
    """The layout's name of the ``cell``-th subplot's axis: xaxis, xaxis2, ..."""
    return _ref(f"{kind}axis", cell)


def curves_figure(
    frame: pd.DataFrame,
    *,
    tasks: list[str],
    metric_of: dict[str, str],
    view: str = "loss",
    x_axis: str = "epoch",
    log_y: bool = False,
    smoothing: float = 0.0,
    run_names: dict[int, str] | None = None,
    best: dict[tuple[int, str], int] | None = None,
    large_fonts: bool = False,
    height: int = 420,
    bands: dict[int, pd.DataFrame] | None = None,
    colours: dict[int, str] | None = None,
    by_run: bool | None = None,
    band_alpha: float = 0.25,
    feed: bool = False,
    planned: int | None = None,
    revision: str = "keep",
) -> go.Figure:
    """Curves of every run in ``frame``: coloured by task for one run, by run for several.

    A run id in ``bands`` is a group of seeds: its curves in ``frame`` are the means, and
    ``bands[id]`` (epoch, task, split, metric, sd) draws a ± one standard deviation band.
    ``colours`` fixes a run's colour (a lesson's arm keeps its colour from lesson to
    lesson); ``band_alpha``, the bands' opacity (fainter when many overlap); ``by_run`` names and colours the curves by run even when there is one (a
    lesson of one arm), instead of by task. ``feed``: the live chart appends new epochs
    itself (widgets/plot.py): every curve of the runs in ``run_names`` is drawn, even
    before its first epoch, and says which it is (``meta``: its task, split, metric and
    smoothing; a star, its task, the metric shown and the best epoch and loss).
    ``planned``: the epochs the runs train. On the epoch axis the x axis then spans them
    from the start, so the curves grow across it: fitted to the points drawn, it showed a
    run's first point alone on an axis from -1 to 1, then stretched as it grew (and, ended,
    each panel fitted its own points and star).
    ``revision``: what the chart's UI state (zoom, hidden traces: Plotly's ``uirevision``)
    belongs to; a figure with another one starts afresh. One Live chart shows run after
    run: Plotly carried the first run's state into the next, whose ended figure then kept
    the live one's fixed range switched off and drew Plotly's default axis, -1 to 6.
    """
    runs = list(dict.fromkeys(frame.run_id)) if len(frame) else []
    if feed and not runs:
        runs = list(run_names or {})
    by_run = len(runs) > 1 if by_run is None else by_run
    names = run_names or {r: f"run {r}" for r in runs}
    cols = max(1, min(len(tasks), 3))
    rows_n = max(1, math.ceil(len(tasks) / cols))
    titles = [f"{t} — {view if view == 'loss' else metric_of.get(t, view)}" for t in tasks]
    # The grid's own copy, but for its template (large, and only read: Plotly builds its
    # own objects from it)
    grid = _grid(rows_n, cols, tuple(titles or [""]))
    layout = {k: v if k == "template" else copy.deepcopy(v) for k, v in grid.items()}
    traces: list[dict] = []
    cuts = _cuts(frame)
    none = frame.iloc[:0]
    xmaps = {run: _x_map(frame, run, x_axis) for run in runs}
    sds = {run: _band_sds(band) for run, band in (bands or {}).items()}
    for ti, task in enumerate(tasks):
        cell = ti + 1  # the subplots are numbered row by row
        axes = {"xaxis": _ref("x", cell), "yaxis": _ref("y", cell)}
        metric = "loss" if view == "loss" else metric_of.get(task, "accuracy")
        for ri, run in enumerate(runs):
            tint = (colours or {}).get(run) or colour(ri if by_run else ti)
            xmap = xmaps[run]
            curves = {}
            for split, dash in (("train", "solid"), ("val", "dash")):
                part = cuts.get((run, task, split, metric), none)
                if part.empty and not feed:
                    continue
                epochs = part.epoch.to_numpy()
                x = epochs if xmap is None else np.array([xmap.get(int(e), np.nan) for e in epochs])
                y = ema(part.value.to_numpy(dtype=float), smoothing)
                curves[split] = (x, y)
                label = f"{names.get(run, run)} · {split}" if by_run else f"{task} · {split}"
                # Several runs: one legend entry per run (its training curve, named by the
                # run alone), which shows or hides all its curves; the line style tells
                # training from validation, as the caption says.
                group = str(names.get(run, run)) if by_run else label
                entry = by_run and ti == 0 and split == "train"
                fill = None
                if run in sds:
                    sd = _band_sd(sds[run], (task, split, metric), epochs)
                    traces.append(
                        _band(x, y, sd, tint, label, log_y, group, band_alpha, metric) | axes
                    )
                elif split == "val" and not by_run and "train" in curves:
                    fill = "tonexty"  # shade the generalisation gap between the two curves
                trace = {
                    "type": "scatter",
                    "x": x,
                    "y": y,
                    "mode": "lines",
                    "name": group if entry else label,
                    "legendgroup": group,
                    "showlegend": entry or not by_run,
                    "line": {"color": tint, "dash": dash, "width": line_width(large_fonts)},
                    "customdata": epochs,
                    "hovertemplate": f"{label}<br>epoch %{{customdata}}<br>%{{y:.4f}}<extra></extra>",
                }
                if fill:
                    trace |= {"fill": fill, "fillcolor": rgba(tint, 0.12)}
                if feed:
                    trace["meta"] = {"feed": [task, split, metric], "smoothing": smoothing}
                traces.append(trace | axes)
            # The star: the best epoch's point; with ``feed``, a task named in ``best``
            # before its first epoch gets an empty one, for the chart to move (plot.py)
            epoch = (best or {}).get((run, task))
            point = None
            if epoch is not None and "val" in curves:
                part = cuts.get((run, task, "val", metric), none)
                part = part[part.epoch == epoch]
                loss = cuts.get((run, task, "val", "loss"), none)
                loss = loss[loss.epoch == epoch].value
                if len(part) and len(loss):
                    xb = epoch if xmap is None else xmap.get(epoch, np.nan)
                    point = ([xb], [float(part.value.iloc[0])], [epoch, float(loss.iloc[0])])
            if point is None and feed and (run, task) in (best or {}):
                point = ([], [], [None, None])
            if point is not None:
                star = {
                    "type": "scatter",
                    "x": point[0],
                    "y": point[1],
                    "mode": "markers",
                    "marker": {
                        "symbol": "star",
                        "size": marker_size(14, large_fonts),
                        "color": tint,
                        "line": {"color": "white", "width": 1},
                    },
                    "name": f"best epoch {epoch}",
                    "showlegend": False,
                    "cliponaxis": False,  # whole at an axis's end (epoch 0 of a live run)
                    "hovertemplate": f"best validation loss<br>epoch {epoch}<br>%{{y:.4f}}<extra></extra>",
                }
                if feed:
                    star["meta"] = {"star": [task, metric], "best": point[2]}
                traces.append(star | axes)
        xaxis = layout[_axis("x", cell)]
        xaxis["title"] = {"text": X_AXES[x_axis]}
        last = planned if planned is not None else (frame.epoch.max() if len(frame) else None)
        if x_axis == "epoch" and last is not None and last <= FEW_EPOCHS:
            xaxis["dtick"] = 1  # no tick at half an epoch
        if x_axis == "epoch" and planned is not None:
            xaxis["range"] = [0, planned]
        if log_y:
            layout[_axis("y", cell)]["type"] = "log"
        elif view == "loss":  # a loss is never negative: its axis starts at 0
            # Fitted to the points instead, a live run's first point stood on an axis of
            # six-decimal ticks (2.30206 to 2.30208, the labels cut off at the left), and an
            # ended run's axis reached below 0 around its star (-6 for lr 10).
            layout[_axis("y", cell)]["rangemode"] = "tozero"
    height = scaled_height(height, large_fonts)
    layout |= {
        "height": height * rows_n if rows_n > 1 else height,
        "uirevision": revision,  # zoom and hidden traces survive the live redraws
        "hovermode": "closest",
        "margin": {"l": 50, "r": 20, "t": 50, "b": 40},
    }
    styled_layout(layout, large_fonts, -0.25)
    if large_fonts:  # the legend stands right of the plot (style.look): room for its names
        shown = [t["name"] for t in traces if t.get("showlegend", True) and t.get("name")]
        layout["margin"]["r"] = legend_room(shown, large_fonts)
    # Built as plain data and not validated property by property: Plotly's checks took
    # 25-35 ms a figure here, most of a warm Train click's script run after the first
    # epoch; tests/test_curves_figure.py checks that validation would change nothing.
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
