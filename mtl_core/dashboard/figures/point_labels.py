"""Where a point's text label goes: beside its marker, clear of the other labels and
markers, and inside the plot.

Why a module: Plotly puts a scatter label at one of nine fixed places around its marker
and never moves it out of another's way; the Trade-off figure's labels ran into each
other and, right of a point near the axis end, were cut at the plot's edge. Each label
here tries its preferred corners in turn, in a pixel model of the plot (the axis spans,
the plot's size in pixels, the text's estimated size, as ``style.legend_room`` estimates
it) and keeps the first that is free, else the one that overlaps least. Pure, no Plotly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CORNERS = ("top right", "bottom left", "top left", "bottom right")


@dataclass(frozen=True)
class Plot:
    """The plot in pixels: its axes' spans (data units), its size and the text's font."""

    x_span: tuple[float, float]
    y_span: tuple[float, float]
    width: float
    height: float
    font: float
    radius: float  # a marker's half size: a label starts this far from its point's centre


def _pixels(plot: Plot, x: float, y: float) -> tuple[float, float]:
    (x0, x1), (y0, y1) = plot.x_span, plot.y_span
    px = (x - x0) / (x1 - x0) * plot.width if x1 > x0 else plot.width / 2
    py = (y - y0) / (y1 - y0) * plot.height if y1 > y0 else plot.height / 2
    return px, py  # y upwards


def _box(plot: Plot, px: float, py: float, text: str, corner: str) -> tuple[float, ...]:
    w, h, r = len(text) * 0.6 * plot.font, 1.3 * plot.font, plot.radius
    up, across = corner.split()
    left = px + r if across == "right" else px - r - w
    bottom = py + r if up == "top" else py - r - h
    return left, bottom, left + w, bottom + h


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    dx = min(a[2], b[2]) - max(a[0], b[0])
    dy = min(a[3], b[3]) - max(a[1], b[1])
    return dx * dy if dx > 0 and dy > 0 else 0.0


def place(
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    preferred: Sequence[Sequence[str]],
    plot: Plot,
) -> list[str]:
    """One Plotly ``textposition`` per point, chosen in the order given: for each label the
    first of its ``preferred`` corners (then the rest of ``CORNERS``) whose box stays in the
    plot and overlaps no marker and no label placed before it, else the least bad."""
    centres = [_pixels(plot, x, y) for x, y in points]
    r = plot.radius
    markers = [(px - r, py - r, px + r, py + r) for px, py in centres]
    frame = (0.0, 0.0, plot.width, plot.height)
    placed: list[tuple[float, ...]] = []
    chosen = []
    for (px, py), text, first in zip(centres, texts, preferred, strict=True):
        corners = [*first, *(c for c in CORNERS if c not in first)]

        def cost(corner: str, px=px, py=py, text=text) -> float:
            box = _box(plot, px, py, text, corner)
            area = (box[2] - box[0]) * (box[3] - box[1])
            outside = area - _overlap(box, frame)
            return outside + sum(_overlap(box, other) for other in (*markers, *placed))

        best = min(corners, key=lambda c: (cost(c) > 0, cost(c), corners.index(c)))
        chosen.append(best)
        placed.append(_box(plot, px, py, text, best))
    return chosen
