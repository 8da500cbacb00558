"""The view picker: the row of views under the title, following the code as well as clicks.

Why not a widget keyed on the view itself: Train, a lesson's Open and History's links set
the view in code, and a widget value set in code is lost when the browser's next request
cuts that script run short before it has sent the picker: with the request comes the
picker's old value, and Streamlit takes it over the code's. A page then stayed on Lessons
while the run it had just started trained (the classroom benchmark, docs/classroom.md).

So the view lives in a plain key (``K.view``), which a cut-short script run cannot lose; a
click on the picker writes it (``on_change``), and when the code has set another view the
picker is drawn under a new key (``K.view_gen`` counts them) with the code's view as its
default: the browser's stale value belongs to the old key and is ignored, its change
callback included (the browser reports it as a change of a widget the server forgot).

Its buttons are drawn a little narrower than Streamlit's (``_NARROW``): at 1280 pixels
the tenth view, Data, wrapped onto a line of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
import streamlit.components.v2 as components

from mtl_core.dashboard import views
from mtl_core.dashboard.state import K

# Every picker's buttons, whatever its key's generation: 0.6rem each side, not 1rem. A
# style-only component: ``st.html`` is a kind of element the first page has no other of,
# and its script cost a new visitor's page load 0.04 s (bench/page_load_ab.py).
_NARROW = components.component(
    "mtl_curves.view_picker_style",
    html="",
    css=f"""
[class*="st-key-{K.view}_picker_"] button {{
  padding-left: 0.6rem; padding-right: 0.6rem;
}}
""",
    isolate_styles=False,
)


def picker_key(state: Mapping) -> str:
    """The picker's current widget key (tests click the picker through it)."""
    return f"{K.view}_picker_{state.get(K.view_gen, 0)}"


def _picked(key: str) -> None:
    """A click on the picker ``key``: the view to show, unless that picker is an older one
    (the browser's request left before the newer picker reached it)."""
    if key == picker_key(st.session_state):
        st.session_state[K.view] = st.session_state[key]


def view_picker() -> str | None:
    """Draw the picker; the view to show."""
    _NARROW(key="view_picker_style", height=0)
    key = picker_key(st.session_state)
    if key in st.session_state and st.session_state[key] != st.session_state.get(K.view):
        st.session_state[K.view_gen] = st.session_state.get(K.view_gen, 0) + 1
        key = picker_key(st.session_state)
    return st.segmented_control(
        "View",
        views.names(),
        key=key,
        default=st.session_state.get(K.view),
        on_change=_picked,
        args=(key,),
        label_visibility="collapsed",
    )
