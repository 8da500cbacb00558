"""The view on screen is in the address bar, so a copied address reopens it.

History and Compare did not put themselves in the address: a teacher who copied it from
Compare sent the class a link that opened Live (or the lessons). Now a view other than the
one a link opens anyway is named (``view=history``), Compare with the runs it overlays
(``compare=3-5-7``), and a link naming them opens them; a view or run list the page cannot
use gets the one-line note every unusable parameter gets.
"""

from __future__ import annotations

from unittest import mock

import pytest

from mtl_core.config import DEFAULT
from mtl_core.dashboard import state
from mtl_core.dashboard.state import K
from mtl_core.dashboard.urlstate import link_view, view_params
from mtl_core.dashboard.viewnames import V, every_name, from_slug, view_slug
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import address, cards, open_app, open_card, texts


def show(at, view: str):
    at.button_group(key=picker_key(at.session_state)).set_value(view).run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def two_runs(fresh):
    with RunStore(fresh) as store:
        ids = [store.create_run(DEFAULT.to_dict(), name=f"run {k}") for k in (1, 2)]
        for run in ids:
            store.set_status(run, "completed", "")
    return ids


def test_every_view_has_a_slug_that_names_it_back():
    for name in every_name():
        assert from_slug(view_slug(name)) == name and " " not in view_slug(name)
    assert view_slug(V.learning) == "learning-curve"


def test_a_view_a_link_opens_anyway_is_not_named():
    assert view_params(V.live, V.live, []) == {}
    assert view_params(V.history, V.live, []) == {"view": "history"}
    assert view_params(V.compare, V.lessons, [5, 3]) == {"view": "compare", "compare": "3-5"}
    assert view_params(V.history, V.lessons, [5, 3]) == {"view": "history"}


def test_history_and_compare_put_themselves_in_the_address_and_their_links_reopen_them(
    two_runs,
):
    at = show(open_app(), V.history)
    assert address(at)["view"] == "history"
    at = open_app(address(at))
    assert at.session_state[K.view] == V.history

    at = show(open_app(**{K.compare: two_runs[::-1]}), V.compare)
    link = address(at)  # one comparison, one address: its runs in the order of their numbers
    assert link["view"] == "compare" and link["compare"] == "-".join(map(str, two_runs))
    again = open_app(link)
    assert again.session_state[K.view] == V.compare
    assert again.session_state[K.compare] == two_runs
    assert not again.warning  # no note: every part of the link was used

    show(again, V.lessons)  # back on the lessons: no view named (no run shown either)
    assert "view" not in address(again) and "compare" not in address(again)


def test_a_run_link_shown_on_another_view_names_that_view(two_runs):
    at = open_app({"run": str(two_runs[0])})
    assert at.session_state[K.view] == V.live and "view" not in address(at)
    show(at, V.lessons)
    assert address(at)["view"] == "lessons" and address(at)["run"] == str(two_runs[0])
    assert open_app(address(at)).session_state[K.view] == V.lessons


@pytest.mark.parametrize(
    ("params", "note"),
    [
        ({"view": "nope"}, "ignored URL parameter 'view': 'nope' is not a view"),
        ({"view": "compare", "compare": "3-x"}, "ignored URL parameter 'compare'"),
        ({"view": "compare", "compare": "-".join(["1"] * 65)}, "at most 64"),
    ],
)
def test_a_view_or_run_list_the_page_cannot_use_gets_a_note(fresh, params, note):
    at = open_app(params)
    assert note in texts(at) + "\n".join(w.value for w in at.warning)
    _, _, notes = link_view(params)
    assert len(notes) == 1


def test_a_compare_link_naming_runs_the_store_lacks_says_so_and_keeps_the_others(two_runs):
    """``compare=3-999`` became ``compare=3`` without a word, ``compare=999`` an empty
    Compare, and ``compare=3-5`` without ``view=`` was ignored."""
    kept = two_runs[0]
    at = open_app({"view": "compare", "compare": f"{kept}-999"})
    notes = "\n".join(w.value for w in at.warning)
    assert "ignored part of URL parameter 'compare': no run #999 in this store" in notes
    assert at.session_state[K.compare] == [kept]
    at = open_app({"compare": "-".join(map(str, two_runs))})  # no view=: Compare all the same
    assert at.session_state[K.view] == V.compare and at.session_state[K.compare] == two_runs
    assert not at.warning


