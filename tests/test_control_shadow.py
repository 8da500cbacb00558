"""The sidebar keeps a copy of every control's value each run (``keep_controls`` in
mtl_core/dashboard/widgets/control_state.py): a rerun that interrupts another can make Streamlit
drop a widget's key, and the copy puts the last value back before the widgets are drawn,
instead of the widget's minimum (epochs 1, lr 1e-6)."""

from __future__ import annotations

from mtl_core.dashboard.widgets.control_state import SHADOW
from tests.helpers.apptest import open_app


def test_the_kept_copy_holds_every_control_and_its_current_value(fresh):
    at = open_app()
    at.number_input(key="c_epochs").set_value(37).run()
    at.number_input(key="c_lr").set_value(0.02).run()
    assert not at.exception, at.exception
    kept = at.session_state[SHADOW]
    controls = {k for k in at.session_state if isinstance(k, str) and k.startswith("c_")}
    assert set(kept) == controls
    assert kept["c_epochs"] == 37 and kept["c_lr"] == 0.02
    assert all(kept[k] == at.session_state[k] for k in controls)
