"""The "open these runs in Compare" button a study view ends with.

One home because every study view (learning curve, sharing depth) offers it the same
way: the button hands the run ids to Compare and switches the view in its callback, so the
view control is set before it is drawn again.
"""

from __future__ import annotations

import streamlit as st

from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V


def _open_compare(ids: list[int]) -> None:
    st.session_state[K.compare] = ids
    st.session_state[K.view] = V.compare


def open_in_compare(ids: list[int], key: str, what: str) -> None:
    """A button that opens ``ids`` in Compare; ``what`` names them ("the curve's runs")."""
    st.button(
        f"Open {what} in Compare",
        key=key,
        on_click=_open_compare,
        args=(list(ids),),
        help="their curves over epochs, as seed bands",
    )
