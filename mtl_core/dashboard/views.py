"""The page's views, each declared once: a name (viewnames.V) and a ``render(ctx)``.

Why a registry: the view control offers the views in the order declared here, and
``app.py`` draws the chosen one by calling its render with one ``ViewContext``, so a new
view is one entry here and nothing else; the page test selects every declared view
(tests/test_views.py). The pages keep their own signatures: each entry adapts the
context to its page's function, so the Data view wraps ``pages.preview.data_view``.
The Lessons view is the landing cards, or the lesson one of them opened
(``widgets/lesson_state.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mtl_core.config import RunConfig
from mtl_core.dashboard.pages.compare import compare_view
from mtl_core.dashboard.pages.depth import depth_view
from mtl_core.dashboard.pages.history import history_view
from mtl_core.dashboard.pages.insights import insights_view
from mtl_core.dashboard.pages.landing import landing_view
from mtl_core.dashboard.pages.learning import learning_view
from mtl_core.dashboard.pages.lesson import lesson_view
from mtl_core.dashboard.pages.live import live_view
from mtl_core.dashboard.pages.pareto import pareto_view
from mtl_core.dashboard.pages.preview import data_view
from mtl_core.dashboard.pages.sweeps import sweeps_view
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.lesson_state import open_slug
from mtl_core.studies.lessons import LESSONS


@dataclass(frozen=True)
class ViewContext:
    """What a view may need from the page around it."""

    manager: RunManager
    owner: str  # this browser's owner token (state.session_token)
    config: RunConfig | None  # the sidebar's setup; None while it is invalid
    # Draws the chart controls (Show, x-axis, log y, smoothing) and returns their values:
    # called only by the views that draw curves, so the others show no such controls.
    chart_options: Callable[[], dict]


@dataclass(frozen=True)
class View:
    name: str
    render: Callable[[ViewContext], None]


def lessons(ctx: ViewContext) -> None:
    """The open lesson's page, or the cards that open one."""
    if open_slug() in LESSONS:
        lesson_view(ctx.manager, ctx.owner, ctx.chart_options)
    else:
        landing_view()


VIEWS: tuple[View, ...] = (
    View(V.lessons, lessons),
    View(V.live, lambda ctx: live_view(ctx.manager, ctx.owner, ctx.chart_options())),
    View(V.insights, lambda ctx: insights_view(ctx.manager, ctx.owner)),
    View(V.compare, lambda ctx: compare_view(ctx.manager, ctx.chart_options(), ctx.owner)),
    View(V.learning, lambda ctx: learning_view(ctx.manager, ctx.owner, ctx.config)),
    View(V.depth, lambda ctx: depth_view(ctx.manager, ctx.owner, ctx.config)),
    View(V.pareto, lambda ctx: pareto_view(ctx.manager, ctx.owner, ctx.config)),
    View(V.sweeps, lambda ctx: sweeps_view(ctx.manager)),
    View(V.history, lambda ctx: history_view(ctx.manager, ctx.owner)),
    View(V.data, lambda ctx: data_view(ctx.config)),
)
DEFAULT = V.live  # the view drawn when none is selected, and the one a run's link opens
FIRST = V.lessons  # the first view of every other new session (app.init_from_url)


def names() -> list[str]:
    """The view control's options, in order."""
    return [view.name for view in VIEWS]


def find(name: str | None) -> View:
    """The view called ``name``; the default view for None (the control deselected)."""
    by_name = {view.name: view for view in VIEWS}
    return by_name.get(name) or by_name[DEFAULT]
