"""The Insights view's figures: what happens inside one run.

Gradient conflict between tasks (a heatmap and lines of cosines), inter-task affinity
(a source-by-target heatmap), per-epoch lines (task weights, trunk distance, affinity), cross-stitch mixing weights and 2-D maps of the representation.
Why apart from the curves: these read per-epoch tables and sample maps, not the
long-form metrics, and each is one titled chart. No ``st.*``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtl_core.dashboard.figures.style import colour, font_size, line_width, marker_size, titled

# ColorBrewer RdBu (colour-blind safe): red for conflict (< 0), white at 0, blue for agreement.
DIVERGING = [[i / 10, c] for i, c in enumerate(pc.diverging.RdBu)]
# Paul Tol's colour-blind-safe qualitative scheme (11 colours): enough for 10 classes.
CLASS_COLOURS = pc.qualitative.Safe


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
    return titled(fig, "Gradient conflict on the shared trunk", height, large_fonts)


def affinity_heatmap(
    matrix: pd.DataFrame, *, aux: tuple[str, ...] = (), large_fonts: bool = False
) -> go.Figure:
    """Z(source → target) averaged over the epochs: rows are whose step, columns whose
    loss. Blue: the step lowers that loss; red: it raises it. The diagonal (a task's own
    step on its own loss, much larger) is written in its cell but left out of the colour
    scale, which is symmetric about 0 and spans the largest other |Z|."""
    z = matrix.to_numpy(dtype=float)
    off = z.copy()
    np.fill_diagonal(off, np.nan)
    finite = np.abs(off[np.isfinite(off)])
    reach = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    text = [
        [
            ("" if not np.isfinite(v) else f"{v:+.3g}" if i != j else f"({v:+.3g})")
            for j, v in enumerate(row)
        ]
        for i, row in enumerate(z)
    ]
    label = [f"{t} (aux)" if t in aux else str(t) for t in matrix.index]
    fig = go.Figure(
        go.Heatmap(
            z=off,
            x=[f"{t}<br>(aux)" if t in aux else str(t) for t in matrix.columns],
            y=label,
            text=text,
            texttemplate="%{text}",
            zmin=-reach,
            zmax=reach,
            colorscale=DIVERGING,
            colorbar={"title": {"text": "Z"}},
            hovertemplate="a step on %{y}<br>changes %{x}'s loss by Z = %{z:+.4f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="whose loss (target)", tickangle=0, automargin=True)
    fig.update_yaxes(title_text="whose step (source)", autorange="reversed", automargin=True)
    height = 220 + 45 * len(matrix)
    return titled(fig, "Inter-task affinity (TAG), mean over the epochs", height, large_fonts)


def affinity_lines(table: pd.DataFrame, *, large_fonts: bool = False) -> go.Figure:
    """Affinity of each ordered pair over the epochs (columns ``source → target``), each
    line named in the legend even when it is the only one: a run of one main task and one
    auxiliary task drew a single line, and no word on the chart said which pair it was."""
    fig = lines_figure(
        table,
        title="Affinity over the epochs",
        y_title="Z (source → target)",
        large_fonts=large_fonts,
        height=max(340, 220 + 45 * len(table.columns) // 2),
    )
    fig.add_hline(y=0, line={"color": "#555", "width": 1, "dash": "dot"})
    fig.update_layout(showlegend=True)
    return fig


def conflict_lines(table: pd.DataFrame, *, large_fonts: bool = False) -> go.Figure:
    """The same cosines as lines, with the zero line (no relation) marked; each line named
    in the legend, even the only one (two tasks make one pair)."""
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
    fig.update_layout(showlegend=True)
    return titled(fig, "Gradient cosine per pair of tasks", 360, large_fonts)


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
    return titled(fig, title, height, large_fonts)


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
    return titled(
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
    """A 2-D map of samples: one trace per class (named), or one trace on a colour scale.

    Each class is also named at the median of its points (a text trace in its legend
    group: hidden with it): ten colours are hard to tell apart on a projector (1, 5 and 8
    are three shades of rose and purple here), a name is not."""
    fig = go.Figure()
    size = marker_size(5, large_fonts)
    if classes:
        codes = values.astype(int)
        centres = {}  # each class's name, drawn after (over) every class's points
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
                    legendgroup=name,
                    marker={
                        "size": size,
                        "color": CLASS_COLOURS[c % len(CLASS_COLOURS)],
                        "opacity": 0.8,
                    },
                    hovertemplate=f"{colour_by}: {name}<extra></extra>",
                )
            )
            centres[name] = np.median(points[pick], axis=0)
        for name, (x, y) in centres.items():
            fig.add_trace(
                go.Scatter(
                    x=[x],
                    y=[y],
                    mode="text",
                    text=[f"<b>{name}</b>"],
                    textfont={  # dark on a white halo: read over any colour
                        "size": font_size(large_fonts) + 5,
                        "color": "#222222",
                        "shadow": "0 0 3px white, 0 0 3px white, 0 0 4px white",
                    },
                    name=name,
                    legendgroup=name,
                    showlegend=False,
                    hoverinfo="skip",
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
    return titled(fig, title, 460, large_fonts)
