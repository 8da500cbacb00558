"""The studies' figures: a best validation metric against a study's axis, mean over seeds.

The learning curve (train size, one line per arm, ± sd), a sweep (any axis of its grid,
one line per value of another, ± sd) and the sharing depth (K shared layers, one line
per main task, 95% t-intervals as error bars). Why together: all summarise many finished
runs by their best validation score, with a band or bars where seeds meet. No ``st.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.style import (
    bounded,
    colour,
    line_width,
    marker_size,
    rgba,
    titled,
    within,
)


def learning_curve_figure(
    table: pd.DataFrame, *, metric: str, task: str, large_fonts: bool = False
) -> go.Figure:
    """Best validation metric against train size (log x): one line per arm, ± sd band.

    ``table`` is ``mtl_core.studies.learning_curve.curve_table``'s: size, arm, n, val_mean, val_sd.
    """
    fig = go.Figure()
    for i, (arm, part) in enumerate(table.groupby("arm", sort=False)):
        part = part.sort_values("size")
        x = part["size"].to_numpy(dtype=float)
        y = part["val_mean"].to_numpy(dtype=float)
        sd = np.nan_to_num(part["val_sd"].to_numpy(dtype=float))
        tint = colour(i)
        if (part["n"] > 1).any():
            fig.add_trace(
                go.Scatter(
                    x=np.concatenate([x, x[::-1]]),
                    y=within(np.concatenate([y + sd, (y - sd)[::-1]]), metric),
                    fill="toself",
                    fillcolor=rgba(tint, 0.18),
                    line={"width": 0},
                    mode="lines",
                    name=f"{arm} ± sd",
                    legendgroup=arm,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=arm,
                legendgroup=arm,
                line={"color": tint, "width": line_width(large_fonts)},
                marker={"size": marker_size(8, large_fonts)},
                customdata=np.stack([sd, part["n"].to_numpy()], axis=1),
                hovertemplate=f"{arm}<br>%{{x}} images<br>{metric} %{{y:.4f}} ± %{{customdata[0]:.4f}}"
                "<br>%{customdata[1]} seeds<extra></extra>",
            )
        )
    sizes = sorted({int(v) for v in table["size"]})
    fig.update_xaxes(
        type="log",
        title_text=f"training images with {task} labels",
        tickvals=sizes,
        ticktext=[f"{v:,}" for v in sizes],
    )
    fig.update_yaxes(title_text=f"best validation {metric}")
    bounded(fig, metric)
    return titled(fig, f"Learning curve: {task}", 440, large_fonts)


def sweep_figure(
    points: pd.DataFrame,
    *,
    x_axis: str,
    x_order: list[str],
    metric: str,
    colour_by: str = "",
    x_values: dict[str, float] | None = None,
    log_x: bool = False,
    large_fonts: bool = False,
) -> go.Figure:
    """A sweep's best validation metric against one of its axes: one line per colour.

    ``points`` has one row per run: x and colour (value labels), best_val, run_id, seed;
    colours are drawn in the order they first appear. Each line is the mean over the runs
    at an x, with a ± one (sample) standard deviation band where two or more runs meet;
    every run is a faint marker. ``x_values`` places a numeric axis's labels on a number
    line (log when ``log_x``); without it the x-axis is categorical, in ``x_order``.
    """
    fig = go.Figure()
    rank = {label: i for i, label in enumerate(x_order)}
    for i, (name, part) in enumerate(points.groupby("colour", sort=False)):
        stats = part.groupby("x")["best_val"].agg(mean="mean", sd="std", n="count")
        stats = stats.sort_index(key=lambda idx: idx.map(lambda v: rank.get(v, len(rank))))
        x = [x_values[v] for v in stats.index] if x_values else list(stats.index)
        y = stats["mean"].to_numpy(dtype=float)
        sd = np.nan_to_num(stats["sd"].to_numpy(dtype=float))
        tint = colour(i)
        label = f"{colour_by} = {name}" if colour_by else str(name)
        if (stats["n"] > 1).any():
            fig.add_trace(
                go.Scatter(
                    x=[*x, *x[::-1]],
                    y=within(np.concatenate([y + sd, (y - sd)[::-1]]), metric),
                    fill="toself",
                    fillcolor=rgba(tint, 0.18),
                    line={"width": 0},
                    mode="lines",
                    name=f"{label} ± sd",
                    legendgroup=label,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        runs_x = [x_values[v] for v in part["x"]] if x_values else list(part["x"])
        fig.add_trace(
            go.Scatter(
                x=runs_x,
                y=part["best_val"].to_numpy(dtype=float),
                mode="markers",
                name=f"{label} · runs",
                legendgroup=label,
                showlegend=False,
                marker={"color": tint, "size": marker_size(5, large_fonts), "opacity": 0.35},
                customdata=np.stack([part["run_id"], part["seed"]], axis=1),
                hovertemplate=f"{label}<br>run #%{{customdata[0]}}, seed %{{customdata[1]}}"
                f"<br>{metric} %{{y:.4f}}<extra></extra>",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="lines+markers",
                name=label,
                legendgroup=label,
                line={"color": tint, "width": line_width(large_fonts)},
                marker={"size": marker_size(8, large_fonts)},
                customdata=np.stack([sd, stats["n"].to_numpy()], axis=1),
                hovertemplate=f"{label}<br>{x_axis} %{{x}}<br>{metric} %{{y:.4f}} ± "
                "%{customdata[0]:.4f}<br>%{customdata[1]} runs<extra></extra>",
            )
        )
    if x_values:
        ticks = sorted({x_values[v] for v in x_order if v in x_values})
        labels = {x_values[v]: v for v in x_order if v in x_values}
        fig.update_xaxes(
            type="log" if log_x else "linear", tickvals=ticks, ticktext=[labels[t] for t in ticks]
        )
    else:
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=x_order)
    fig.update_xaxes(title_text=x_axis)
    fig.update_yaxes(title_text=f"best validation {metric}")
    bounded(fig, metric)
    return titled(fig, f"Sweep: best validation {metric} by {x_axis}", 460, large_fonts)


DODGE = 0.08  # how far apart, in K, the points of two main tasks at one K are drawn


def sharing_depth_figure(
    table: pd.DataFrame,
    runs: pd.DataFrame,
    *,
    max_k: int,
    labels: dict[int, str],
    metrics: dict[str, str],
    large_fonts: bool = False,
) -> go.Figure:
    """Best validation metric against K shared layers: per main task, the mean over seeds
    with its 95% t-interval as error bars, and every run as a faint marker. With several
    main tasks, each task's points sit ``DODGE`` apart around their K, so no bar hides another.
    A K without a value for a task is a gap in its line: a line straight from K = 0 to
    K = 2 would claim a value at K = 1 that no run measured.

    ``table`` is ``mtl_core.studies.sharing_depth.depth_table``'s (k, task, n, val_mean,
    val_low, val_high); ``runs`` has one row per run and task (k, task, run_id, seed,
    best_val). ``labels`` names some K under its number ("single task", "all shared");
    ``metrics`` gives each task's metric name.
    """
    fig = go.Figure()
    groups = list(table.groupby("task", sort=False))
    for i, (task, part) in enumerate(groups):
        # every K once, NaN where the task has no row: Plotly breaks the line there
        part = part.set_index("k").reindex(range(max_k + 1)).rename_axis("k").reset_index()
        metric = metrics[task]
        tint = colour(i)
        mine = runs[(runs["task"] == task) & runs["best_val"].notna()]
        shift = (i - (len(groups) - 1) / 2) * DODGE  # the tasks' bars side by side
        fig.add_trace(
            go.Scatter(
                x=mine["k"].to_numpy(dtype=float) + shift,
                y=mine["best_val"].to_numpy(dtype=float),
                mode="markers",
                name=f"{task} · runs",
                legendgroup=task,
                showlegend=False,
                marker={"color": tint, "size": marker_size(5, large_fonts), "opacity": 0.35},
                customdata=np.stack([mine["run_id"], mine["seed"]], axis=1) if len(mine) else None,
                hovertemplate=f"{task}<br>run #%{{customdata[0]}}, seed %{{customdata[1]}}"
                f"<br>{metric} %{{y:.4f}}<extra></extra>",
            )
        )
        y = part["val_mean"].to_numpy(dtype=float)
        low, high = part["val_low"].to_numpy(dtype=float), part["val_high"].to_numpy(dtype=float)
        fig.add_trace(
            go.Scatter(
                x=part["k"].to_numpy(dtype=float) + shift,
                y=y,
                mode="lines+markers",
                name=task,
                legendgroup=task,
                connectgaps=False,  # a K without runs stays a gap (Plotly's default, said)
                line={"color": tint, "width": line_width(large_fonts)},
                marker={"size": marker_size(9, large_fonts)},
                error_y={
                    "type": "data",
                    "array": np.nan_to_num(within(high, metric) - y),
                    "arrayminus": np.nan_to_num(y - within(low, metric)),
                    "color": tint,
                    "thickness": line_width(large_fonts) * 0.75,
                    "width": marker_size(6, large_fonts),
                },
                customdata=np.stack([low, high, part["n"], part["k"]], axis=1).astype(float),
                hovertemplate=f"{task}<br>K = %{{customdata[3]}}<br>{metric} %{{y:.4f}}"
                "<br>95% CI %{customdata[0]:.4f} to %{customdata[1]:.4f}"
                "<br>%{customdata[2]} seeds<extra></extra>",
            )
        )
    ticks = list(range(max_k + 1))
    fig.update_xaxes(
        title_text="shared layers K (the first K layers of the trunk)",
        tickvals=ticks,
        ticktext=[f"{k}<br>{labels[k]}" if k in labels else str(k) for k in ticks],
        range=[-0.3, max_k + 0.3],
        zeroline=False,  # K = 0 is a point, not an axis
    )
    names = {metrics[t] for t in table["task"]}
    shown = names.pop() if len(names) == 1 else "metric"
    fig.update_yaxes(title_text=f"best validation {shown}")
    bounded(fig, shown)
    tasks = ", ".join(dict.fromkeys(table["task"]))
    return titled(fig, f"Sharing depth: {tasks}", 440, large_fonts)
