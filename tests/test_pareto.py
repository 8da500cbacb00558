"""The trade-off study: main-task weights, dominance, the one-checkpoint rule, the arms,
the table's intervals, the figure, the CLI and the page's view.

Numbers are checked against hand computations (dominance on made-up points, a made-up
run whose two tasks' best epochs differ) and scipy's t-interval; the weights against
training itself (a task weighing 0 is not trained). Tiny runs: digits, width 16, 2 epochs.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from scipy import stats
from streamlit.testing.v1 import AppTest

from mtl_core.cli.main import main
from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.pareto import pareto_figure
from mtl_core.errors import ConfigError
from mtl_core.store.runs import RunStore
from mtl_core.studies.pareto import (
    METHOD,
    RATIO,
    SINGLE,
    check_pareto,
    checkpoint,
    dominated,
    pareto_arms,
    pareto_jobs,
    pareto_table,
    ratio_weights,
    run_row,
)
from mtl_core.training.results import RunResult
from mtl_core.training.trainer import train
from tests.helpers.apptest import array, figures, queue_only, use_store

TINY = {
    "dataset": "digits",
    "tasks": ["digit", "parity"],
    "train_size": 60,
    "width": 16,
    "depth": 1,
    "epochs": 2,
    "batch_size": 16,
    "affinity_every": 0,
}


TASKS = ("digit", "parity")


def tiny(**changes) -> RunConfig:
    return RunConfig.from_dict({**TINY, **changes})


# -- dominance -----------------------------------------------------------------------------


def test_dominance_when_higher_is_better_on_both():
    points = [(0.9, 0.5), (0.8, 0.6), (0.8, 0.5), (0.7, 0.7), (0.6, 0.4)]
    # (0.8, 0.5) is beaten by (0.9, 0.5) on one and tied on the other; (0.6, 0.4) by all
    assert dominated(points, (True, True)) == [False, False, True, False, True]


def test_ties_dominate_nothing_and_a_strictly_better_point_dominates_both_copies():
    assert dominated([(0.9, 0.5), (0.9, 0.5)], (True, True)) == [False, False]
    assert dominated([(0.9, 0.5), (0.9, 0.5), (0.9, 0.6)], (True, True)) == [True, True, False]


def test_dominance_follows_each_tasks_direction():
    """Lower is better on the second coordinate (an error): the lower error wins there."""
    points = [(0.9, 2.0), (0.9, 1.0), (0.85, 3.0)]
    assert dominated(points, (True, False)) == [True, False, True]
    assert dominated(points, (True, True)) == [False, True, False]
    assert dominated([(1.0, 1.0), (2.0, 2.0)], (False, False)) == [False, True]
    crossed = [(1.0, 2.0), (2.0, 1.0)]
    assert dominated(crossed, (False, True)) == [False, True]
    assert dominated(crossed, (True, False)) == [True, False]
    assert dominated(crossed, (True, True)) == [False, False]


def test_a_point_without_both_coordinates_is_never_dominated_and_dominates_nothing():
    points = [(math.nan, 0.9), (0.5, 0.5), (0.4, 0.4)]
    assert dominated(points, (True, True)) == [False, False, True]
    assert dominated([(math.nan, 1.0), (0.1, 0.1)], (True, True)) == [False, False]


# -- one checkpoint per run ----------------------------------------------------------------


def made_up_rows() -> list[tuple[int, str, str, str, float]]:
    """A run whose digit loss is lowest at epoch 1, parity's at epoch 3, and their sum at
    epoch 2; each accuracy peaks at its own task's best epoch."""
    digit_loss = [2.0, 1.0, 1.1, 1.6]
    parity_loss = [1.0, 0.9, 0.5, 0.4]  # sums 3.0, 1.9, 1.6, 2.0
    digit_acc = [0.1, 0.8, 0.7, 0.6]
    parity_acc = [0.5, 0.55, 0.6, 0.9]
    rows = []
    for e in range(4):
        rows += [
            (e, "digit", "val", "loss", digit_loss[e]),
            (e, "parity", "val", "loss", parity_loss[e]),
            (e, "digit", "val", "accuracy", digit_acc[e]),
            (e, "parity", "val", "accuracy", parity_acc[e]),
            (e, "digit", "train", "loss", 0.01),  # a training loss never chooses
        ]
    return rows


