"""Plotly figures from long-form metrics: one panel per task, train solid, validation dashed.

Pure functions of a DataFrame (run_id, epoch, task, split, metric, value), so that the
live view, the comparison and the tests draw exactly the same thing. Smoothing changes
the display only; the stored numbers never change.

Projector mode (``large_fonts``) enlarges every text (ticks, axis and subplot titles,
legend, hover labels), line widths, markers and the figure's height, and moves the
legend to the right of the plot, so it never covers an axis title
(tests/e2e/test_projector.py).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Okabe & Ito's colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
X_AXES = {"epoch": "epoch", "steps": "optimiser steps", "samples": "samples seen"}


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def font_size(large: bool) -> int:
    return 20 if large else 13


def line_width(large: bool) -> float:
    return 4 if large else 2


def marker_size(size: float, large: bool) -> float:
    return round(size * 1.5) if large else size


def scaled_height(height: int, large: bool) -> int:
    """Larger text needs more room: a projector figure is a third taller."""
    return round(height * 4 / 3) if large else height


def _style(fig: go.Figure, large: bool, legend_y: float) -> None:
    """Sizes and the legend's place, shared by every figure.

    A projector's fonts need two rows of legend below the plot, which then covered the
    x-axis titles (the legend is placed in fractions of the plot's height, the titles in
    pixels). There the legend stands on the right instead, in the margin Plotly grows
    for it, where no axis title is.
    """
    size = font_size(large)
    if large:
        legend = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}
    else:
        legend = {"orientation": "h", "y": legend_y, "yanchor": "top"}  # rows grow downwards
    fig.update_layout(
        font={"size": size},
        hoverlabel={"font": {"size": size}},
        legend={**legend, "font": {"size": size}},
    )
    fig.update_annotations(font={"size": size + 3})  # subplot titles
    if large:  # room for the larger tick labels and axis titles, which then never overlap
        fig.update_xaxes(automargin=True)
        fig.update_yaxes(automargin=True)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


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


def _band_sd(
    band: pd.DataFrame, task: str, split: str, metric: str, epochs: np.ndarray
) -> np.ndarray:
    sel = band[(band.task == task) & (band.split == split) & (band.metric == metric)]
    sd = sel.set_index("epoch").sd
    return np.array([float(sd.get(int(e), 0.0)) for e in epochs])


def _add_band(
    fig: go.Figure,
    x: np.ndarray,
    y: np.ndarray,
    sd: np.ndarray,
    tint: str,
    label: str,
    log_y: bool,
    row: int,
    col: int,
) -> None:
    """mean ± sd as one closed, filled polygon under the mean line (hidden with it)."""
    low = y - sd
    if log_y:  # a band reaching below 0 cannot be drawn on a log axis: clip it
        low = np.maximum(low, y / 10)
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([x, x[::-1]]),
            y=np.concatenate([y + sd, low[::-1]]),
            fill="toself",
            fillcolor=_rgba(tint, 0.25),
            line={"width": 0},
            mode="lines",
            name=f"{label} ± sd",
            legendgroup=label,
            showlegend=False,
            hoverinfo="skip",
        ),
        row=row,
        col=col,
    )


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
) -> go.Figure:
    """Curves of every run in ``frame``: coloured by task for one run, by run for several.

    A run id in ``bands`` is a group of seeds: its curves in ``frame`` are the means, and
    ``bands[id]`` (epoch, task, split, metric, sd) draws a ± one standard deviation band.
    """
    runs = list(dict.fromkeys(frame.run_id)) if len(frame) else []
    by_run = len(runs) > 1
    names = run_names or {r: f"run {r}" for r in runs}
    cols = max(1, min(len(tasks), 3))
    rows_n = max(1, math.ceil(len(tasks) / cols))
    titles = [f"{t} — {view if view == 'loss' else metric_of.get(t, view)}" for t in tasks]
    fig = make_subplots(
        rows=rows_n,
        cols=cols,
        subplot_titles=titles or [""],
        horizontal_spacing=0.08,
        vertical_spacing=0.16,
    )
    for ti, task in enumerate(tasks):
        row, col = ti // cols + 1, ti % cols + 1
        metric = "loss" if view == "loss" else metric_of.get(task, "accuracy")
        for ri, run in enumerate(runs):
            tint = colour(ri if by_run else ti)
            sel = frame[(frame.run_id == run) & (frame.task == task) & (frame.metric == metric)]
            xmap = _x_map(frame, run, x_axis)
            curves = {}
            for split, dash in (("train", "solid"), ("val", "dash")):
                part = sel[sel.split == split].sort_values("epoch")
                if part.empty:
                    continue
                epochs = part.epoch.to_numpy()
                x = epochs if xmap is None else np.array([xmap.get(int(e), np.nan) for e in epochs])
                y = ema(part.value.to_numpy(dtype=float), smoothing)
                curves[split] = (x, y)
                label = f"{names.get(run, run)} · {split}" if by_run else f"{task} · {split}"
                fill = None
                band = (bands or {}).get(run)
                if band is not None:
                    sd = _band_sd(band, task, split, metric, epochs)
                    _add_band(fig, x, y, sd, tint, label, log_y, row, col)
                elif split == "val" and not by_run and "train" in curves:
                    fill = "tonexty"  # shade the generalisation gap between the two curves
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        mode="lines",
                        name=label,
                        legendgroup=label,
                        showlegend=ti == 0 or not by_run,
                        line={"color": tint, "dash": dash, "width": line_width(large_fonts)},
                        fill=fill,
                        fillcolor=_rgba(tint, 0.12) if fill else None,
                        customdata=epochs,
                        hovertemplate=f"{label}<br>epoch %{{customdata}}<br>%{{y:.4f}}<extra></extra>",
                    ),
                    row=row,
                    col=col,
                )
            epoch = (best or {}).get((run, task))
            if epoch is not None and "val" in curves:
                part = sel[(sel.split == "val") & (sel.epoch == epoch)]
                if len(part):
                    xb = epoch if xmap is None else xmap.get(epoch, np.nan)
                    fig.add_trace(
                        go.Scatter(
                            x=[xb],
                            y=[float(part.value.iloc[0])],
                            mode="markers",
                            marker={
                                "symbol": "star",
                                "size": marker_size(14, large_fonts),
                                "color": tint,
                                "line": {"color": "white", "width": 1},
                            },
                            name=f"best epoch {epoch}",
                            showlegend=False,
                            hovertemplate=f"best validation loss<br>epoch {epoch}<br>%{{y:.4f}}<extra></extra>",
                        ),
                        row=row,
                        col=col,
                    )
        fig.update_xaxes(title_text=X_AXES[x_axis], row=row, col=col)
        if log_y:
            fig.update_yaxes(type="log", row=row, col=col)
    height = scaled_height(height, large_fonts)
    fig.update_layout(
        height=height * rows_n if rows_n > 1 else height,
        uirevision="keep",  # zoom and hidden traces survive the live redraws
        hovermode="closest",
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    _style(fig, large_fonts, -0.25)
    return fig


# -- Insights: what happens inside a run ----------------------------------------------------

# ColorBrewer RdBu (colour-blind safe): red for conflict (< 0), white at 0, blue for agreement.
DIVERGING = [[i / 10, c] for i, c in enumerate(pc.diverging.RdBu)]
# Paul Tol's colour-blind-safe qualitative scheme (11 colours): enough for 10 classes.
CLASS_COLOURS = pc.qualitative.Safe


def _layout(fig: go.Figure, title: str, height: int, large_fonts: bool) -> go.Figure:
    fig.update_layout(
        title={
            "text": title,
            "x": 0,
            "xanchor": "left",
            "font": {"size": font_size(large_fonts) + 4},
        },
        height=scaled_height(height, large_fonts),
        uirevision="keep",
        hovermode="closest",
        margin={"l": 60, "r": 20, "t": 80 if large_fonts else 60, "b": 40},
    )
    _style(fig, large_fonts, -0.3)
    fig.update_yaxes(automargin=True)
    return fig


def conflict_heatmap(table: pd.DataFrame, *, large_fonts: bool = False) -> go.Figure:
    """Cosine of each pair's gradients (rows: pairs, columns: epochs), centred at 0.

    The colour range is symmetric (white is always 0) and spans the largest |cosine|,
    rounded up to a quarter: cosines of ±0.3 would look almost white on a ±1 scale.
    """
    z = table.to_numpy(dtype=float)
    finite = np.abs(z[np.isfinite(z)])
    reach = min(1.0, max(0.25, math.ceil(finite.max() * 4) / 4)) if finite.size else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[int(e) for e in table.columns],
            y=list(table.index),
            zmin=-reach,
            zmax=reach,
            colorscale=DIVERGING,
            colorbar={"title": {"text": "cosine"}},
            hovertemplate="%{y}<br>epoch %{x}<br>cosine %{z:+.3f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(autorange="reversed", automargin=True)  # the first pair on top
    height = 200 + 40 * len(table)
    return _layout(fig, "Gradient conflict on the shared trunk", height, large_fonts)


def conflict_lines(table: pd.DataFrame, *, large_fonts: bool = False) -> go.Figure:
    """The same cosines as lines, with the zero line (no relation) marked."""
    fig = go.Figure()
    for i, (pair, row) in enumerate(table.iterrows()):
        fig.add_trace(
            go.Scatter(
                x=[int(e) for e in table.columns],
                y=row.to_numpy(dtype=float),
                mode="lines",
                name=pair,
                line={"color": colour(i), "width": line_width(large_fonts)},
                hovertemplate=f"{pair}<br>epoch %{{x}}<br>cosine %{{y:+.3f}}<extra></extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "#555", "width": 1, "dash": "dot"})
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="cosine")
    return _layout(fig, "Gradient cosine per pair of tasks", 360, large_fonts)


def lines_figure(
    table: pd.DataFrame, *, title: str, y_title: str, large_fonts: bool = False, height: int = 340
) -> go.Figure:
    """One line per column of ``table`` (index: epoch): task weights, trunk distance."""
    fig = go.Figure()
    for i, name in enumerate(table.columns):
        part = table[name].dropna()
        fig.add_trace(
            go.Scatter(
                x=part.index.astype(int),
                y=part.to_numpy(dtype=float),
                mode="lines+markers",
                name=str(name),
                marker={"size": marker_size(4, large_fonts)},
                line={"color": colour(i), "width": line_width(large_fonts)},
                hovertemplate=f"{name}<br>epoch %{{x}}<br>%{{y:.4g}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text=y_title)
    fig.update_layout(showlegend=len(table.columns) > 1)
    return _layout(fig, title, height, large_fonts)


def stitch_figure(table: pd.DataFrame, *, large_fonts: bool = False) -> go.Figure:
    """Cross-stitch mixing weights: one panel per unit, one line per coefficient.

    ``table`` has one column per ``alpha:unit:to:from`` (index: epoch). Solid lines are a
    column's weight on itself, dashed ones what it reads from another task's column.
    """
    parsed = {name: name.split(":")[1:] for name in table.columns}
    units = sorted({int(u) for u, _, _ in parsed.values()})
    pairs = list(dict.fromkeys((to, src) for _, to, src in parsed.values()))
    fig = make_subplots(
        rows=1,
        cols=len(units),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[f"unit {u}" for u in units],
    )
    for name, (unit, to, src) in parsed.items():
        i = pairs.index((to, src))
        label = f"{to} ← {src}"
        part = table[name].dropna()
        fig.add_trace(
            go.Scatter(
                x=part.index.astype(int),
                y=part.to_numpy(dtype=float),
                mode="lines",
                name=label,
                legendgroup=label,
                showlegend=int(unit) == units[0],
                line={
                    "color": colour(i),
                    "dash": "solid" if to == src else "dash",
                    "width": line_width(large_fonts),
                },
                hovertemplate=f"unit {unit}: {label}<br>epoch %{{x}}<br>%{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=units.index(int(unit)) + 1,
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="mixing weight", row=1, col=1)
    return _layout(
        fig, "Cross-stitch mixing weights (receiving column ← source column)", 380, large_fonts
    )


def projection_figure(
    points: np.ndarray,
    values: np.ndarray,
    *,
    classes: list[str],
    colour_by: str,
    title: str,
    large_fonts: bool = False,
) -> go.Figure:
    """A 2-D map of samples: one trace per class (named), or one trace on a colour scale."""
    fig = go.Figure()
    size = marker_size(5, large_fonts)
    if classes:
        codes = values.astype(int)
        for c, name in enumerate(classes):
            pick = codes == c
            if not pick.any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=points[pick, 0],
                    y=points[pick, 1],
                    mode="markers",
                    name=name,
                    marker={
                        "size": size,
                        "color": CLASS_COLOURS[c % len(CLASS_COLOURS)],
                        "opacity": 0.8,
                    },
                    hovertemplate=f"{colour_by}: {name}<extra></extra>",
                )
            )
    else:
        fig.add_trace(
            go.Scatter(
                x=points[:, 0],
                y=points[:, 1],
                mode="markers",
                name=colour_by,
                showlegend=False,
                marker={
                    "size": size,
                    "color": values,
                    "colorscale": "Viridis",
                    "opacity": 0.85,
                    "colorbar": {"title": {"text": colour_by}},
                },
                hovertemplate=f"{colour_by}: %{{marker.color:.3g}}<extra></extra>",
            )
        )
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False, scaleanchor="x")
    return _layout(fig, title, 460, large_fonts)


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
                    fillcolor=_rgba(tint, 0.18),
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
    return _layout(fig, f"Learning curve: {task}", 440, large_fonts)


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
                    fillcolor=_rgba(tint, 0.18),
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
    return _layout(fig, f"Sweep: best validation {metric} by {x_axis}", 460, large_fonts)
