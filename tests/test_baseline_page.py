"""The Live view of an aggregator run: it draws, and "Compare with single-task" queues a
baseline without the aggregator (an aggregator needs two tasks on a shared trunk, so a
baseline that kept it would be an invalid config and the view would fail)."""

from __future__ import annotations

import json

from mtl_core.config import RunConfig
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.studies.replicates import seed_configs
from mtl_core.training.trainer import train
from tests.helpers.apptest import cut_short_after, open_app

TOKEN = "0123456789abcdef" * 2  # this page session's owner token (no cookie in AppTest)
RUN = RunConfig.from_dict(
    {
        "dataset": "digits",
        "train_size": 60,
        "width": 16,
        "depth": 1,
        "epochs": 2,
        "batch_size": 16,
        "aux": ["parity"],
        "aggregator": "upgrad",
        "weighting": "equal",
    }
)


def test_live_view_of_an_aggregator_run_offers_and_starts_its_baseline(fresh):
    with RunStore(fresh) as store:
        run_id = train(RUN, store=store, owner=TOKEN, name="upgrad run").run_id
    at = open_app(**{K.owner: TOKEN, K.focus: run_id, K.view: "Live"})
    assert not at.error, [e.value for e in at.error]
    button = next(b for b in at.button if b.key == f"baseline_{run_id}")
    button.click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        runs = store.runs().sort_values("id")
    (base,) = [c for i, c in zip(runs.id, runs.config, strict=True) if i != run_id]
    expected = {
        "tasks": ["digit"],
        "aux": [],
        "sharing": "single",
        "weighting": "fixed",
        "aggregator": "none",
        "dataset": "digits",
        "train_size": 60,
        "width": 16,
        "epochs": 2,
        "batch_size": 16,
        "seed": 0,
        "data_seed": 0,
    }
    assert {k: base[k] for k in expected} == expected
    assert list(runs.status) == ["completed", "queued"]
    assert at.session_state[K.compare] == [run_id, int(runs.id.iloc[1])]
    # named by what it is and whose baseline: "run 1 · single-task digit" beside "run 1"
    # read as two runs 1 in Compare's chips and table
    assert runs.name.iloc[1] == f"single-task digit, baseline of #{run_id}"


def test_compare_offers_both_follow_ups_for_aggregator_runs_and_starts_valid_baselines(fresh):
    """Compare with single-task over K seeds, and "Is it just regularisation?", for two
    seeds of an aggregator run: every run they queue is single-task without it."""
    with RunStore(fresh) as store:
        ids = [
            train(c, store=store, owner=TOKEN).run_id for c in seed_configs(RUN, 2, vary_data=True)
        ]
    at = open_app(**{K.owner: TOKEN, K.compare: ids})
    at.button_group(key=picker_key(at.session_state)).set_value("Compare").run()
    assert not at.exception, at.exception
    at.button(key=f"single_{ids[0]}").click().run()
    assert not at.exception, at.exception
    at.button(key=f"tuned_{ids[0]}").click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        runs = store.runs()
    queued = [c for i, c in zip(runs.id, runs.config, strict=True) if i not in ids]
    # 9 weight decay × dropout cells × 2 seeds; the (0, 0) cell is the plain baseline
    assert len({json.dumps(c, sort_keys=True) for c in queued}) == 9 * 2
    for config in queued:
        assert (
            config["tasks"],
            config["aux"],
            config["sharing"],
            config["aggregator"],
            config["weighting"],
        ) == (["digit"], [], "single", "none", "fixed")
    assert {(c["seed"], c["data_seed"]) for c in queued} == {(0, 0), (1, 1)}


def click_compare(store) -> tuple:
    """A finished hard-sharing run of this session in Live, its "Compare with single-task"
    clicked: the page and the run's id."""
    single = RunConfig.from_dict({**RUN.to_dict(), "aggregator": "none"})
    with RunStore(store) as runs:
        run_id = train(single, store=runs, owner=TOKEN, name="hard run").run_id
    at = open_app(**{K.owner: TOKEN, K.focus: run_id, K.view: "Live"})
    next(b for b in at.button if b.key == f"baseline_{run_id}").click().run()
    return at, run_id


def test_a_compare_click_cut_short_after_its_runs_started_still_opens_the_comparison(
    fresh, monkeypatch
):
    """Streamlit stops a script run at its next session-state write once the browser sends
    another request. Cut right after the baselines started, the click left them training and
    the page on Live; the next script run now opens the comparison, with the click's own
    run, not called "reused", and nothing started twice. The cut is made by a rerun raised
    right after the start, once."""
    from mtl_core.dashboard.widgets.identical import REUSED

    cuts = cut_short_after(monkeypatch, "start_missing")
    at, run_id = click_compare(fresh)
    assert not at.exception, at.exception
    assert cuts, "the click never started its baselines"
    with RunStore(fresh) as store:
        runs = store.runs().sort_values("id")
    assert len(runs) == 2  # the run and its one baseline, started once
    base = int(runs.id.iloc[1])
    assert at.session_state[K.view] == "Compare"
    assert at.session_state[K.compare] == [run_id, base]
    assert at.session_state[REUSED]["reused"] == []
    assert K.baselines not in at.session_state


def test_a_compare_click_refused_by_a_limit_says_so_once_and_is_not_tried_again(fresh, monkeypatch):
    """A server limit refuses the baselines: the page says why, and the next script run
    does not take the refused click up again (its token is dropped with the refusal)."""
    from mtl_core.dashboard.runs import RunManager
    from mtl_core.limits import LimitError

    calls = []

    def refuse(self, configs, **kwargs):
        calls.append(1)
        raise LimitError("this session may store 0 more runs (MTL_MAX_RUNS_PER_SESSION=1)")

    monkeypatch.setattr(RunManager, "start_missing", refuse)
    at, _ = click_compare(fresh)
    assert not at.exception, at.exception
    assert any("MTL_MAX_RUNS_PER_SESSION" in e.value for e in at.error)
    at.run()
    assert calls == [1]
    assert K.baselines not in at.session_state


def test_an_empty_live_view_points_to_the_sessions_stored_runs(fresh):
    # after a study the session's runs are stored, and Live said only "Press Train"
    at = live(open_app(**{K.owner: TOKEN}))
    assert [i.value for i in at.info if "Press **Train**" in i.value]
    assert not any("stored run" in i.value for i in at.info)
    with RunStore(fresh) as store:
        train(RUN, store=store, owner=TOKEN, name="a study's run")
        train(RUN.replace(seed=1), store=store, owner="f" * 32, name="another page's")
    at = live(open_app(**{K.owner: TOKEN}))
    (line,) = [i.value for i in at.info if "Press **Train**" in i.value]
    assert "Open your 1 stored run here from **History**" in line


def live(at):
    """The Live view, chosen with the view control (a new session opens on the lessons)."""
    at.button_group(key=picker_key(at.session_state)).set_value("Live").run()
    assert not at.exception, at.exception
    return at
