"""History's actions do what they say, to the runs they say, and no more.

Found in a browser audit: deleting any run closed the run Live showed; Delete skipped a
selected run still training without a word; a blank name was taken; two re-runs of one
run had one name. The runs the page starts stay queued (``fresh``: no worker processes).
"""

from __future__ import annotations

from mtl_core.dashboard.pages.history import rerun_name
from mtl_core.dashboard.state import K
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import open_app, texts, train_button
from tests.test_dead_ends import TINY, history, select_rows


def two_runs(store_path) -> tuple[object, list[int]]:
    """A page that started two runs, both ended ("stopped"), and shows History; the run
    ids, newest first (History's order)."""
    at = open_app()
    train_button(at).click().run()
    at.number_input(key="c_seed").set_value(5).run()
    train_button(at).click().run()
    with RunStore(store_path) as s:
        ids = sorted((int(i) for i in s.runs().id), reverse=True)
        for i in ids:
            s.set_status(i, "stopped")
    return history(at), ids


def test_deleting_another_run_keeps_the_one_live_shows(fresh):
    at, (newest, oldest) = two_runs(fresh)
    assert at.session_state[K.focus] == newest
    at = select_rows(at, [1])  # the older run
    at.checkbox(key="h_confirm").check().run()
    at.button(key="h_delete").click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as s:
        assert list(s.runs().id) == [newest]
    assert at.session_state[K.focus] == newest
    assert [e.value for e in at.success] == [f"Deleted #{oldest}."]


def test_deleting_the_run_live_shows_lets_it_go(fresh):
    at, (newest, _) = two_runs(fresh)
    at = select_rows(at, [0])
    at.checkbox(key="h_confirm").check().run()
    at.button(key="h_delete").click().run()
    assert not at.exception, at.exception
    assert K.focus not in at.session_state


def test_delete_names_the_selected_runs_it_leaves_out_while_they_train(fresh):
    at, (newest, oldest) = two_runs(fresh)
    with RunStore(fresh) as s:
        s.set_status(newest, "running")
    at = select_rows(at, [0, 1])
    assert f"Delete leaves out #{newest}: still training or queued." in texts(at)
    assert at.checkbox(key="h_confirm").label == "Delete 1 of your selected run(s)"


def test_a_blank_name_is_refused_and_a_rename_is_confirmed(fresh):
    at, (newest, _) = two_runs(fresh)
    at = select_rows(at, [0])
    (box,) = [t for t in at.text_input if t.label == f"New name of run #{newest}"]
    box.input("   ")
    at.button[[b.label for b in at.button].index("Rename")].click().run()
    assert not at.exception, at.exception
    assert any("cannot be blank" in w.value for w in at.warning)
    with RunStore(fresh) as s:
        assert s.get_run(newest)["name"].strip()
    (box,) = [t for t in at.text_input if t.label == f"New name of run #{newest}"]
    box.input("  first try  ")
    at.button[[b.label for b in at.button].index("Rename")].click().run()
    assert [e.value for e in at.success] == [f"Run #{newest} is now called 'first try'."]
    with RunStore(fresh) as s:
        assert s.get_run(newest)["name"] == "first try"


def test_each_re_run_of_a_run_gets_a_name_of_its_own(fresh):
    with RunStore(fresh) as store:
        store.create_run(TINY.to_dict(), name="crashed run")
        names = []
        for _ in range(3):
            names.append(rerun_name(store, "crashed run"))
            store.create_run(TINY.to_dict(), name=names[-1])
        assert names == ["crashed run (re-run)", "crashed run (re-run 2)", "crashed run (re-run 3)"]
        assert rerun_name(store, "crashed run (re-run 2)") == "crashed run (re-run 4)"


def test_deleting_runs_drops_them_from_compares_selection(fresh):
    at, (newest, oldest) = two_runs(fresh)
    at.session_state[K.compare] = [oldest, newest]
    at = select_rows(at, [1])  # the older run
    at.checkbox(key="h_confirm").check().run()
    at.button(key="h_delete").click().run()
    assert not at.exception, at.exception
    assert at.session_state[K.compare] == [newest]
