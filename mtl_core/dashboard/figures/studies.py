"""The studies' figures: a best validation metric against a study's axis, mean ± sd over seeds.

The learning curve (train size, one line per arm) and a sweep (any axis of its grid, one
line per value of another). Why together: both summarise many finished runs by their
best validation score, with a band where seeds meet. No ``st.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.style import colour, line_width, marker_size, rgba, titled


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
                    y=np.concatenate([y + sd, (y - sd)[::-1]]),
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
                    y=np.concatenate([y + sd, (y - sd)[::-1]]),
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
    return titled(fig, f"Sweep: best validation {metric} by {x_axis}", 460, large_fonts)