def test_the_point_is_the_epoch_of_the_lowest_summed_validation_loss():
    epoch, values = checkpoint(made_up_rows(), ["digit", "parity"])
    assert epoch == 2
    assert values == {"digit": 0.7, "parity": 0.6}  # not 0.8 and 0.9, two epochs mixed


def test_a_run_row_and_the_table_read_both_metrics_at_that_one_epoch():
    config = tiny()
    row = run_row(
        "w = 0.5", RATIO, 0.5, config, RunResult(1, "completed", "", {}, made_up_rows()), TASKS
    )
    assert (row["epoch"], row["m1"], row["m2"]) == (2, 0.7, 0.6)
    alone = tiny(tasks=["digit"])
    row = run_row(
        "digit alone",
        SINGLE,
        math.nan,
        alone,
        RunResult(2, "completed", "", {}, made_up_rows()),
        TASKS,
    )
    assert (row["epoch"], row["m1"]) == (1, 0.8) and math.isnan(row["m2"])


def test_ties_take_the_first_epoch_and_a_run_without_losses_has_no_point():
    rows = [(e, t, "val", "loss", 1.0) for e in range(3) for t in ("digit", "parity")]
    rows += [(e, t, "val", "accuracy", e / 10) for e in range(3) for t in ("digit", "parity")]
    assert checkpoint(rows, ["digit", "parity"])[0] == 0
    epoch, values = checkpoint([], ["digit", "parity"])
    assert epoch == -1 and all(math.isnan(v) for v in values.values())


# -- main-task weights in training ----------------------------------------------------------


def test_a_main_task_weighing_zero_is_not_trained():
    """Separate networks (single sharing) and Adam: a task whose loss weighs 0 gets zero
    gradients, so its validation loss stays at its initial value; weighing 1, it moves."""
    off = train(tiny(sharing="single", task_weights={"parity": 0.0}))
    on = train(tiny(sharing="single"))
    assert off.status == on.status == "completed", (off.message, on.message)
    parity_off = off.curve("parity", "val", "loss")
    assert len(set(parity_off)) == 1, parity_off
    assert len(set(on.curve("parity", "val", "loss"))) > 1
    assert off.curve("digit", "val", "loss") == on.curve("digit", "val", "loss")
    assert off.curve("parity", "train", "weight") == [0.0, 0.0, 0.0]


def test_the_weights_scale_the_objective_of_a_shared_network():
    """Hard sharing: the recorded weights are the config's, and the objective changes."""
    weighted = train(tiny(task_weights={"digit": 0.25, "parity": 0.75}))
    plain = train(tiny())
    assert weighted.curve("digit", "train", "weight")[1:] == [0.25, 0.25]
    assert weighted.curve("parity", "train", "weight")[1:] == [0.75, 0.75]
    assert weighted.curve("digit", "val", "loss")[1:] != plain.curve("digit", "val", "loss")[1:]


def test_the_task_weight_flag_sets_one_main_tasks_weight(capsys, tmp_path):
    from mtl_core.cli.flags import config_from_args
    from mtl_core.cli.main import build_parser

    def parse(*flags):
        args = build_parser().parse_args(["train", "--tasks", "digit,parity", *flags])
        return config_from_args(args)

    config = parse("--task-weight", "parity=0.3", "--task-weight", "digit=2")
    assert config.task_weights == {"parity": 0.3, "digit": 2.0}
    assert (config.weight_of("digit"), config.weight_of("parity")) == (2.0, 0.3)
    with pytest.raises(ConfigError, match="^task_weights: --task-weight takes TASK=W"):
        parse("--task-weight", "0.3")
    with pytest.raises(ConfigError, match="^task_weights: 'loops' is not one of this run's main"):
        parse("--task-weight", "loops=0.3")
    with pytest.raises(ConfigError, match="^task_weights.parity: must be between 0 and 1,000"):
        parse("--task-weight", "parity=-1")


