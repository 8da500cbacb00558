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
Colours follow an arm's role, not its place in the list: the single task is black and
hard sharing blue in every lesson (a class learns them once), a shuffled control takes
its arm's colour, lighter and without a band (its band blurred into its arm's), and the
other arms take the palette's next colours in order.
Pure Plotly over the metrics frame, no ``st.*``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.style import (
    PALETTE,
    font_size,
    legend_room,
    line_width,
    marker_size,
)
from mtl_core.dashboard.groups import band_frames
from mtl_core.studies.presets import Preset, control_of

STOP_LINE = "dot"  # the dotted line at an arm's mean stop epoch
STOP_NAME = " · mean stop"  # that line's name, after its arm's
STOP_MARKER = "line-ns-open"  # a short vertical tick on the curve where a seed ended
# the same in every lesson ("all shared" is hard sharing under its where-to-branch name)
ROLE_COLOURS = {"single task": "#000000", "hard sharing": "#0072B2", "all shared": "#0072B2"}
TOO_LIGHT = {"#F0E442", "#EE99AA"}  # yellow and pink: lightened for a control, unreadable
# The other arms: orange, green, purple and sky blue first (orange beside vermilion read
# as one colour in a lesson of four auxiliary tasks), then the rest of the palette.
FIRST = ("#E69F00", "#009E73", "#CC79A7", "#56B4E9")
ARM_PALETTE = tuple(
    c for c in dict.fromkeys((*FIRST, *PALETTE)) if c not in {*ROLE_COLOURS.values(), *TOO_LIGHT}
)
BAND_ALPHA = {4: 0.25, 99: 0.12}  # up to N arms: the bands' opacity (fainter when many)
CONTROL_LIGHTER = 0.5  # a control's colour: its arm's, halfway to white


def lighter(hex_colour: str, t: float = CONTROL_LIGHTER) -> str:
    rgb = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(v + (255 - v) * t):02X}" for v in rgb)


def arm_colours(preset: Preset) -> dict[str, str]:
    """Arm label -> colour: by role (``ROLE_COLOURS``), a control in its arm's colour made
    lighter, the rest in the order of the arms."""
    controls = control_of(preset)
    out = {arm: ROLE_COLOURS[arm] for arm in preset.arms if arm in ROLE_COLOURS}
    rest = iter(ARM_PALETTE)
    for arm in preset.arms:
        if arm not in out and arm not in controls:
            out[arm] = next(rest)
    out.update({arm: lighter(out[base]) for arm, base in controls.items()})
    return {arm: out[arm] for arm in preset.arms}


def arm_frames(
    frame: pd.DataFrame, arms: dict[str, list[int]], live: set[int]
) -> tuple[pd.DataFrame, dict[int, str], dict[int, pd.DataFrame]]:
    """Each arm's mean curves (under its first reporting run's id), its legend name and
    its band; an arm with no reported epoch yet is left out."""
    means, names, bands = [], {}, {}
    reported = set(frame.run_id)
    for label, ids in arms.items():
        seen = [i for i in dict.fromkeys(ids) if i in reported]
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
        name=f"{group}{STOP_NAME}",
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


def marks_stops(fig: go.Figure) -> bool:
    """Whether a ``lesson_figure`` marks where early-stopped runs ended (its caption then
    says how to read the marks): read from the figure, which found the early arms once."""
    return any((shape.name or "").endswith(STOP_NAME) for shape in fig.layout.shapes)


def lesson_figure(
    frame: pd.DataFrame,
    arms: dict[str, list[int]],
    *,
    task: str,
    metric: str,
    live: set[int] = frozenset(),
    options: dict | None = None,
    colours: dict[str, str] | None = None,
    unbanded: frozenset[str] = frozenset(),
) -> go.Figure:
    """The main task's curves of every arm (train solid, validation dashed), with a band
    of ± one standard deviation over its seeds, named and coloured by arm (``colours``:
    arm label -> colour, ``arm_colours``) even when there is one arm; the legend to the
    right of the plot. The arms that ended early are drawn last (on top), with their
    stops marked. The arms in ``unbanded`` (the shuffled controls, drawn in a lighter
    shade of their arm) get their mean line alone (their band blurred into their arm's),
    drawn over all others."""
    drawn, names, bands = arm_frames(frame, arms, set(live))
    for label in unbanded:
        for i in arms.get(label, []):
            bands.pop(i, None)
    options = {"view": "metric", **(options or {})}
    first = {label: next((i for i in ids if i in names), None) for label, ids in arms.items()}
    fig = curves_figure(
        drawn,
        tasks=[task],
        metric_of={task: metric},
        run_names=names,
        bands=bands,
        colours={first[a]: c for a, c in (colours or {}).items() if first.get(a) is not None},
        by_run=True,
        band_alpha=next(a for n, a in BAND_ALPHA.items() if len(arms) <= n),
        **options,
    )
    groups = {label: names[i] for label, ids in arms.items() for i in ids if i in names}
    rank = {group: n for n, group in enumerate(groups.values(), start=1)}
    early = {groups[label]: ends for label, ends in early_ends(frame, arms, set(live)).items()}
    # Draw order is trace order: the early arms' traces go last, and the controls' last of
    # all. A control runs along another arm's line where it shows what the lesson asks (the
    # shuffled control on the single task's): drawn first, it lay under that line and its
    # band, unseen; on top it shows, inside the other arm's band. The legend keeps the
    # lesson's order of arms through each trace's rank.
    controls = {groups[label] for label in unbanded if label in groups}
    fig.data = sorted(fig.data, key=lambda t: (t.legendgroup in controls, t.legendgroup in early))
    for trace in fig.data:
        trace.legendrank = rank.get(trace.legendgroup, len(rank) + 1)
    large = bool(options.get("large_fonts"))
    longest = int(frame.epoch.max()) if len(frame) else 0
    for k, (group, ends) in enumerate(early.items()):
        _mark_stops(fig, group, ends, longest, k, large)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": legend_room(list(names.values()), large)},
    )
    return fig
