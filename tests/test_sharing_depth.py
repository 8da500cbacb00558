"""The sharing-depth study: its arms (K = 0 single task to K = all), the table's means
and 95% t-intervals, the verdict on K = 0, the refusals, and the page's view.

Numbers are checked against independent computations (scipy's t-interval, each run's
stored curve), and K = 0 against single-task training itself. Finished tiny runs are
trained once into a module store; the page test that starts runs keeps them queued.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import streamlit as st
from scipy import stats

from mtl_core.cli.depth import depth_rows
from mtl_core.cli.main import main
from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.studies import DODGE, sharing_depth_figure
from mtl_core.dashboard.pages.depth import depth_members, depth_points, shown_table
from mtl_core.dashboard.urlstate import config_to_params
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError
from mtl_core.models.counting import param_count
from mtl_core.store.runs import RunStore
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.comparison import compare_arms
from mtl_core.studies.sharing_depth import (
    check_depth,
    depth_arms,
    depth_jobs,
    depth_params,
    depth_table,
    depth_verdict,
    mean_interval,
)
from mtl_core.studies.tuned_baseline import best_val_metric
from mtl_core.training.trainer import train
from tests.helpers.apptest import array, figures, open_app, queue_only, texts, use_store

TINY = {
    "dataset": "digits",
    "train_size": 60,
    "width": 16,
    "depth": 2,
    "epochs": 2,
    "batch_size": 16,
    "aux": ["parity"],
}


def tiny(**changes) -> RunConfig:
    return RunConfig.from_dict({**TINY, **changes})


def rows_of(result, task: str) -> list[tuple]:
    """The run's stored rows of ``task`` but timing, values compared by their bits."""
    return sorted(
        (e, t, s, m, float(v).hex())
        for e, t, s, m, v in result.rows
        if t == task and m != "wall_time"
    )


# -- the arms ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backbone", "depth", "layers"), [("mlp", 2, 2), ("maxout", 3, 3), ("cnn", 1, 3)]
)
def test_arms_run_from_single_task_to_every_layer_shared(backbone, depth, layers):
    """K = 0 is the single-task baseline of each main task; K = 1 … all is the setup with
    shared_layers = K (all: -1), nothing else changed."""
    config = tiny(backbone=backbone, depth=depth, width=8, tasks=["digit", "parity"], aux=["loops"])
    arms = depth_arms(config)
    assert check_depth(config) == layers
    assert list(arms) == list(range(layers + 1))
    assert arms[0] == single_task_baselines(config)
    assert [c.tasks for c in arms[0]] == [("digit",), ("parity",)]
    for k in range(1, layers + 1):
        (arm,) = arms[k]
        assert arm == config.replace(shared_layers=-1 if k == layers else k)


def test_every_arm_runs_the_same_seeds():
    jobs = depth_jobs(tiny(), 3, vary_data=True)
    seeds = {}
    for k, name, c in jobs:
        seeds.setdefault(k, []).append((c.seed, c.data_seed))
        assert name.endswith(f"seed {c.seed}, data seed {c.data_seed}")
    assert seeds == {k: [(0, 0), (1, 1), (2, 2)] for k in (0, 1, 2)}
    fixed = depth_jobs(tiny(), 2, vary_data=False)
    assert {c.data_seed for _, _, c in fixed} == {0}


@pytest.mark.parametrize("method", [{"weighting": "gradnorm"}, {"aggregator": "upgrad"}])
def test_a_method_that_needs_a_shared_layer_keeps_k0_as_plain_single_task(method):
    """Hard sharing of no layer refuses GradNorm and the aggregators; the study's K = 0
    is the single-task baseline, which drops them, so every K is a valid run."""
    config = tiny(**method)
    with pytest.raises(ConfigError):
        config.replace(shared_layers=0)
    arms = depth_arms(config)
    assert [(c.weighting, c.aggregator) for c in arms[0]] == [("fixed", "none")]
    assert [arms[k][0].replace(shared_layers=-1) == config for k in (1, 2)] == [True, True]


def test_the_study_ignores_the_setups_own_shared_layers():
    assert depth_arms(tiny(shared_layers=1)) == depth_arms(tiny())


