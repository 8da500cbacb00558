"""A view's live part polls as a fragment only while something is live (widgets/polling.py).

Why it matters: a fragment drawn again by the full rerun that ended its polling could be run
once more by a late timer, and the browser then dropped the element drawn right after it (a
lesson's "Verdict" heading, about half of the time on a fast machine). ``live_panel`` draws
the panel as plain content when nothing is live, so no fragment is left to run; with
something live it polls and asks for one full rerun when ``draw`` says it all ended. Every
view polls through it: the only other fragments are the two watchers that poll for as long
as the view is open (History's table, the empty Sweeps page), named here.
"""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

import mtl_core.dashboard as dashboard_pkg
from mtl_core.dashboard.widgets import polling

PAGES = Path(dashboard_pkg.__file__).parent
ALWAYS_POLLING = {"pages/history.py": 1, "pages/sweeps.py": 1}  # watchers, no end


def script(every: str, live_after: int) -> str:
    """A page whose panel counts its draws and is live for its first ``live_after`` ones."""
    return f"""
import streamlit as st
from mtl_core.dashboard.widgets.polling import live_panel
st.session_state.setdefault("draws", 0)
st.session_state.setdefault("full_runs", 0)
st.session_state.full_runs += 1

def draw():
    st.session_state.draws += 1
    st.markdown(f"draw {{st.session_state.draws}}")
    return st.session_state.draws <= {live_after}

live_panel(draw, {every})
st.markdown("after the panel")
"""


def test_nothing_live_draws_plain_content_and_registers_no_fragment(monkeypatch):
    made = []
    monkeypatch.setattr(polling.st, "fragment", lambda **kw: made.append(kw) or (lambda f: f))
    at = AppTest.from_string(script("None", 0)).run()
    assert not at.exception
    assert made == []  # no fragment: a late timer has nothing to run
    assert [m.value for m in at.markdown] == ["draw 1", "after the panel"]


def test_something_live_polls_as_a_fragment_at_the_given_interval(monkeypatch):
    made = []
    real = polling.st.fragment
    monkeypatch.setattr(polling.st, "fragment", lambda **kw: made.append(kw) or real(**kw))
    at = AppTest.from_string(script("0.5", 5)).run()
    assert not at.exception
    assert made == [{"run_every": 0.5}]
    assert at.session_state.full_runs == 1  # still live: no full rerun asked for


def test_the_draw_that_finds_nothing_live_asks_for_one_full_rerun():
    # live when the view looked (first full run); ended by the time the panel drew
    at = AppTest.from_string(script("0.5 if st.session_state.full_runs == 1 else None", 0))
    at.run()
    assert not at.exception
    # one more full run, in which the view finds nothing live and draws the panel as plain
    # content (the draws: the fragment's, then the plain one)
    assert at.session_state.full_runs == 2
    assert at.session_state.draws == 2
    assert [m.value for m in at.markdown][-1] == "after the panel"


def test_views_poll_only_through_live_panel():
    found = {}
    for path in PAGES.rglob("*.py"):
        count = len(re.findall(r"\bst\.fragment\(", path.read_text()))
        if count:
            found[path.relative_to(PAGES).as_posix()] = count
    assert found == {**ALWAYS_POLLING, "widgets/polling.py": 1}
