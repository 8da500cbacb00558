"""Identical runs reused and counted once: the CLI's compare and learning curve, Train in
the dashboard, the Compare follow-ups and the learning-curve view.

Library and CLI tests train tiny runs through worker processes; page tests run the
dashboard in AppTest with its dispatch switched off (started runs stay queued: what is
tested is which runs the page asks for and what it says).
"""

from __future__ import annotations

import pytest

from mtl_core.cli.main import main
from mtl_core.config import RunConfig
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.learning_curve import learning_curve
from mtl_core.studies.replicates import seed_configs
from mtl_core.training.trainer import train
from tests.helpers.apptest import open_app, texts, train_button

MULTI = RunConfig.from_dict(
    {
        "dataset": "digits",
        "train_size": 100,
        "width": 16,
        "depth": 1,
        "epochs": 2,
        "batch_size": 16,
        "aux": ["parity"],
    }
)
SINGLE = single_task_baselines(MULTI)[0]
ME = "a" * 32  # this page's owner token
ALICE = "b" * 32  # another session's


def stored_runs(path):
    with RunStore(path) as store:
        return store.runs().sort_values("id").reset_index(drop=True)


# -- the library and the CLI ----------------------------------------------------------------


def test_a_second_learning_curve_trains_only_its_multi_task_runs(tmp_path):
    """The single-task runs of the first curve are reused by the second: 2 runs trained,
    not 4, and each (size, arm) still counts its 2 seeds once."""
    store = str(tmp_path / "runs.sqlite")
    first = learning_curve(MULTI, [100], 2, workers=1, store_path=store)
    assert first.reused == [] and len(stored_runs(store)) == 4
    second = learning_curve(MULTI, [100], 2, workers=1, store_path=store)
    runs = stored_runs(store)
    assert len(runs) == 6  # 2 trained
    singles = list(first.runs.run_id[first.runs.arm == "single task"])
    assert second.reused == singles
    assert list(second.runs.run_id[second.runs.arm == "single task"]) == singles
    assert list(second.runs.reused) == [True, True, False, False]
    assert list(second.table()["n"]) == [2, 2]
    np_first = first.runs[first.runs.arm == "single task"][["best_val", "test"]]
    np_second = second.runs[second.runs.arm == "single task"][["best_val", "test"]]
    assert np_first.values.tolist() == np_second.values.tolist()
    assert second.comparisons()[100].diff.n == 2
    assert set(runs.owner) == {""}