# -- the arms ------------------------------------------------------------------------------


def test_nine_ratios_by_default_and_every_arm_of_the_study():
    assert ratio_weights() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    arms = pareto_arms(tiny(), 3, ["mgda", "upgrad"])
    assert [(a, k) for a, k, _, _ in arms] == [
        ("w = 0.25", RATIO),
        ("w = 0.5", RATIO),
        ("w = 0.75", RATIO),
        ("digit alone", SINGLE),
        ("parity alone", SINGLE),
        ("mgda", METHOD),
        ("upgrad", METHOD),
    ]
    assert [c.task_weights for _, k, _, c in arms if k == RATIO] == [
        {"digit": 0.25, "parity": 0.75},
        {"digit": 0.5, "parity": 0.5},
        {"digit": 0.75, "parity": 0.25},
    ]
    singles = [c for _, k, _, c in arms if k == SINGLE]
    assert [(c.tasks, c.sharing, c.task_weights) for c in singles] == [
        (("digit",), "single", {}),
        (("parity",), "single", {}),
    ]
    methods = [c for _, k, _, c in arms if k == METHOD]
    assert [(c.aggregator, c.weighting, c.task_weights) for c in methods] == [
        ("mgda", "fixed", {}),
        ("upgrad", "fixed", {}),
    ]


def test_every_arm_runs_the_same_seeds():
    jobs = pareto_jobs(tiny(), 2, 3, ["mgda"], vary_data=True)
    seeds: dict[str, list] = {}
    for arm, _, _, _, c in jobs:
        seeds.setdefault(arm, []).append((c.seed, c.data_seed))
    assert len(seeds) == 6 and all(s == [(0, 0), (1, 1)] for s in seeds.values())


def test_the_multi_variants_left_and_right_can_be_studied():
    config = tiny(variant="multi", tasks=["left", "right"])
    assert check_pareto(config) == ("left", "right")


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"tasks": ["digit"]}, "tasks", "two main tasks, got 1"),
        ({"tasks": ["digit", "parity", "loops"]}, "tasks", "two main tasks, got 3"),
        ({"sharing": "single"}, "sharing", "single sharing trains each task alone"),
        ({"weighting": "uncertainty"}, "weighting", "sweeps fixed task weights"),
        ({"aggregator": "mgda"}, "aggregator", "--methods"),
    ],
)
def test_what_cannot_be_studied_is_refused_in_one_line(changes, field, says):
    with pytest.raises(ConfigError) as info:
        check_pareto(tiny(**changes))
    assert info.value.field == field and says in str(info.value) and "\n" not in str(info.value)


