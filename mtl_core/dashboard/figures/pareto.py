"""The Pareto figure: task 1's validation metric against task 2's, one point per arm.

Why a figure of its own: the other studies draw a score against a setting; this one
draws two scores against each other, so the setting (the task-1 weight w) becomes a
label along a line. Each arm of ``mtl_core.studies.pareto`` is its mean point over seeds
with the 95% t-interval of each coordinate as error bars, every run a faint marker; the
ratios are joined in weight order, dominated arms are hollow and named so in the legend,
the aggregators are diamonds, and each single-task score is a dashed reference line
(a single-task run has no score for the other task), named with its value in the legend:
written by the line, it lay across the points and was cut at the plot's edge. No ``st.*``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.point_labels import CORNERS, Plot, place
from mtl_core.dashboard.figures.style import (
    bounded,
    colour,
    font_size,
    legend_room,
    line_width,
    marker_size,
    metric_span,
    titled,
    within,
)

RATIO, SINGLE, METHOD = "ratio", "single task", "method"  # studies.pareto's kinds
SINGLE_TINTS = (2, 4)  # the two tasks alone: green, reddish purple (the weights are blue)


def _bars(mean: pd.Series, half: pd.Series, metric: str, large: bool, tint: str) -> dict:
    """mean ± half as an error bar, cut at what ``metric`` can be (``within``)."""
    y, h = mean.to_numpy(dtype=float), half.to_numpy(dtype=float)
    return {
        "type": "data",
        "array": np.nan_to_num(within(y + h, metric) - y),
        "arrayminus": np.nan_to_num(y - within(y - h, metric)),
        "color": tint,
        "thickness": line_width(large) * 0.6,
        "width": marker_size(4, large),
    }


def _labels(part: pd.DataFrame, kind: str) -> list[str]:
    """A weight's point is labelled ``w=0.25`` (its arm, ``w = 0.25``, without the spaces:
    the labels of neighbouring weights ran into each other); an aggregator by its name."""
    return [arm.replace(" = ", "=") if kind == RATIO else arm for arm in part["arm"]]


def _span(table: pd.DataFrame, column: str, metric: str) -> tuple[float, float]:
    """About what Plotly's autorange spans on an axis: the bars' ends (cut as drawn) and
    the single-task lines."""
    mean = table[f"{column}_mean"]
    half = table[f"{column}_half"].where(table["kind"] != SINGLE).fillna(0.0)
    ends = np.concatenate([within(mean - half, metric), within(mean + half, metric)])
    ends = ends[np.isfinite(ends)]
    return (float(ends.min()), float(ends.max())) if len(ends) else (0.0, 1.0)


# The narrowest chart the page draws: about 800 pixels wide on a 1280-pixel screen.
CHART_WIDTH = 800


def _place_labels(fig: go.Figure, table: pd.DataFrame, metrics, large: bool) -> None:
    """Each arm's label beside its point, clear of the others (``point_labels.place``):
    the weights' labels alternate ``top right`` and ``bottom left`` along the weights where
    they can (neighbours then face away from each other), aggregators' go top right."""
    labelled = [t for t in fig.data if t.mode == "markers+text"]
    if not labelled:
        return
    weights = sorted(
        float(label[2:]) for t in labelled for label in t.text if label.startswith("w=")
    )
    points, texts, preferred = [], [], []
    for t in labelled:
        for x, y, text in zip(t.x, t.y, t.text, strict=True):
            points.append((x, y))
            texts.append(text)
            k = weights.index(float(text[2:])) if text.startswith("w=") else 0
            preferred.append(CORNERS[:2] if k % 2 == 0 else CORNERS[1::-1])
    margin = fig.layout.margin
    plot = Plot(
        _span(table, "m1", metrics[0]),
        _span(table, "m2", metrics[1]),
        width=CHART_WIDTH - margin.l - margin.r,
        height=fig.layout.height - margin.t - margin.b - (0 if large else 120),
        font=font_size(large),
        radius=marker_size(11, large) / 2 + 2,
    )
    corners = iter(place(points, texts, preferred, plot))
    for t in labelled:
        t.textposition = [next(corners) for _ in t.x]