@pytest.mark.parametrize("weighting", ["fixed", "equal"])
def test_k0_trains_each_main_task_bit_for_bit_like_hard_sharing_of_no_layer(weighting):
    """The study's K = 0 point (single-task runs) is what hard sharing with
    shared_layers = 0 trains for the main task, with dropout: the curves are equal."""
    config = tiny(dropout=0.3, seed=4, data_seed=2, weighting=weighting)
    (single,) = depth_arms(config)[0]
    assert single.sharing == "single" and single.aux == ()
    nothing_shared = train(config.replace(shared_layers=0))
    alone = train(single)
    assert nothing_shared.status == alone.status == "completed"
    assert rows_of(alone, "digit") and rows_of(nothing_shared, "digit") == rows_of(alone, "digit")


def test_each_rows_parameters_are_those_of_the_arm_it_counts():
    """K = 0's row counts the main task's single-task runs, so it reports that one network
    (it reported every task's networks together: 803,854 beside runs of 269,322); above
    it, the model with K shared layers, auxiliary branches and heads included."""
    config = tiny(width=16)
    params = depth_params(config)
    (single,) = depth_arms(config)[0]
    first, second, digit_head = 64 * 16 + 16, 16 * 16 + 16, 17 * 10
    assert params == {
        (0, "digit"): param_count(single),
        (1, "digit"): param_count(config.replace(shared_layers=1)),
        (2, "digit"): param_count(config),  # -1: hard sharing
    }
    assert params[0, "digit"] == first + second + digit_head
    assert param_count(config.replace(shared_layers=0)) > params[0, "digit"]  # + parity's net
    assert params[1, "digit"] - params[2, "digit"] == second  # the second layer, once
    # two main tasks: at K = 0 each its own network (heads of 10 and 2 classes), then one model
    both = tiny(tasks=["digit", "parity"], aux=[])
    two = depth_params(both)
    assert two[0, "digit"] - two[0, "parity"] == 17 * 10 - 17 * 2
    assert two[2, "digit"] == two[2, "parity"] == param_count(both)


def test_the_cli_prints_each_main_tasks_parameters_with_thousands_separators():
    table = pd.DataFrame(
        {
            "k": [0, 0, 1, 1],
            "task": ["digit", "parity"] * 2,
            "params": [269_322, 266_946, 803_854, 803_854],
            "n": [3, 3, 3, 3],
            "val_mean": [0.8] * 4,
            "val_low": [0.7] * 4,
            "val_high": [0.9] * 4,
        }
    )
    assert list(depth_rows(table, 1).parameters) == ["269,322/266,946", "803,854"]


# -- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"aux": []}, "tasks", "a single task has nothing to share"),
        ({"sharing": "soft"}, "sharing", "applies to hard sharing only: soft sharing ties"),
        ({"sharing": "cross-stitch"}, "sharing", "applies to hard sharing only: cross-stitch"),
        ({"sharing": "single"}, "sharing", "single sharing shares no layer"),
    ],
)
def test_what_cannot_be_studied_is_refused_in_one_line(changes, field, says):
    with pytest.raises(ConfigError, match=f"^{field}: .*{says}") as caught:
        depth_arms(tiny(**changes))
    assert "\n" not in str(caught.value)


def test_the_cli_refuses_before_training_with_status_2(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    args = "sharing-depth --dataset digits --aux parity --sharing soft --k 2 --store"
    assert main([*args.split(), str(store)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: sharing: sharing depth applies to hard sharing only")
    assert len(err.splitlines()) == 1
    assert not store.exists()
    args = "sharing-depth --dataset digits --aux parity --k 0 --store"
    assert main([*args.split(), str(store)]) == 2
    assert capsys.readouterr().err.startswith("error: k: number of seeds must be")
    assert not store.exists()


# -- the table and the verdict -----------------------------------------------------------


def frame(values: dict[int, list[float]], task: str = "digit") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"k": k, "task": task, "seed": i, "data_seed": i, "best_val": v, "test": v - 0.1}
            for k, vs in values.items()
            for i, v in enumerate(vs)
        ]
    )


def test_table_holds_the_mean_and_its_t_interval_per_k():
    values = {0: [0.50, 0.55, 0.61], 1: [0.70, 0.72, 0.71], 2: [0.60, 0.58, math.nan]}
    table = depth_table(frame(values), {(0, "digit"): 30, (1, "digit"): 20, (2, "digit"): 10})
    assert list(table["k"]) == [0, 1, 2]
    assert list(table["params"]) == [30, 20, 10]
    assert list(table["n"]) == [3, 3, 2]  # a run without a value is no seed
    for row in table.itertuples():
        xs = [v for v in values[row.k] if not math.isnan(v)]
        low, high = stats.t.interval(0.95, len(xs) - 1, np.mean(xs), stats.sem(xs))
        assert row.val_mean == pytest.approx(np.mean(xs))
        assert (row.val_low, row.val_high) == (pytest.approx(low), pytest.approx(high))
        assert row.test_mean == pytest.approx(np.mean(xs) - 0.1)
    mean, low, high = mean_interval([0.4])
    assert mean == 0.4 and math.isnan(low) and math.isnan(high)