def test_cli_compare_reuses_the_stored_baselines_and_says_so(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    args = [
        "compare",
        "--dataset",
        "digits",
        "--train-size",
        "100",
        "--width",
        "16",
        "--depth",
        "1",
        "--epochs",
        "2",
        "--batch-size",
        "16",
        "--aux",
        "parity",
        "--k",
        "2",
        "--workers",
        "1",
        "--quiet",
        "--store",
        str(store),
    ]
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "Reused" not in first
    singles = list(stored_runs(store).id[1::2])
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"Reused 2 stored identical single-task runs (#{singles[0]}, #{singles[1]})" in out
    assert len(stored_runs(store)) == 6  # the multi-task arm trained again, its baseline not
    sentence = [line for line in out.splitlines() if line.startswith("With 100 training")]
    assert sentence and "over 2 paired seeds" in sentence[0]


# -- the dashboard ------------------------------------------------------------------------------


def page(config: RunConfig = MULTI, owner: str = ME, **state):
    from mtl_core.dashboard.urlstate import config_to_params

    return open_app(config_to_params(config), owner_token=owner, **state)


def sidebar_info(at) -> str:
    return "\n".join(e.value for e in at.sidebar.info)


def click(at, key: str):
    next(b for b in at.sidebar.button if b.key == key).click().run()
    assert not at.exception, at.exception
    return at


def test_train_twice_offers_the_queued_run_instead_of_a_duplicate(fresh):
    at = page()
    train_button(at).click().run()
    (first,) = list(stored_runs(fresh).id)
    assert at.session_state["focus_run"] == first
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert list(stored_runs(fresh).id) == [first]  # nothing queued the second time
    assert f"Run #{first} is identical to this one" in sidebar_info(at)
    assert "is training now" in sidebar_info(at)
    click(at, "twin_fresh")  # train anyway: a fresh copy
    runs = stored_runs(fresh)
    assert len(runs) == 2 and list(runs.owner) == [ME, ME]
    assert at.session_state["focus_run"] == runs.id[1]
    assert "identical to this one" not in sidebar_info(at)


def test_a_class_pressing_train_on_one_setup_gets_a_run_each(fresh):
    """Another session's identical run still queued or training is theirs to watch: Train
    trains at once, so every student of a class gets a run of their own."""
    mine = page()
    train_button(mine).click().run()
    theirs = page(owner=ALICE)
    train_button(theirs).click().run()
    assert not theirs.exception, theirs.exception
    runs = stored_runs(fresh)
    assert len(runs) == 2 and sorted(runs.owner) == sorted([ME, ALICE])
    assert "identical to this one" not in sidebar_info(theirs)
    assert theirs.session_state["focus_run"] == max(runs.id)


def test_train_offers_a_finished_identical_run_and_shows_it(fresh):
    with RunStore(fresh) as store:
        stored = train(MULTI, store=store, owner=ALICE).run_id
    at = page()
    train_button(at).click().run()
    assert len(stored_runs(fresh)) == 1
    assert f"Run #{stored} is identical to this one" in sidebar_info(at)
    assert "has finished" in sidebar_info(at)
    click(at, "twin_show")
    assert at.session_state["focus_run"] == stored
    assert at.session_state["page_view"] == "Live"
    assert len(stored_runs(fresh)) == 1 and stored_runs(fresh).owner[0] == ALICE
    # another seed is not identical: Train trains at once
    at.sidebar.number_input(key="c_seed").set_value(1).run()
    train_button(at).click().run()
    assert len(stored_runs(fresh)) == 2 and "identical" not in sidebar_info(at)


def test_train_with_seeds_starts_only_the_missing_ones_when_asked(fresh):
    with RunStore(fresh) as store:
        stored = train(MULTI, store=store).run_id  # seed 0 of the two
    at = page()
    at.sidebar.number_input(key="c_seeds").set_value(2).run()
    train_button(at).click().run()
    assert "1 of the 2 seeds is stored as an identical run (#1)" in sidebar_info(at)
    (show,) = [b for b in at.sidebar.button if b.key == "twin_show"]
    assert show.label == "Show the 1 stored, train the 1 missing"  # it trains seed 1
    click(at, "twin_show")
    runs = stored_runs(fresh)
    assert len(runs) == 2 and runs.config[1]["seed"] == 1 and runs.status[1] == "queued"
    assert at.session_state["compare_runs"] == [stored, runs.id[1]]
    assert at.session_state["page_view"] == "Compare"


@pytest.fixture
def paired(fresh):
    """MULTI over 2 seeds (this page's), SINGLE over the same seeds (another session's),
    and a second, identical, run of SINGLE seed 0: (path, ids)."""
    with RunStore(fresh) as store:
        multi = [train(c, store=store, owner=ME).run_id for c in seed_configs(MULTI, 2)]
        single = [train(c, store=store, owner=ALICE).run_id for c in seed_configs(SINGLE, 2)]
        twin = train(SINGLE, store=store, owner=ALICE).run_id
    return fresh, {"multi": multi, "single": single, "twin": twin}


def test_compare_with_single_task_reuses_runs_without_rights_and_notes_a_deletion(paired):
    path, ids = paired
    at = page(compare_runs=ids["multi"])
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    at.button(key=f"single_{ids['multi'][0]}").click().run()
    assert not at.exception, at.exception
    assert len(stored_runs(path)) == 5  # nothing trained: the baselines are stored
    a, b = ids["single"]
    assert f"Reused 2 stored identical single-task runs (#{a}, #{b})" in texts(at)
    assert at.session_state["compare_runs"] == ids["multi"] + ids["single"]
    assert "over 2 paired seeds" in texts(at)  # the twin of seed 0 is not a third pair
    manager = RunManager(path, watch_every=3600)
    try:  # reusing gave this page no rights over the run
        assert manager.store.get_run(a)["owner"] == ALICE
        assert not manager.owns(a, ME) and not manager.request(a, ME, "stop")
        assert manager.store.pending_request(a) == ""
    finally:
        manager.shutdown()
    with RunStore(path) as store:  # its owner deletes it
        store.delete([a])
    at.run()
    assert not at.exception, at.exception
    warnings = "\n".join(w.value for w in at.warning)
    assert f"Run {a} used by this comparison was deleted" in warnings


def test_the_learning_curve_counts_identical_runs_once(paired):
    path, ids = paired
    at = page()
    at.button_group(key=picker_key(at.session_state)).set_value("Learning curve").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["arm"]) == ["single task", "hard sharing"]
    assert list(table["seeds"]) == [2, 2]  # 3 single-task runs stored, 2 distinct
    assert "With 100 training images, hard sharing" in texts(at)
    assert "no paired comparison" not in texts(at)
    with RunStore(path) as store:
        store.delete([ids["multi"][1]])
    at.run()
    warnings = "\n".join(w.value for w in at.warning)
    assert f"Run {ids['multi'][1]} used by this learning curve was deleted" in warnings
    assert list(at.dataframe[0].value["seeds"]) == [2, 1]


