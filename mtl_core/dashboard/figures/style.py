"""The look every figure shares: colours, sizes and the legend's place, on a desk or a projector.

Why one module: the curves, the Insights figures and the studies' figures must read as one
family (the same colour for the same position, the same fonts), and projector mode
(``large_fonts``) must enlarge all of them alike: every text (ticks, axis and subplot
titles, legend, hover labels), line widths, markers and the figure's height, with the
legend moved to the right of the plot, where it never covers an axis title
(tests/e2e/test_projector.py). Pure Plotly, no ``st.*``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from mtl_core.data.tasks import METRIC_RANGE

# Okabe & Ito's colour-blind-safe palette, then darker and duller colours after Paul Tol's
# schemes (none too light for a white page): 16 curves before a colour comes back.
PALETTE = (
    *("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"),
    *("#332288", "#999933", "#882255", "#117733", "#661100", "#44AA99", "#777777", "#EE99AA"),
)


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


# How a curve's dash reads, said under every figure of training and validation curves.
LINE_KEY = "Solid: training; dashed: validation"

# Said under every figure whose bands or bars ``within`` cuts.
CUT_NOTE = "Bands and bars stop at what the score can be (an accuracy of 1, a loss of 0)."


def within(values: np.ndarray, metric: str) -> np.ndarray:
    """``values`` (the ends of a ± sd band or of an interval's bar) cut at what ``metric``
    can be: an accuracy band of a few seeds drawn past 1 put the axis, and the eye, where
    no run can be. Hovers keep the numbers as computed."""
    low, high = METRIC_RANGE.get(metric, (-np.inf, np.inf))
    return np.clip(values, low, high)


def _clip(metric: str) -> dict:
    """Plotly ``autorangeoptions`` that stop an axis just past what ``metric`` can be."""
    low, high = METRIC_RANGE.get(metric, (-np.inf, np.inf))
    pad = 0.02 * (high - low) if np.isfinite(high - low) else 0.0
    clip = {"clipmin": low - pad} if np.isfinite(low) else {}
    if np.isfinite(high):
        clip["clipmax"] = high + pad
    return clip


def metric_span(metric: str, values: list[float]) -> list[float] | None:
    """An axis range for ``metric`` when no point gives one: what the metric can be (an
    accuracy's 0 to 1, padded as ``_clip``), else 10% around ``values``, else None."""
    clip = _clip(metric)
    if "clipmin" in clip and "clipmax" in clip:
        return [clip["clipmin"], clip["clipmax"]]
    if not values:
        return None
    low, high = min(values), max(values)
    pad = max(0.1 * max(abs(low), abs(high)), 1e-3)
    return [low - pad, high + pad]


def bounded(fig: go.Figure, metric: str, axis: str = "y") -> None:
    """Let ``axis``'s autorange (``"x"`` or ``"y"``) stop just past what ``metric`` can be:
    Plotly pads a lone point by half an axis on each side, so one learning-curve point
    drew an accuracy axis from -0.5 to 1.5."""
    if clip := _clip(metric):
        getattr(fig, f"update_{axis}axes")(autorangeoptions=clip)


def font_size(large: bool) -> int:
    return 20 if large else 13


def line_width(large: bool) -> float:
    return 4 if large else 2


def marker_size(size: float, large: bool) -> float:
    return round(size * 1.5) if large else size


def scaled_height(height: int, large: bool) -> int:
    """Larger text needs more room: a projector figure is a third taller."""
    return round(height * 4 / 3) if large else height


def look(large: bool, legend_y: float) -> dict:
    """Sizes and the legend's place, shared by every figure: what ``style`` and
    ``styled_layout`` apply.

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
    return {
        "layout": {
            "font": {"size": size},
            "hoverlabel": {"font": {"size": size}},
            "legend": {**legend, "font": {"size": size}},
        },
        "annotations": {"font": {"size": size + 3}},  # subplot titles
        # room for the larger tick labels and axis titles, which then never overlap
        "axes": {"automargin": True} if large else {},
    }


def style(fig: go.Figure, large: bool, legend_y: float) -> None:
    """The shared look (``look``) applied to a figure."""
    parts = look(large, legend_y)
    fig.update_layout(parts["layout"])
    fig.update_annotations(parts["annotations"])
    if parts["axes"]:
        fig.update_xaxes(parts["axes"])
        fig.update_yaxes(parts["axes"])


def styled_layout(layout: dict, large: bool, legend_y: float) -> None:
    """The shared look (``look``) applied to a figure's layout given as plain data (the
    curves build theirs so: figures/curves.py)."""
    parts = look(large, legend_y)
    for name, value in parts["layout"].items():
        layout[name] = {**layout.get(name, {}), **value}
    for note in layout.get("annotations", []):
        note["font"] = {**note.get("font", {}), **parts["annotations"]["font"]}
    for name in layout:
        if name.startswith(("xaxis", "yaxis")):
            layout[name] |= parts["axes"]


def legend_room(names: list[str], large: bool) -> int:
    """Pixels right of the plot for the legend's longest name. Plotly grows the margin
    for a legend from text it measures once, which fell short in projector mode ("hard
    sharin" cut at the edge in a lesson, "parity · trai" in Live): this sets enough room
    from the names themselves (a wide glyph is about 0.6 of the font size, the line
    sample and gaps about 60 px)."""
    longest = max((len(n) for n in names), default=0)
    return round(longest * 0.6 * font_size(large) + 60)


def rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def titled(fig: go.Figure, title: str, height: int, large_fonts: bool) -> go.Figure:
    """A one-chart figure's title, height and margins, then the shared style."""
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
    style(fig, large_fonts, -0.3)
    fig.update_yaxes(automargin=True)
    return fig
