"""A lesson's curves: one mean line and band per arm, one colour per arm, legend outside.

Why a figure of its own: a lesson compares a few arms over several seeds, and a teacher
must read it at a glance on a projector, so every arm is drawn as one group (the
Compare view's bands, ``curves_figure``), named by its short arm label, and the legend
stands to the right of the plot, clear of the axis titles, however many arms there are.
While the runs train, an arm is the mean of the seeds that have reported so far (and
says how many), over the epochs all of them have reached: a mean of fewer seeds jumps as
they come and go. An arm whose runs end early (early stopping, or a run that ended before
the others) would hide under the band of an arm that trains to the end, so it is drawn
on top, keeping its colour and its place in the legend, and its stops are marked
(``lesson_marks``: its runs past the mean one by one, a tick where each ended and a
dotted line, labelled, at their mean); in the loss view a star marks each ended arm's
lowest validation loss.
Colours follow an arm's role, not its place in the list: the single task is black and
hard sharing blue in every lesson (a class learns them once), a shuffled control takes
its arm's colour, lighter and without a band (its band blurred into its arm's), edged in
white (its light line vanished inside a grey band: the single task's in "Sharing
helps"), and the other arms take the palette's next colours in order.
Pure Plotly over the metrics frame, no ``st.*``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.lesson_marks import (
    early_ends,
    mark_best,
    mark_stops,
    marks_best,
    marks_stops,
)
from mtl_core.dashboard.figures.style import LINE_KEY, PALETTE, legend_room
from mtl_core.dashboard.groups import band_frames
from mtl_core.studies.presets import Preset, control_of

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
EDGE = "#FFFFFF"  # a control's lines are edged in white, under them
EDGE_WIDTH = 2  # px wider than the line: 1 px of white on each side


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


def figure_key(fig: go.Figure, control: bool) -> str:
    """The caption under a lesson's figure (and in its handout): what each line, band and
    mark means, each mark named exactly when the figure draws it."""
    key = f"{LINE_KEY}; shaded: ± one standard deviation."
    if control:
        key += " A shuffled control: its arm's colour, lighter, edged in white, without a band."
    if marks_stops(fig):
        key += (
            " An early-stopped arm's mean ends where its first run stopped; thin lines: its"
            " runs that went on; ticks: where each run ended; dotted line: their mean."
        )
    if marks_best(fig):
        key += " Star: each arm's lowest mean validation loss."
    return key


def arm_frames(
    frame: pd.DataFrame, arms: dict[str, list[int]], live: set[int]
) -> tuple[pd.DataFrame, dict[int, str], dict[int, pd.DataFrame]]:
    """Each arm's mean curves (under its first reporting run's id), its legend name and
    its band, over the epochs where every seed reported has a value; an arm with no
    reported epoch yet is left out."""
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
            every = (stats.n == len(seen)).to_numpy()  # past an early stop, fewer seeds
            means.append(mean[every])
            bands[seen[0]] = stats[every]
        total = len(set(ids))
        names[seen[0]] = label if len(seen) == total else f"{label} ({len(seen)} of {total} seeds)"
    drawn = pd.concat(means, ignore_index=True) if means else frame.iloc[:0]
    return drawn, names, bands


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
    right of the plot. Means and bands cover the epochs every seed of the arm reached.
    The arms that ended early are drawn last (on top), with their runs past the mean and
    their stops marked (``lesson_marks.mark_stops``); in the loss view each ended arm's
    lowest validation loss is starred (``lesson_marks.mark_best``). The arms in
    ``unbanded`` (the shuffled controls, drawn in a lighter shade of their arm) get their
    mean line alone (their band blurred into their arm's), edged in white and drawn over
    all others."""
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
    early = {groups[label]: label for label in early_ends(frame, arms, set(live))}
    # Draw order is trace order: the early arms' traces go last, and the controls' last of
    # all. A control runs along another arm's line where it shows what the lesson asks (the
    # shuffled control on the single task's): drawn first, it lay under that line and its
    # band, unseen; on top it shows, inside the other arm's band. The legend keeps the
    # lesson's order of arms through each trace's rank.
    controls = {groups[label] for label in unbanded if label in groups}

    def order(trace) -> tuple[bool, bool]:
        return trace.legendgroup in controls, trace.legendgroup in early

    fig.data = sorted(fig.data, key=order)
    large = bool(options.get("large_fonts"))
    longest = int(frame.epoch.max()) if len(frame) else 0
    tint = {groups[a]: c for a, c in (colours or {}).items() if a in groups}
    for k, (group, label) in enumerate(early.items()):
        runs = [
            _run_lines(frame[frame.run_id == i], i, group, tint.get(group), task, metric, options)
            for i in dict.fromkeys(arms[label])
            if i in set(frame.run_id)
        ]
        mark_stops(fig, group, runs, longest, k, large)
    if options["view"] == "loss":  # the validation line is a loss: star its bottom
        for label, group in groups.items():
            if not set(live).intersection(arms[label]):
                mark_best(fig, group, large)
    fig.data = sorted(fig.data, key=order)
    _edge(fig, controls)
    for trace in fig.data:
        trace.legendrank = rank.get(trace.legendgroup, len(rank) + 1)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": legend_room(list(names.values()), large)},
    )
    return fig


def _run_lines(
    rows: pd.DataFrame, run: int, group: str, tint: str | None, task: str, metric: str, options
) -> list:
    """One run's training and validation lines, drawn as its arm's would be (the same
    x axis, smoothing and colour)."""
    fig = curves_figure(
        rows,
        tasks=[task],
        metric_of={task: metric},
        run_names={run: group},
        colours={run: tint} if tint else None,
        by_run=True,
        **options,
    )
    return [t for t in fig.data if t.mode == "lines" and t.fill != "toself"]


def _edge(fig: go.Figure, controls: set[str]) -> None:
    """A white edge under each line of a control (hidden with it, no hover): its light
    line stays readable inside another arm's band."""
    at = [
        n
        for n, t in enumerate(fig.data)
        if t.legendgroup in controls and t.mode == "lines" and t.fill != "toself"
    ]
    if not at:
        return
    fig.add_traces(
        [
            {
                "type": "scatter",
                "x": fig.data[n].x,
                "y": fig.data[n].y,
                "mode": "lines",
                "line": {"color": EDGE, "width": fig.data[n].line.width + EDGE_WIDTH},
                "name": f"{fig.data[n].legendgroup} · edge",
                "legendgroup": fig.data[n].legendgroup,
                "showlegend": False,
                "hoverinfo": "skip",
                "xaxis": fig.data[n].xaxis,
                "yaxis": fig.data[n].yaxis,
            }
            for n in at
        ]
    )
    edges = dict(zip(at, fig.data[-len(at) :], strict=True))  # line's place -> its edge
    drawn = []
    for n, trace in enumerate(fig.data[: -len(at)]):
        if n in edges:
            drawn.append(edges[n])  # just before the line: beneath it
        drawn.append(trace)
    fig.data = drawn
