"""Plotly figures from long-form metrics: one panel per task, train solid, validation dashed.

Pure functions of a DataFrame (run_id, epoch, task, split, metric, value), so that the
live view, the comparison and the tests draw exactly the same thing. Smoothing changes
the display only; the stored numbers never change.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Okabe & Ito's colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
X_AXES = {"epoch": "epoch", "steps": "optimiser steps", "samples": "samples seen"}


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


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
) -> go.Figure:
    """Curves of every run in ``frame``: coloured by task for one run, by run for several."""
    runs = list(dict.fromkeys(frame.run_id)) if len(frame) else []
    by_run = len(runs) > 1
    names = run_names or {r: f"run {r}" for r in runs}
    cols = max(1, min(len(tasks), 3))
    rows_n = max(1, math.ceil(len(tasks) / cols))
    titles = [f"{t} — {view if view == 'loss' else metric_of.get(t, view)}" for t in tasks]
    fig = make_subplots(rows=rows_n, cols=cols, subplot_titles=titles or [""],
                        horizontal_spacing=0.08, vertical_spacing=0.16)  # fmt: skip
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
                if split == "val" and not by_run and "train" in curves:
                    fill = "tonexty"  # shade the generalisation gap between the two curves
                fig.add_trace(go.Scatter(
                    x=x, y=y, mode="lines", name=label, legendgroup=label,
                    showlegend=ti == 0 or not by_run,
                    line={"color": tint, "dash": dash, "width": 2.5 if large_fonts else 2},
                    fill=fill, fillcolor=_rgba(tint, 0.12) if fill else None,
                    customdata=epochs,
                    hovertemplate=f"{label}<br>epoch %{{customdata}}<br>%{{y:.4f}}<extra></extra>",
                ), row=row, col=col)  # fmt: skip
            epoch = (best or {}).get((run, task))
            if epoch is not None and "val" in curves:
                part = sel[(sel.split == "val") & (sel.epoch == epoch)]
                if len(part):
                    xb = epoch if xmap is None else xmap.get(epoch, np.nan)
                    fig.add_trace(go.Scatter(
                        x=[xb], y=[float(part.value.iloc[0])], mode="markers",
                        marker={"symbol": "star", "size": 14, "color": tint,
                                "line": {"color": "white", "width": 1}},
                        name=f"best epoch {epoch}", showlegend=False,
                        hovertemplate=f"best validation loss<br>epoch {epoch}<br>%{{y:.4f}}<extra></extra>",
                    ), row=row, col=col)  # fmt: skip
        fig.update_xaxes(title_text=X_AXES[x_axis], row=row, col=col)
        if log_y:
            fig.update_yaxes(type="log", row=row, col=col)
    font = 20 if large_fonts else 13
    fig.update_layout(
        height=height * rows_n if rows_n > 1 else height,
        uirevision="keep",  # zoom and hidden traces survive the live redraws
        font={"size": font},
        hovermode="closest",
        legend={"orientation": "h", "y": -0.25},
        margin={"l": 50, "r": 20, "t": 50, "b": 40},
    )
    return fig