def test_the_cli_refuses_before_training_with_status_2(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    base = ["pareto", "--dataset", "digits", f"--store={store}", "--quiet"]
    for flags, says in (
        (["--tasks", "digit"], "error: tasks: the trade-off is between two main tasks"),
        (["--tasks", "digit,parity", "--ratios", "0"], "error: ratios: the number of ratios"),
        (["--tasks", "digit,parity", "--methods", "magic"], "error: methods: unknown aggregator"),
    ):
        assert main([*base, *flags]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(says) and "\n" not in err, err
    assert not store.exists()


# -- the table and the figure ----------------------------------------------------------------


def made_up_runs() -> pd.DataFrame:
    rows = []
    arms = [
        ("w = 0.25", RATIO, 0.25, [(0.70, 0.90), (0.74, 0.88), (0.72, 0.86)]),
        ("w = 0.5", RATIO, 0.5, [(0.80, 0.80), (0.82, 0.84), (0.81, 0.85)]),
        ("w = 0.75", RATIO, 0.75, [(0.70, 0.70), (0.72, 0.74), (0.71, 0.72)]),
        ("digit alone", SINGLE, math.nan, [(0.9, math.nan), (0.88, math.nan), (0.86, math.nan)]),
        ("mgda", METHOD, math.nan, [(0.83, 0.86), (0.85, 0.85), (0.84, 0.87)]),
    ]
    for arm, kind, w, points in arms:
        for seed, (a, b) in enumerate(points):
            rows.append([arm, kind, w, seed, seed, 10 * len(rows), "completed", 1, a, b])
    columns = ["arm", "kind", "w", "seed", "data_seed", "run_id", "status", "epoch", "m1", "m2"]
    return pd.DataFrame(rows, columns=columns)


def test_the_table_holds_means_t_intervals_and_dominance():
    runs = made_up_runs()
    table = pareto_table(runs, ("digit", "parity")).set_index("arm")
    for arm, part in runs.groupby("arm"):
        values = part["m1"].to_numpy()
        low, high = stats.t.interval(0.95, len(values) - 1, values.mean(), stats.sem(values))
        assert table.loc[arm, "m1_mean"] == pytest.approx(values.mean())
        assert table.loc[arm, "m1_half"] == pytest.approx((high - low) / 2)
        assert table.loc[arm, "n"] == 3
    assert math.isnan(table.loc["digit alone", "m2_mean"])
    # means: 0.25 (0.72, 0.88), 0.5 (0.81, 0.83), 0.75 (0.71, 0.72), mgda (0.84, 0.86)
    assert table["dominated"].to_dict() == {
        "w = 0.25": False,
        "w = 0.5": True,
        "w = 0.75": True,
        "digit alone": False,
        "mgda": False,
    }


def test_the_figure_draws_means_with_both_bars_dominated_hollow_and_single_lines():
    runs = made_up_runs()
    table = pareto_table(runs, ("digit", "parity"))
    fig = pareto_figure(table, runs, tasks=("digit", "parity"), metrics=("accuracy", "accuracy"))
    traces = {t.name: t for t in fig.data}
    hollow = traces["task weights, dominated"]
    assert list(hollow.text) == ["w=0.5", "w=0.75"]
    assert list(hollow.hovertext) == ["w = 0.5", "w = 0.75"]
    assert hollow.marker.symbol == "circle-open"
    assert list(traces["task weights, not dominated"].text) == ["w=0.25"]
    # labels off the error bars, neighbouring weights on opposite sides (they overlapped)
    assert list(traces["task weights, not dominated"].textposition) == ["top right"]
    assert list(hollow.textposition) == ["bottom left", "top right"]
    assert traces["aggregators, not dominated"].marker.symbol == "diamond"
    row = table.set_index("arm").loc["w = 0.25"]
    full = traces["task weights, not dominated"]
    assert (full.x[0], full.y[0]) == (row.m1_mean, row.m2_mean)
    assert (full.error_x.array[0], full.error_y.array[0]) == (row.m1_half, row.m2_half)
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [(s.x0, s.x1) for s in lines] == [(0.88, 0.88)]  # digit alone: a vertical line
    assert fig.layout.xaxis.title.text == "digit validation accuracy"


# -- the page --------------------------------------------------------------------------------

VIEW_SCRIPT = """
import json
from pathlib import Path
import streamlit as st
from mtl_core.config import RunConfig
from mtl_core.dashboard.pages.pareto import pareto_view
from mtl_core.dashboard.runs import RunManager

@st.cache_resource
def manager():
    return RunManager(Path(STORE))

if __name__ == "__main__":  # worker processes re-import this script as __mp_main__
    pareto_view(manager(), "owner", RunConfig.from_dict(json.loads(CONFIG)))
"""


def open_view(store, config: RunConfig) -> AppTest:
    script = VIEW_SCRIPT.replace("STORE", repr(str(store))).replace(
        "CONFIG", repr(config.to_json())
    )
    at = AppTest.from_string(script, default_timeout=180)
    at.session_state["pf_ratios"] = 2
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    queue_only(monkeypatch)
    yield use_store(monkeypatch, tmp_path)
    st.cache_resource.clear()


def test_the_view_draws_the_stored_runs_and_the_form_starts_only_the_missing(fresh):
    config = tiny(train_size=40)
    with RunStore(fresh) as store:
        results = {}
        for arm, _, _, _, c in pareto_jobs(config, 1, 2):
            results[arm] = train(c, store=store)
    at = open_view(fresh, config)
    table = at.dataframe[0].value
    assert list(table["arm"]) == ["w = 0.333", "w = 0.667", "digit alone", "parity alone"]
    point = checkpoint(results["w = 0.333"].rows, ["digit", "parity"])[1]
    assert table["digit (mean)"][0] == pytest.approx(point["digit"])
    assert table["parity (mean)"][0] == pytest.approx(point["parity"])
    # one seed per arm: the line on wide bars and few seeds (test_pareto_readable.py)
    assert any(c.value.startswith("Every arm has fewer than 3 seeds") for c in at.caption)
    fig = figures(at)["pareto"]
    shown = [t for t in fig["data"] if t["name"].startswith("task weights, ")]
    assert sorted(x for t in shown for x in array(t["x"])) == sorted(table["digit (mean)"][:2])
    at.number_input(key="c_tradeoff_seeds").set_value(2)
    next(b for b in at.button if b.label == "Run the trade-off study").click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        runs = store.runs()
    queued = runs[runs.status == "queued"]
    assert sorted(c["seed"] for c in queued.config) == [1, 1, 1, 1]


def test_the_view_says_in_one_line_why_a_setup_cannot_be_studied(fresh):
    at = open_view(fresh, tiny(tasks=["digit"]))
    """In the sidebar's words: it said "name two, e.g. --tasks digit,parity", a CLI flag."""
    assert [e.value for e in at.info] == [
        "No trade-off to study for this setup: the study weighs two main tasks against each "
        "other: pick exactly two under Main tasks in the sidebar (digit and parity on MNIST, "
        "say)."
    ]
    at = open_view(fresh, tiny(tasks=["digit", "parity"], sharing="single"))
    assert "pick hard, soft or cross-stitch under Sharing mode" in at.info[0].value
    assert not any("--" in e.value for e in at.info)


# -- end to end ------------------------------------------------------------------------------


@pytest.mark.slow
def test_pareto_through_the_cli_trains_stores_writes_csv_and_reuses(capsys, tmp_path):
    """`pareto --ratios 3 --k 2` on digits: 10 runs, the table, a CSV; run again, every
    stored run is reused."""
    store, out = tmp_path / "runs.sqlite", tmp_path / "front.csv"
    args = [
        "pareto",
        "--dataset=digits",
        "--tasks=digit,parity",
        "--train-size=100",
        "--width=16",
        "--depth=1",
        "--epochs=2",
        "--ratios=3",
        "--k=2",
        f"--store={store}",
        f"--out={out}",
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    for arm in ("w = 0.25", "w = 0.5", "w = 0.75", "digit alone", "parity alone"):
        assert arm in printed
    csv = pd.read_csv(out)
    assert list(csv["arm"]) == ["w = 0.25", "w = 0.5", "w = 0.75", "digit alone", "parity alone"]
    assert (csv["seeds"] == 2).all()
    with RunStore(store) as s:
        assert len(s.runs()) == 10
    assert main(args) == 0
    assert "Reused 10 stored identical runs" in capsys.readouterr().out
    with RunStore(store) as s:
        assert len(s.runs()) == 10
    np.testing.assert_allclose(pd.read_csv(out)["digit_mean"], csv["digit_mean"])
