"""Marks on a lesson's arms: where early-stopped runs ended, and each arm's lowest validation loss.

Why a module of its own: ``lesson.py`` draws each arm as a mean line and band; these marks
read the drawn arms back from the figure and say what the mean alone would hide or blur.

- An arm's mean is drawn only over the epochs every one of its seeds reached: past the
  first early stop it would average fewer and fewer seeds, and jump each time one dropped
  out (the early-stopping lesson's mean wiggled at its end). The runs that go on are drawn
  from there one by one, thin, in the arm's colour (its *tail*), each with a tick where it
  ended, and a dotted line, labelled, stands at the mean stop epoch.
- In the loss view, a star on each arm's dashed mean marks its lowest validation loss (the
  bottom of the U that the overfitting lessons ask about), once none of the arm's runs
  trains and only where the mean has turned: while a run trains, the lowest so far rides
  the tip of a falling curve and moves on with it; a minimum at the mean's last epoch is no
  bottom either (the loss may fall further), so neither gets a star.
Pure Plotly, no ``st.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.analysis.summary import best_epoch, still_improving
from mtl_core.dashboard.figures.style import font_size, line_width, marker_size

STOP_LINE = "dot"  # the dotted line at an arm's mean stop epoch
STOP_NAME = " · mean stop"  # that line's name, after its arm's
STOP_MARKER = "line-ns-open"  # a short vertical tick on a run's curve where it ended
TAIL_NAME = " · one run"  # a run's curve past its arm's mean, after its arm's name
TAIL_WIDTH = 0.5  # a tail's width, of the mean line's
BEST_MARKER = "star"  # as the Live chart marks a run's best epoch
BEST_NAME = " · lowest validation loss"  # the star's name, after its arm's


def early_ends(
    frame: pd.DataFrame, arms: dict[str, list[int]], live: set[int]
) -> dict[str, list[int]]:
    """Arm -> the last epoch of each of its runs, for the arms that ended early: none of
    their runs still trains, and on average they end before the longest run of the
    frame (early stopping, or a run that ended before the others)."""
    if frame.empty:
        return {}
    last = frame.groupby("run_id").epoch.max()
    longest = int(last.max())
    out = {}
    for label, ids in arms.items():
        ids = list(dict.fromkeys(ids))
        if set(live).intersection(ids):
            continue
        ends = [int(last[i]) for i in ids if i in last.index]
        if ends and np.mean(ends) < longest:
            out[label] = ends
    return out


def _epoch_label(epoch: float) -> str:
    return f"{epoch:.1f}".removesuffix(".0")


def _lines(traces, group: str) -> list:
    """The arm's own line traces: no band, mark, tail or edge."""
    return [
        t
        for t in traces
        if t.legendgroup == group
        and t.mode == "lines"
        and t.fill != "toself"
        and not (t.name or "").endswith(TAIL_NAME)
        and t.hoverinfo != "skip"
    ]


def mean_curve(fig: go.Figure, group: str) -> go.Scatter | None:
    """The arm's validation mean line (its training line when it has none)."""
    lines = _lines(fig.data, group)
    val = [t for t in lines if t.line.dash == "dash"]
    return (val or lines or [None])[0]


