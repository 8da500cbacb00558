"""A panel that redraws itself while runs train and is plain page content once they end.

Why not a fragment all the time: a view's live part polls as a Streamlit fragment with
``run_every`` and asks for a full rerun when the last run ends. The browser's timer for
that fragment can fire once more after the full rerun has begun; when the full rerun
drew the same fragment again (with no timer), Streamlit ran it a second time, as a
fragment, and the browser then dropped the element drawn right after it: a lesson's
"Verdict" heading vanished on about half of the runs on a fast machine (the lesson
browser test waited 240 s for it in CI twice). Drawn as plain content once nothing is
live, the panel has no fragment left for a late timer to run: Streamlit drops that
request ("does not exist anymore") and the page stays as the full rerun drew it.

Why the plain content still sits in a container: a fragment draws its elements inside a
container of its own. Drawn without one, the last full rerun put the panel's elements one
level higher, so the browser removed every element of the panel and mounted new ones: the
chart vanished at the end of every run and was drawn anew from its JSON (a flash, and
a projector test's cards and legend briefly absent). In a container, each element keeps
its place and is updated where it is (tests/e2e/test_browser.py watches the chart's
element through a run's end).

``live_panel(draw, every)`` is the one way a view polls: ``draw()`` draws the panel and
returns whether anything it shows is still live; ``every`` is the polling interval while
something is, None when nothing is.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def live_panel(draw: Callable[[], bool], every: float | None) -> None:
    """Draw ``draw``'s panel: every ``every`` seconds, then once more in a full rerun when
    ``draw`` says nothing is live any longer (the rest of the view, a verdict or a table,
    is then drawn for what ended). ``every`` None (nothing live): drawn once, as plain
    content in a container, where the fragment's elements were."""
    if every is None:
        with st.container():
            draw()
        return

    @st.fragment(run_every=every)
    def panel() -> None:
        if not draw():
            st.rerun(scope="app")

    panel()
