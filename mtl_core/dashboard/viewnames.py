"""The names of the page's views, each typed once: what the view control offers and what
``st.session_state[K.view]`` (and ``K.pending_view``) holds.

Why a module of their own: pages switch views (a run opened from History goes to Live, a
group of seeds to Compare), and the registry that pairs each name with its page's render
(``views.py``) imports those pages; the names sit below both, so neither imports the
other. Every name here has exactly one view in the registry (tests/test_views.py).
"""

from __future__ import annotations


class V:
    """View names, as the segmented control shows them; their order is the registry's."""

    lessons = "Lessons"
    live = "Live"
    insights = "Insights"
    compare = "Compare"
    learning = "Learning curve"
    depth = "Sharing depth"
    pareto = "Trade-off"
    sweeps = "Sweeps"
    history = "History"
    data = "Data"


def every_name() -> list[str]:
    """The names declared above (the registry must declare a view for each)."""
    return [value for name, value in vars(V).items() if not name.startswith("_")]


def view_slug(name: str) -> str:
    """The view's name as the address bar keeps it: ``view=learning-curve``."""
    return name.lower().replace(" ", "-")


def from_slug(text: str) -> str | None:
    """The view a link's ``view=`` names (None for none)."""
    return next((name for name in every_name() if view_slug(name) == text), None)
