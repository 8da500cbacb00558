"""A lesson's curves: one mean line and band per arm, one colour per arm, legend outside.

Why a figure of its own: a lesson compares a few arms over several seeds, and a teacher
must read it at a glance on a projector, so every arm is drawn as one group (the
Compare view's bands, ``curves_figure``), named by its short arm label, and the legend
stands to the right of the plot, clear of the axis titles, however many arms there are.
While the runs train, an arm is the mean of the seeds that have reported so far (and
says how many). An arm whose runs end early (early stopping, or a run that ended before
the others) would hide under the band of an arm that trains to the end, so it is drawn
on top, keeping its colour and its place in the legend, and its stops are marked: a
tick on its curve where each seed ended and a dotted line, labelled, at their mean.
Pure Plotly over the metrics frame, no ``st.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.style import font_size, line_width, marker_size
from mtl_core.dashboard.groups import band_frames

STOP_LINE = "dot"  # the dotted line at an arm's mean stop epoch
STOP_MARKER = "line-ns-open"  # a short vertical tick on the curve where a seed ended


def arm_frames(
    frame: pd.DataFrame, arms: dict[str, list[int]], live: set[int]
) -> tuple[pd.DataFrame, dict[int, str], dict[int, pd.DataFrame]]:
    """Each arm's mean curves (under its first reporting run's id), its legend name and
    its band; an arm with no reported epoch yet is left out."""
    means, names, bands = [], {}, {}
    for label, ids in arms.items():
        seen = [i for i in dict.fromkeys(ids) if i in set(frame.run_id)]
        if not seen:
            continue
        if len(seen) == 1:
            means.append(frame[frame.run_id == seen[0]])
        else:
            mean, stats = band_frames(frame, seen, live=bool(live.intersection(seen)))
            means.append(mean)
            bands[seen[0]] = stats
        total = len(set(ids))
        names[seen[0]] = label if len(seen) == total else f"{label} ({len(seen)} of {total} seeds)"
    drawn = pd.concat(means, ignore_index=True) if means else frame.iloc[:0]
    return drawn, names, bands


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


def _curve(fig: go.Figure, group: str) -> go.Scatter | None:
    """The arm's validation line (its training line when it has none)."""
    lines = [t for t in fig.data if t.legendgroup == group and t.fill != "toself"]
    val = [t for t in lines if t.line.dash == "dash"]
    return (val or lines or [None])[0]


def _mark_stops(
    fig: go.Figure, group: str, ends: list[int], longest: int, k: int, large: bool
) -> None:
    """A tick on the arm's curve at each run's last epoch before ``longest``, and a dotted
    line at the mean last epoch of its runs, labelled "stopped (mean epoch N)"."""
    curve = _curve(fig, group)
    if curve is None:
        return
    epochs = np.asarray(curve.customdata, dtype=float)
    x, y = np.asarray(curve.x, dtype=float), np.asarray(curve.y, dtype=float)
    tint = curve.line.color
    stops = sorted(e for e in ends if e < longest and e in epochs)
    at = [int(np.flatnonzero(epochs == e)[0]) for e in stops]
    fig.add_trace(
        go.Scatter(
            x=x[at],
            y=y[at],
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
            customdata=stops,
            hovertemplate=f"{group}<br>a run stopped at epoch %{{customdata}}<extra></extra>",
        )
    )
    mean = float(np.mean(ends))
    where = float(np.interp(mean, epochs, x))
    fig.add_shape(
        type="line",
        x0=where,
        x1=where,
        xref="x",
        y0=0,
        y1=1,
        yref="y domain",
        line={"color": tint, "dash": STOP_LINE, "width": line_width(large) * 0.75},
        name=f"{group} · mean stop",
    )
    fig.add_annotation(
        x=where,
        xref="x",
        y=1 - 0.09 * k,
        yref="y domain",
        text=f"{group}: stopped (mean epoch {_epoch_label(mean)})",
        showarrow=False,
        xanchor="left",
        yanchor="top",
        xshift=4,
        bgcolor="rgba(255,255,255,0.8)",
        font={"color": tint, "size": font_size(large)},
    )


def lesson_figure(
    frame: pd.DataFrame,
    arms: dict[str, list[int]],
    *,
    task: str,
    metric: str,
    live: set[int] = frozenset(),
    options: dict | None = None,
) -> go.Figure:
    """The main task's curves of every arm (train solid, validation dashed), with a band
    of ± one standard deviation over its seeds; the legend to the right of the plot. The
    arms that ended early are drawn last (on top), with their stops marked."""
    drawn, names, bands = arm_frames(frame, arms, set(live))
    options = {"view": "metric", **(options or {})}
    fig = curves_figure(
        drawn, tasks=[task], metric_of={task: metric}, run_names=names, bands=bands, **options
    )
    groups = {label: names[i] for label, ids in arms.items() for i in ids if i in names}
    rank = {group: n for n, group in enumerate(groups.values(), start=1)}
    early = {groups[label]: ends for label, ends in early_ends(frame, arms, set(live)).items()}
    # Draw order is trace order: the early arms' traces go last. The legend keeps the
    # lesson's order of arms through each trace's rank.
    fig.data = sorted(fig.data, key=lambda t: t.legendgroup in early)
    for trace in fig.data:
        trace.legendrank = rank.get(trace.legendgroup, len(rank) + 1)
    longest = int(frame.epoch.max()) if len(frame) else 0
    for k, (group, ends) in enumerate(early.items()):
        _mark_stops(fig, group, ends, longest, k, bool(options.get("large_fonts")))
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": 10},
    )
    return fig
