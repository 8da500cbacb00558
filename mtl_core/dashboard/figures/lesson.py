"""A lesson's curves: one mean line and band per arm, one colour per arm, legend outside.

Why a figure of its own: a lesson compares a few arms over several seeds, and a teacher
must read it at a glance on a projector, so every arm is drawn as one group (the
Compare view's bands, ``curves_figure``), named by its short arm label, and the legend
stands to the right of the plot, clear of the axis titles, however many arms there are.
While the runs train, an arm is the mean of the seeds that have reported so far (and
says how many). Pure Plotly over the metrics frame, no ``st.*``.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.groups import band_frames


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
    of ± one standard deviation over its seeds; the legend to the right of the plot."""
    drawn, names, bands = arm_frames(frame, arms, set(live))
    options = {"view": "metric", **(options or {})}
    fig = curves_figure(
        drawn, tasks=[task], metric_of={task: metric}, run_names=names, bands=bands, **options
    )
    fig.update_layout(
        legend={"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"},
        margin={"r": 10},
    )
    return fig