def test_compare_counts_an_identical_run_once(paired):
    """In Compare, the twin of a seed neither joins the seed band nor pairs a second time."""
    from mtl_core.dashboard.groups import paired_comparison, seed_groups

    path, ids = paired
    runs = stored_runs(path)
    chosen = runs[runs.id.isin(ids["multi"] + ids["single"] + [ids["twin"]])]
    groups = seed_groups(chosen)
    assert sorted(map(sorted, groups)) == sorted([ids["multi"], ids["single"]])
    both = paired_comparison(runs, ids["multi"], ids["single"] + [ids["twin"]])
    assert both.diff.n == 2
    assert both == paired_comparison(runs, ids["multi"], ids["single"])


def test_live_compare_with_single_task_reuses_the_stored_baseline(fresh):
    """Live's button opens the run with its stored single-task twin (another session's)
    instead of training it again, says so in Compare, and notes its deletion."""
    with RunStore(fresh) as store:
        multi = train(MULTI, store=store, owner=ME).run_id
        single = train(SINGLE, store=store, owner=ALICE).run_id
    at = page(focus_run=multi)
    at.button(key=f"baseline_{multi}").click().run()
    assert not at.exception, at.exception
    assert len(stored_runs(fresh)) == 2  # nothing trained
    assert at.session_state["compare_runs"] == [multi, single]
    assert at.session_state["page_view"] == "Compare"
    assert f"Reused 1 stored identical single-task run (#{single})" in texts(at)
    assert stored_runs(fresh).owner[1] == ALICE
    with RunStore(fresh) as store:
        store.delete([single])
    at.run()
    assert not at.exception, at.exception
    warnings = "\n".join(w.value for w in at.warning)
    assert f"Run {single} used by this comparison was deleted" in warnings
    assert "Reused" not in texts(at)


def sidebar_order(at) -> list[str]:
    """The sidebar's elements top to bottom: a button by its key, an info box by its text,
    a heading or widget by its label."""
    out = []

    def walk(node) -> None:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for i in sorted(children):
                walk(children[i])
            return
        out.append(str(getattr(node, "key", None) or getattr(node, "value", "")))

    walk(at.sidebar)
    return out


def test_the_offer_is_drawn_right_under_train_where_the_click_was(fresh):
    """Train sits at the top of the sidebar: an offer drawn at its end (below dozens of
    controls) answered the click out of sight, and Train looked dead."""
    at = page()
    train_button(at).click().run()
    train_button(at).click().run()
    order = sidebar_order(at)
    offer = next(i for i, e in enumerate(order) if "identical to this one" in e)
    assert order.index("train") < offer < order.index("twin_show") < order.index("c_seed")
    assert offer == order.index("train") + 1, order[: offer + 1]