def test_the_verdict_names_the_best_k_and_a_clear_difference_from_k0():
    values = {0: [0.50, 0.55, 0.61], 1: [0.70, 0.76, 0.80], 2: [0.52, 0.56, 0.60]}
    verdict = depth_verdict(frame(values), "digit")
    assert (verdict.best_k, verdict.shared_k, verdict.best_n) == (1, 1, 3)
    diff = [a - b for a, b in zip(values[1], values[0], strict=True)]
    low, high = stats.t.interval(0.95, 2, np.mean(diff), stats.sem(diff))
    assert (verdict.diff.low, verdict.diff.high) == (pytest.approx(low), pytest.approx(high))
    text = verdict.sentence(2)
    assert text.startswith(
        "digit: K = 1 (1 shared) was best on validation (mean best validation accuracy 0.753"
    )
    assert "K = 1 minus single task (K = 0), paired by seed: " in text
    assert f"+{np.mean(diff) * 100:.1f} points, 95% CI {low * 100:.1f} to {high * 100:.1f}" in text
    assert "over 3 seeds" in text
    assert text.endswith(
        "the interval excludes 0, so K = 1 is clearly better than single task on test."
    )


def test_an_unclear_difference_is_said_so_and_a_best_k0_names_the_best_shared_depth():
    unclear = depth_verdict(frame({0: [0.5, 0.6, 0.7], 1: [0.52, 0.55, 0.74]}), "digit")
    assert unclear.sentence(1).endswith(
        "so these seeds show no clear difference between K = 1 and single task on test."
    )
    alone = depth_verdict(
        frame({0: [0.8, 0.8, 0.9], 1: [0.5, 0.6, 0.6], 2: [0.7, 0.75, 0.8]}), "digit"
    )
    assert (alone.best_k, alone.shared_k) == (0, 2)
    assert "K = 0 (single task) was best on validation" in alone.sentence(2)
    assert "; of the shared depths, K = 2 (all shared) was best. " in alone.sentence(2)
    assert "K = 2 minus single task (K = 0), paired by seed: " in alone.sentence(2)


def test_with_one_depth_measured_no_depth_is_called_best():
    """One K with finished runs (a free-play run counts at K = all shared) was "K = 2 (all
    shared) was best": best of one."""
    for values in ({2: [0.8]}, {0: [0.5, 0.6]}):
        text = depth_verdict(frame(values), "digit").sentence(2)
        assert "was best" not in text and "no other depth to compare it with yet" in text
    assert "only K = 2 (all shared) has finished runs" in (
        depth_verdict(frame({2: [0.8]}), "digit").sentence(2)
    )


def test_the_difference_from_k0_is_judged_on_test_as_compare_judges_it():
    """K is chosen on validation, but its difference from K = 0 is the test metric's, as in
    Compare, the learning curve and the lessons: judged on validation, this view said "a
    clear difference" where Compare, on the same runs, said "no clear difference"."""
    runs = frame({0: [0.50, 0.55, 0.61], 1: [0.70, 0.76, 0.80]})  # validation: far apart
    runs["test"] = [0.80, 0.70, 0.75, 0.78, 0.71, 0.74]  # test: -2, +1, -1 points
    verdict = depth_verdict(runs, "digit")
    assert (verdict.best_k, verdict.best_mean) == (1, pytest.approx(0.7533, abs=1e-4))

    def arm(k: int) -> list:
        tests = runs.test[runs.k == k]
        return [(tiny(seed=i, data_seed=i), {"main": {"digit": {"test_metric": t}}})
                for i, t in enumerate(tests)]  # fmt: skip

    compared = compare_arms(arm(1), arm(0))
    assert (verdict.diff.mean, verdict.diff.low, verdict.diff.high) == (
        pytest.approx(compared.diff.mean),
        pytest.approx(compared.diff.low),
        pytest.approx(compared.diff.high),
    )
    assert "no clear difference" in compared.sentence()
    text = verdict.sentence(1)
    assert "was best on validation (mean best validation accuracy 0.753 over 3 seeds)" in text
    assert (
        f". Test accuracy at each run's validation-selected epoch, K = 1 minus single task "
        f"(K = 0), paired by seed: {compared.diff.mean * 100:+.1f} points"
    ) in text
    assert text.endswith(
        "so these seeds show no clear difference between K = 1 and single task on test."
    )


