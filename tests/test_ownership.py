"""Only the session that started a run can pause, stop, rename or delete it (docs/dashboard.md).

In the run manager (``mtl_core/dashboard/runs.py``), a pause or stop request from any other owner
(another page's token, or the CLI's empty one) is refused and leaves the store as it
was. In the page, the Live view offers Pause/Stop only on the session's own runs, and
History offers Rename and Delete only for them: with another session's run selected,
nothing of it is renamed or deleted.
"""

from __future__ import annotations

from mtl_core.dashboard.pages.history import CHOSEN, TABLE
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.conftest import tiny_config
from tests.helpers.apptest import open_app

MINE, OTHER = "ab" * 16, "cd" * 16  # owner tokens: this page session's, another's
CONFIG = tiny_config().to_dict()


def test_the_manager_steers_only_the_owners_runs(fresh, make_config):
    manager = RunManager(fresh)
    try:
        mine = manager.start(make_config(), owner=MINE)
        cli = manager.start(make_config(seed=1), owner="")
        for intruder in (OTHER, ""):
            for action in ("pause", "stop", ""):
                assert manager.request(mine, intruder, action) is False
        assert manager.request(cli, MINE, "stop") is False
        assert [manager.store.pending_request(i) for i in (mine, cli)] == ["", ""]
        assert {manager.store.get_run(i)["status"] for i in (mine, cli)} == {"queued"}
        assert manager.owns(mine, MINE) and not manager.owns(mine, OTHER)
        assert manager.request(mine, MINE, "pause") is True
        assert manager.store.pending_request(mine) == "pause"
        assert manager.request(mine, MINE, "stop") is True
        assert manager.store.get_run(mine)["status"] == "stopped"  # queued: never starts
        assert manager.store.get_run(cli)["status"] == "queued"
    finally:
        manager.shutdown()


def live_page(run_id: int):
    at = open_app(**{K.owner: MINE, K.focus: run_id, K.view: "Live"})
    assert not at.exception, at.exception
    return at, {b.key for b in at.button}


def test_the_live_view_offers_pause_and_stop_only_on_the_sessions_own_runs(fresh):
    with RunStore(fresh) as store:  # training elsewhere (fresh heartbeats)
        theirs = store.create_run(CONFIG, name="theirs", owner=OTHER)
        mine = store.create_run(CONFIG, name="mine", owner=MINE)
    at, keys = live_page(theirs)
    assert not keys & {f"pause_{theirs}", f"stop_{theirs}", f"resume_{theirs}"}
    assert any(c.value.startswith("Started from another browser session") for c in at.caption)
    at, keys = live_page(mine)
    assert {f"pause_{mine}", f"stop_{mine}"} <= keys
    at.button(key=f"stop_{mine}").click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        assert [store.pending_request(i) for i in (mine, theirs)] == ["stop", ""]


def history_with(at, rows: list[int]):
    """History with the table rows ``rows`` selected (0 is the newest run)."""
    at.session_state[TABLE] = {"selection": {"rows": rows, "columns": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def names(path) -> dict[int, str]:
    with RunStore(path) as store:
        runs = store.runs()
    return dict(zip(runs.id, runs.name, strict=True))


def test_history_renames_and_deletes_only_the_sessions_own_runs(fresh):
    with RunStore(fresh) as store:
        mine = store.create_run(CONFIG, name="mine", owner=MINE, status="completed")
        theirs = store.create_run(CONFIG, name="theirs", owner=OTHER, status="completed")
    at = open_app(**{K.owner: MINE})
    at.button_group(key=picker_key(at.session_state)).set_value("History").run()
    at = history_with(at, [0])  # theirs alone: no rename form, no delete
    assert at.session_state[CHOSEN][0] == [theirs]
    assert "Renaming and deleting are for the session that started a run." in [
        c.value for c in at.caption
    ]
    assert not at.text_input and not [c for c in at.checkbox if c.key == "h_confirm"]
    at = history_with(at, [0, 1])  # theirs first, then mine: the form must not rename theirs
    at.text_input[0].input("renamed")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert names(fresh) == {mine: "mine", theirs: "theirs"}
    at = history_with(at, [0, 1])
    confirm = at.checkbox(key="h_confirm")
    assert confirm.label == "Delete 1 of your selected run(s)"
    confirm.check().run()
    at.button(key="h_delete").click().run()
    assert not at.exception, at.exception
    assert names(fresh) == {theirs: "theirs"}


def test_history_renames_the_sessions_own_run(fresh):
    with RunStore(fresh) as store:
        mine = store.create_run(CONFIG, name="mine", owner=MINE, status="completed")
    at = open_app(**{K.owner: MINE})
    at.button_group(key=picker_key(at.session_state)).set_value("History").run()
    at = history_with(at, [0])
    at.text_input[0].input("renamed")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception, at.exception
    assert names(fresh) == {mine: "renamed"}