def pareto_figure(
    table: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    tasks: tuple[str, str],
    metrics: tuple[str, str],
    large_fonts: bool = False,
) -> go.Figure:
    """``table`` is ``studies.pareto.pareto_table``'s (arm, kind, w, n, m1_mean, m1_half,
    m2_mean, m2_half, dominated); ``runs`` has one row per run (arm, kind, run_id, seed,
    epoch, m1, m2). ``metrics`` names each task's metric."""
    fig = go.Figure()
    x_name, y_name = (f"{t} validation {m}" for t, m in zip(tasks, metrics, strict=True))
    both = runs[(runs["kind"] != SINGLE) & runs["m1"].notna() & runs["m2"].notna()]
    if len(both):
        fig.add_trace(
            go.Scatter(
                x=both["m1"],
                y=both["m2"],
                mode="markers",
                name="runs",
                showlegend=False,
                marker={"color": "#777777", "size": marker_size(5, large_fonts), "opacity": 0.3},
                customdata=np.stack([both["run_id"], both["seed"], both["epoch"]], axis=1),
                text=both["arm"],
                hovertemplate="%{text}<br>run #%{customdata[0]}, seed %{customdata[1]}, "
                f"epoch %{{customdata[2]}}<br>{tasks[0]} %{{x:.4f}}<br>{tasks[1]} %{{y:.4f}}"
                "<extra></extra>",
            )
        )
    ratios = table[table["kind"] == RATIO].sort_values("w")
    tint = colour(0)
    if len(ratios):
        fig.add_trace(
            go.Scatter(
                x=ratios["m1_mean"],
                y=ratios["m2_mean"],
                mode="lines",
                name="task weights",
                line={"color": tint, "width": line_width(large_fonts), "dash": "dot"},
                hoverinfo="skip",
            )
        )
    for kind, symbol, shade in ((RATIO, "circle", tint), (METHOD, "diamond", colour(3))):
        for dominated in (False, True):
            part = table[(table["kind"] == kind) & (table["dominated"] == dominated)]
            if part.empty:
                continue
            what = "task weights" if kind == RATIO else "aggregators"
            fig.add_trace(
                go.Scatter(
                    x=part["m1_mean"],
                    y=part["m2_mean"],
                    mode="markers+text",
                    name=f"{what}, {'dominated' if dominated else 'not dominated'}",
                    text=_labels(part, kind),
                    hovertext=part["arm"],
                    marker={
                        "symbol": f"{symbol}-open" if dominated else symbol,
                        "color": shade,
                        "size": marker_size(11, large_fonts),
                        "line": {"width": 2, "color": shade},
                    },
                    error_x=_bars(part["m1_mean"], part["m1_half"], metrics[0], large_fonts, shade),
                    error_y=_bars(part["m2_mean"], part["m2_half"], metrics[1], large_fonts, shade),
                    customdata=np.stack([part["n"], part["m1_half"], part["m2_half"]], axis=1),
                    hovertemplate="%{hovertext}<br>"
                    f"{tasks[0]} %{{x:.4f}} ± %{{customdata[1]:.4f}}<br>"
                    f"{tasks[1]} %{{y:.4f}} ± %{{customdata[2]:.4f}}<br>"
                    "%{customdata[0]} seeds<extra></extra>",
                )
            )
    for k, s in enumerate(table[table["kind"] == SINGLE].itertuples()):
        for value, half, axis in ((s.m1_mean, s.m1_half, "x"), (s.m2_mean, s.m2_half, "y")):
            if math.isnan(value):
                continue
            spread = "" if math.isnan(half) else f" ± {half:.3f}"
            # named in the legend, not on the plot: a label by the line lay across the
            # points and their w labels, and was cut at the plot's edge
            (fig.add_vline if axis == "x" else fig.add_hline)(
                value,
                line={
                    "color": colour(SINGLE_TINTS[k % 2]),
                    "width": line_width(large_fonts) * 0.75,
                    "dash": "dash",
                },
                showlegend=True,
                name=f"{s.arm}<br>{axis} = {value:.3f}{spread}",  # two short lines
            )
    fig.update_xaxes(title_text=x_name)
    fig.update_yaxes(title_text=y_name)
    bounded(fig, metrics[0], "x")
    bounded(fig, metrics[1], "y")
    if not table[["m1_mean", "m2_mean"]].notna().all(axis=1).any():
        # No point yet, only the tasks trained alone (lines): no data to fit, Plotly drew
        # its default -1 to 6. Each axis spans what its metric can be, else its line.
        for update, metric, column in (
            (fig.update_xaxes, metrics[0], "m1_mean"),
            (fig.update_yaxes, metrics[1], "m2_mean"),
        ):
            update(range=metric_span(metric, table[column].dropna().tolist()))
    titled(fig, f"Trade-off: {tasks[0]} against {tasks[1]}", 520, large_fonts)
    if large_fonts:  # the legend stands right of the plot (style.look): room for its names
        names = [t.name for t in fig.data if t.showlegend is not False and t.name]
        names += [s.name for s in fig.layout.shapes if s.showlegend and s.name]
        lines = [line for name in names for line in name.split("<br>")]
        fig.update_layout(margin={"r": legend_room(lines, large_fonts)})
    _place_labels(fig, table, metrics, large_fonts)
    return fig