def test_the_difference_pairs_only_the_seeds_both_arms_ran():
    runs = frame({0: [0.5, 0.6, 0.7], 1: [0.6, 0.8, 0.75, 0.9]})
    verdict = depth_verdict(runs, "digit")
    assert verdict.pairs == 3 and verdict.diff.n == 3
    assert verdict.diff.mean == pytest.approx(np.mean([0.1, 0.2, 0.05]))
    lone = depth_verdict(frame({0: [0.5], 1: [0.6]}), "digit")
    assert lone.diff is None and "a paired interval needs 2 or more" in lone.sentence(1)


def test_for_mae_the_best_k_is_the_lowest():
    verdict = depth_verdict(frame({0: [2.0, 2.2], 1: [1.0, 1.1]}, task="bbox"), "bbox")
    assert verdict.best_k == 1


def test_the_page_table_writes_parameters_with_thousands_separators():
    table = depth_table(frame({0: [0.5], 1: [0.6]}), {(0, "digit"): 269_322, (1, "digit"): 803_854})
    assert list(shown_table(table, 1).parameters) == ["269,322", "803,854"]


@pytest.mark.parametrize("tasks", [["digit"], ["bbox"], ["digit", "bbox"]])
def test_the_tables_name_the_metric_of_their_means(tasks):
    """The page's headings read "best val (mean)" and "test (mean)": of which metric? Now
    they name the main tasks' (each once), as the printed table's do."""
    runs = pd.concat([frame({0: [0.5, 0.6], 1: [0.6, 0.7]}, task) for task in tasks])
    table = depth_table(runs, {(k, t): 1 for k in (0, 1) for t in tasks})
    metric = " / ".join(dict.fromkeys(get_task(t).metric for t in tasks))
    shown = shown_table(table, 1)
    assert list(shown.columns[-4:]) == [
        f"best val {metric} (mean)",
        "95% CI low",
        "95% CI high",
        f"test {metric} (mean)",
    ]
    assert list(shown[f"test {metric} (mean)"]) == list(table.test_mean)
    printed = depth_rows(table, 1).columns
    assert [f"{t} best val {get_task(t).metric}" for t in tasks] == list(printed[3:-1])


PARAMS = {(0, "digit"): 3, (1, "digit"): 2, (2, "digit"): 1}


def test_a_k_without_runs_is_a_gap_in_the_line():
    """Runs at K = 0 and 2 only: the line stops at K = 1 rather than crossing it."""
    runs = frame({0: [0.5, 0.55], 2: [0.7, 0.72]})
    runs["run_id"] = range(len(runs))
    table = depth_table(runs, PARAMS)
    fig = sharing_depth_figure(table, runs, max_k=2, labels={}, metrics={"digit": "accuracy"})
    line = fig.data[-1]
    np.testing.assert_allclose(line.x, [0, 1, 2])
    np.testing.assert_allclose(line.y, [0.525, np.nan, 0.71])
    assert line.connectgaps is not True  # NaN breaks the line unless gaps are connected
    np.testing.assert_allclose(line.error_y.array[1], 0)


def test_the_figure_draws_the_table_with_its_intervals():
    runs = frame({0: [0.5, 0.55, 0.61], 1: [0.70, 0.72, 0.71], 2: [0.6]})
    runs["run_id"] = range(len(runs))
    table = depth_table(runs, PARAMS)
    labels = {0: "single task", 2: "all shared"}
    fig = sharing_depth_figure(table, runs, max_k=2, labels=labels, metrics={"digit": "accuracy"})
    dots, line = fig.data
    np.testing.assert_allclose(line.x, [0, 1, 2])
    np.testing.assert_allclose(line.y, table.val_mean)
    np.testing.assert_allclose(line.error_y.array, [*(table.val_high - table.val_mean)[:2], 0])
    np.testing.assert_allclose(line.error_y.arrayminus, [*(table.val_mean - table.val_low)[:2], 0])
    np.testing.assert_allclose(dots.y, runs.best_val)
    assert list(fig.layout.xaxis.ticktext) == ["0<br>single task", "1", "2<br>all shared"]
    both = pd.concat([runs, runs.assign(task="parity", best_val=runs.best_val / 2)])
    table = depth_table(both, PARAMS | {(k, "parity"): 1 for k in (0, 1, 2)})
    metrics = {"digit": "accuracy", "parity": "accuracy"}
    fig = sharing_depth_figure(table, both, max_k=2, labels=labels, metrics=metrics)
    lines = {t.name: t for t in fig.data if t.mode == "lines+markers"}
    np.testing.assert_allclose(lines["digit"].x, np.array([0, 1, 2]) - DODGE / 2)
    np.testing.assert_allclose(lines["parity"].x, np.array([0, 1, 2]) + DODGE / 2)
    np.testing.assert_allclose(lines["parity"].y, table.val_mean[table.task == "parity"])


