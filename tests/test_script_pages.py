"""Live and History each draw "Download as a script" for the run they show.

``tests/test_script_export.py`` checks what the button offers (``script_button`` with a
stand-in column); these page tests check that the pages draw it at all: a page that no
longer calls it fails here.
"""

from __future__ import annotations

from mtl_core.dashboard.pages.history import TABLE
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.conftest import tiny_config
from tests.helpers.apptest import open_app

OWNER = "ab" * 16
LABEL = "Download as a script (.py)"


def script_buttons(at) -> list:
    return [b.proto for b in at.get("download_button") if b.proto.label == LABEL]


def stored(path) -> int:
    with RunStore(path) as store:
        return store.create_run(tiny_config().to_dict(), name="r", owner=OWNER, status="completed")


def test_the_live_view_draws_the_script_button_for_its_run(fresh):
    run_id = stored(fresh)
    at = open_app(**{K.owner: OWNER, K.focus: run_id, K.view: "Live"})
    assert not at.exception, at.exception
    (button,) = script_buttons(at)
    assert not button.disabled, button.help


def test_the_history_view_draws_the_script_button_for_the_selected_run(fresh):
    stored(fresh)
    at = open_app(**{K.owner: OWNER})
    at.button_group(key=picker_key(at.session_state)).set_value("History").run()
    assert script_buttons(at) == []  # nothing selected yet
    at.session_state[TABLE] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, at.exception
    (button,) = script_buttons(at)
    assert not button.disabled, button.help