def back_to(at, entry: dict[str, str], history: bool = True):
    """What the browser's Back (or Forward) does: rerun the page on an earlier address,
    the rerun marked as a history move (``history=False``: a rerun the browser sent on an
    old address without one)."""
    at.query_params.clear()
    at.query_params.update(entry)
    with mock.patch.object(state, "history_move", return_value=history):
        at.run()
    assert not at.exception, at.exception
    return at


def test_a_rerun_on_an_old_address_that_is_no_history_move_keeps_the_page(two_runs):
    # Compare with single-task added its baselines and wrote the address; a fragment's
    # tick the browser sent before taking that address read as Back and put the
    # comparison back to the runs before (the address kept the baselines)
    at = open_app({"view": "compare", "compare": str(two_runs[0])})
    before = address(at)
    at.session_state[K.pending_compare] = two_runs  # as studies._add_to_compare leaves it
    at.run()
    after = address(at)
    assert after["compare"] == "-".join(map(str, two_runs))
    back_to(at, before, history=False)  # the browser's request on the address before
    assert at.session_state[K.compare] == two_runs and address(at) == after
    back_to(at, before)  # the real Back: the comparison as it was
    assert at.session_state[K.compare] == [two_runs[0]]


def test_a_back_cut_short_is_still_a_back_in_the_run_that_follows(two_runs):
    at = open_app({"view": "compare", "compare": str(two_runs[0])})
    before = address(at)
    at.session_state[K.pending_compare] = two_runs
    at.run()
    after = address(at)
    # Back's script run was cut short by another request right after it began: the
    # next run comes without the browser's history mark, on the address Back opened
    at.session_state[K.moving] = before
    back_to(at, before, history=False)
    assert at.session_state[K.compare] == [two_runs[0]] and address(at) == before
    assert K.moving in at.session_state  # until a run on the address the page wrote
    at.run()
    assert K.moving not in at.session_state and address(at) == before != after


def test_back_and_forward_reopen_the_views_setups_and_lessons_the_page_wrote(fresh):
    # Back changed the address but not the page: the session had read its URL once
    at = open_app()
    entries = [address(at)]
    for view in (V.history, V.data):
        entries.append(address(show(at, view)))
    at.select_slider(key="c_train_size").set_value(500).run()
    entries.append(address(at))
    assert entries[-1] == {"view": "data", "train_size": "500"}
    back_to(at, entries[-2])  # Back: the setup as it was
    assert at.select_slider(key="c_train_size").value == 200 and at.session_state[K.view] == V.data
    back_to(at, entries[1])  # Back twice more: History, then the lessons
    assert at.session_state[K.view] == V.history
    back_to(at, entries[0])
    assert at.session_state[K.view] == V.lessons
    back_to(at, entries[3])  # Forward to the end
    assert at.session_state[K.view] == V.data and at.select_slider(key="c_train_size").value == 500
    assert address(at) == entries[3]  # the page keeps the address it was given
    landing = address(show(at, V.lessons))
    open_card(at, "sharing-helps")
    assert address(at) == {"lesson": "sharing-helps"}
    back_to(at, landing)  # out of the lesson, to the cards and the setup of before
    assert at.session_state[K.view] == V.lessons and address(at) == landing
    assert "sharing-helps" in cards(at)  # the cards, no lesson
    assert at.select_slider(key="c_train_size").value == 500


def test_every_write_of_the_address_is_recorded_for_back_and_forward():
    # a script run cut short after writing the address, unrecorded, would read its own
    # address as the browser's Back at the next run, and reopen the page from it
    import re
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "mtl_core"
    write = re.compile(r"\bst\.query_params(\.from_dict\(|\[)")
    writers = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if write.search(path.read_text())
    ]
    assert writers == ["dashboard/state.py"], writers