# -- the page ----------------------------------------------------------------------------

PAGE = tiny(depth=1, train_size=100)  # K = 0 (single task) and 1 (all shared)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The study of PAGE over two seeds, trained in this process: (path, results by K)."""
    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, tmp_path_factory.mktemp("depth"))
        results: dict[int, list] = {0: [], 1: []}
        with RunStore(path) as store:
            for k, name, config in depth_jobs(PAGE, 2, vary_data=True):
                result = train(config, store=store, name=name)
                assert result.status == "completed", result.message
                results[k].append(result)
        yield path, results
        st.cache_resource.clear()


def test_the_view_draws_the_stored_runs_with_their_intervals_and_verdict(stored):
    path, results = stored
    at = open_app(config_to_params(PAGE))
    at.button_group(key=picker_key(at.session_state)).set_value("Sharing depth").run()
    assert not at.exception, at.exception
    fig = figures(at)["sharing_depth"]
    line = next(t for t in fig["data"] if t["name"] == "digit")
    best = {k: [best_val_metric(r, "digit") for r in rs] for k, rs in results.items()}
    assert list(array(line["x"])) == [0, 1]
    np.testing.assert_allclose(array(line["y"]), [np.mean(best[0]), np.mean(best[1])])
    for k in (0, 1):
        low, high = stats.t.interval(0.95, 1, np.mean(best[k]), stats.sem(best[k]))
        assert array(line["error_y"]["array"])[k] == pytest.approx(high - np.mean(best[k]))
        assert array(line["error_y"]["arrayminus"])[k] == pytest.approx(np.mean(best[k]) - low)
    tests = {
        k: [r.summary["main"]["digit"]["test_metric"] for r in rs] for k, rs in results.items()
    }
    runs = frame(best).assign(test=[t for k in (0, 1) for t in tests[k]])
    verdict = depth_verdict(runs, "digit").sentence(1)
    assert f"- {verdict}" in texts(at).splitlines()
    # the difference it judges is the test accuracy's, seed by seed (as Compare's)
    paired = np.mean(np.subtract(tests[1], tests[0])) * 100
    assert f"K = 1 minus single task (K = 0), paired by seed: {paired:+.1f} points" in verdict
    assert any(
        "by the test accuracy at each run's validation-selected" in c.value for c in at.caption
    )
    # the table's parameters: those each row's runs were built with (their provenance)
    table = next(d.value for d in at.dataframe if "parameters" in d.value.columns)
    assert {"best val accuracy (mean)", "test accuracy (mean)"} <= set(table.columns)
    with RunStore(path) as store:
        built = store.runs().set_index("id").provenance
    for k, rs in results.items():
        (shown,) = table.parameters[table["K"] == k]
        assert {f"{built[r.run_id]['param_count']:,}" for r in rs} == {shown}
    # Each point counts every stored run of its K: the caption said "each over the same
    # seeds" above a table of 6, 3 and 6 seeds.
    caption = next(c.value for c in at.caption if c.value.startswith("For the sidebar's setup"))
    assert "every stored run of its K" in caption and "each over the same seeds" not in caption


def test_k_all_trained_as_the_layer_count_joins_the_all_shared_arm(stored):
    """shared_layers = 1 and -1 share every layer of a depth-1 mlp: one arm, the
    oldest run of each seed counted."""
    path, results = stored
    with RunStore(path) as store:
        runs = store.runs()
    extra = runs[runs.id == results[1][0].run_id].copy()
    extra["id"] = 999
    extra["config"] = [{**extra.config.iloc[0], "shared_layers": 1}]
    members = depth_members(pd.concat([runs, extra]), PAGE)
    assert sorted(members.run_id) == sorted(r.run_id for rs in results.values() for r in rs)
    extra["config"] = [{**extra.config.iloc[0], "seed": 7}]
    members = depth_members(pd.concat([runs, extra]), PAGE)
    assert 999 in set(members.run_id[members.k == 1])