def _points(trace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A line's epochs, x and y."""
    return tuple(np.asarray(v, dtype=float) for v in (trace.customdata, trace.x, trace.y))


def mark_stops(
    fig: go.Figure,
    group: str,
    runs: list[list],
    longest: int,
    k: int,
    large: bool,
) -> None:
    """The arm's runs past its mean (``runs``: each run's lines drawn as the arm,
    ``curves_figure``'s), a tick on each run's validation curve at its last epoch before
    ``longest``, and a dotted line at their mean last epoch, labelled "stopped (mean
    epoch N)"."""
    mean = mean_curve(fig, group)
    if mean is None:
        return
    tint, width = mean.line.color, mean.line.width
    start = float(np.max(mean.customdata)) if len(mean.customdata) else 0.0
    ends, ticks, where = [], [], {}
    for lines in runs:
        for line in lines:
            epochs, x, y = _points(line)
            where.update(zip(epochs, x, strict=True))
            tail = epochs >= start
            if tail.sum() > 1:  # a run that ended where the mean ends has no tail
                fig.add_trace(
                    go.Scatter(
                        x=x[tail],
                        y=y[tail],
                        mode="lines",
                        line={"color": tint, "dash": line.line.dash, "width": width * TAIL_WIDTH},
                        name=f"{group}{TAIL_NAME}",
                        legendgroup=group,
                        showlegend=False,
                        customdata=epochs[tail].astype(int),
                        hovertemplate=f"{group}, one run past the mean · "
                        f"{'validation' if line.line.dash == 'dash' else 'training'}"
                        "<br>epoch %{customdata}<br>%{y:.4f}<extra></extra>",
                    )
                )
        own = [t for t in lines if t.line.dash == "dash"] or lines
        if not own:
            continue
        epochs, x, y = _points(own[0])
        end = int(epochs.max())
        ends.append(end)
        if end < longest:
            ticks.append((end, x[epochs == end][0], y[epochs == end][0]))
    ticks.sort()
    fig.add_trace(
        go.Scatter(
            x=[t[1] for t in ticks],
            y=[t[2] for t in ticks],
            mode="markers",
            marker={
                "symbol": STOP_MARKER,
                "size": marker_size(16, large),
                "color": tint,
                "line": {"color": tint, "width": line_width(large)},
            },
            name=f"{group} · stopped",
            legendgroup=group,
            showlegend=False,
            customdata=[t[0] for t in ticks],
            hovertemplate=f"{group}<br>a run stopped at epoch %{{customdata}}<extra></extra>",
        )
    )
    average = float(np.mean(ends))
    known = sorted(where)
    at = float(np.interp(average, known, [where[e] for e in known]))
    fig.add_shape(
        type="line",
        x0=at,
        x1=at,
        xref="x",
        y0=0,
        y1=1,
        yref="y domain",
        line={"color": tint, "dash": STOP_LINE, "width": line_width(large) * 0.75},
        name=f"{group}{STOP_NAME}",
    )
    fig.add_annotation(
        x=at,
        xref="x",
        y=1 - 0.09 * k,
        yref="y domain",
        text=f"{group}: stopped (mean epoch {_epoch_label(average)})",
        showarrow=False,
        xanchor="left",
        yanchor="top",
        xshift=4,
        bgcolor="rgba(255,255,255,0.8)",
        font={"color": tint, "size": font_size(large)},
    )


def mark_best(fig: go.Figure, group: str, large: bool) -> None:
    """A star on the arm's validation mean where it is lowest, when that is before the
    mean's last epoch (the curve turned there); the figure must show the loss."""
    mean = mean_curve(fig, group)
    if mean is None or mean.line.dash != "dash" or len(mean.y) < 2:
        return
    epochs, x, y = _points(mean)
    values = y.tolist()
    if still_improving(values):  # lowest at its end: no bottom yet (summary.py's rule)
        return
    low = best_epoch(values)
    epoch = int(epochs[low])
    fig.add_trace(
        go.Scatter(
            x=[x[low]],
            y=[y[low]],
            mode="markers",
            marker={
                "symbol": BEST_MARKER,
                "size": marker_size(14, large),
                "color": mean.line.color,
                "line": {"color": "white", "width": 1},
            },
            name=f"{group}{BEST_NAME}",
            legendgroup=group,
            showlegend=False,
            cliponaxis=False,
            customdata=[epoch],
            hovertemplate=f"{group}<br>lowest validation loss: epoch {epoch}<br>%{{y:.4f}}<extra></extra>",
        )
    )


def marks_stops(fig: go.Figure) -> bool:
    """Whether a ``lesson_figure`` marks where early-stopped runs ended (its caption then
    says how to read the marks): read from the figure, which found the early arms once."""
    return any((shape.name or "").endswith(STOP_NAME) for shape in fig.layout.shapes)


def marks_best(fig: go.Figure) -> bool:
    """Whether a ``lesson_figure`` stars some arm's lowest validation loss (its caption
    then says so)."""
    return any((t.name or "").endswith(BEST_NAME) for t in fig.data)