def test_each_rows_parameters_are_those_its_runs_were_built_with(stored):
    """The model's own count, stored with each run (the Live card shows it), equals the
    parameters of the table row that averages the run."""
    path, _ = stored
    with RunStore(path) as store:
        runs = store.runs()
        members = depth_members(runs, PAGE)
        points = depth_points(runs, members, store.metrics(list(members.run_id)), PAGE)
    table = depth_table(points, depth_params(PAGE))
    built = runs.set_index("id").provenance
    assert len(table) == 2
    for row in table.itertuples():
        ids = points.run_id[(points.k == row.k) & (points.task == row.task)]
        assert {built[i]["param_count"] for i in ids} == {row.params}


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """A fresh store whose runs stay queued; the module's page again afterwards."""
    queue_only(monkeypatch)
    yield use_store(monkeypatch, tmp_path)
    st.cache_resource.clear()


def test_the_form_starts_only_the_missing_runs(fresh):
    """One seed of each arm is stored: two seeds ask for the second seed's two runs."""
    with RunStore(fresh) as store:
        for _, _, config in depth_jobs(PAGE, 1, vary_data=True):
            train(config, store=store)
    at = open_app(config_to_params(PAGE))
    at.button_group(key=picker_key(at.session_state)).set_value("Sharing depth").run()
    at.number_input(key="c_depth_seeds").set_value(2)
    next(b for b in at.button if b.label.startswith("Train the missing runs")).click().run()
    assert not at.exception, at.exception
    with RunStore(fresh) as store:
        runs = store.runs()
    queued = runs[runs.status == "queued"]
    assert sorted((c["sharing"], c["seed"], c["data_seed"]) for c in queued.config) == [
        ("hard", 1, 1),
        ("single", 1, 1),
    ]


def test_the_view_says_in_one_line_why_a_setup_cannot_be_studied(stored):
    at = open_app(config_to_params(PAGE.replace(sharing="soft")))
    at.button_group(key=picker_key(at.session_state)).set_value("Sharing depth").run()
    assert not at.exception, at.exception
    assert [e.value for e in at.info if "sharing depth" in e.value] == [
        "No sharing depth to study for this setup: sharing depth applies to hard sharing "
        "only: soft sharing ties every layer of the task trunks (tying only the first K is "
        "not done); use hard sharing."
    ]
    assert "sharing_depth" not in figures(at)


# -- end to end --------------------------------------------------------------------------


@pytest.mark.slow
def test_sharing_depth_through_the_cli_trains_stores_and_reuses(capsys, tmp_path):
    """`sharing-depth --k 2` trains K = 0, 1, 2 over two seeds in worker processes, prints
    the table and the verdict; run again, it reuses every stored run."""
    store = tmp_path / "runs.sqlite"
    args = (
        "sharing-depth --dataset digits --train-size 60 --width 16 --depth 2 --epochs 2 "
        "--batch-size 16 --aux parity --k 2 --quiet --store"
    )
    code = main([*args.split(), str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split()[:2] for line in lines[2:5]] == [["0", "single"], ["1", "1"], ["2", "all"]]
    with RunStore(store) as reader:
        runs = reader.runs()
    assert len(runs) == 6 and set(runs.status) == {"completed"}
    arms = sorted((c["sharing"], c["shared_layers"], c["seed"]) for c in runs.config)
    assert arms == [("hard", -1, 0), ("hard", -1, 1), ("hard", 1, 0), ("hard", 1, 1),
                    ("single", -1, 0), ("single", -1, 1)]  # fmt: skip
    arm_of = {("single", -1): 0, ("hard", 1): 1, ("hard", -1): 2}
    best: dict[int, list[float]] = {0: [], 1: [], 2: []}
    with RunStore(store) as reader:
        for r in runs.itertuples():
            m = reader.metrics(int(r.id))
            val = m[(m.task == "digit") & (m.split == "val") & (m.metric == "accuracy")]
            best[arm_of[r.config["sharing"], r.config["shared_layers"]]].append(val.value.max())
    for k, values in best.items():
        mean = np.mean(values)
        half = stats.t.interval(0.95, 1, mean, stats.sem(values))[1] - mean
        assert lines[2 + k].split()[-4:] == [f"{mean:.3f}", "±", f"{half:.3f}", "2"]
    assert any(line.startswith("digit: K = ") for line in lines)
    code = main([*args.split(), str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Reused 6 stored identical runs" in out
    with RunStore(store) as reader:
        assert len(reader.runs()) == 6
