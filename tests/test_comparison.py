"""Paired comparisons: pairing by seed, scipy's interval and p-value, and the sentence."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from scipy import stats

from mtl_core.analysis.stats import paired_difference
from mtl_core.cli.main import main
from mtl_core.errors import ConfigError, MtlError
from mtl_core.store.runs import RunStore
from mtl_core.studies.comparison import compare_arms

HARD = [0.850, 0.832, 0.861, 0.845, 0.858]
SINGLE = [0.812, 0.801, 0.820, 0.797, 0.815]


def summary(value: float, task: str = "digit") -> dict:
    return {"main": {task: {"test_metric": value}}}


def arms(make_config, a=HARD, b=SINGLE, size=300):
    multi = make_config(train_size=size, aux=["parity"])
    single = multi.replace(aux=[], sharing="single")
    arm_a = [(multi.replace(seed=i, data_seed=10 + i), summary(v)) for i, v in enumerate(a)]
    arm_b = [(single.replace(seed=i, data_seed=10 + i), summary(v)) for i, v in enumerate(b)]
    return arm_a, arm_b


def test_interval_and_p_value_match_scipy_and_pairs_follow_the_seeds(make_config):
    """The runs of arm b come shuffled: pairing goes by (seed, data_seed), not position."""
    arm_a, arm_b = arms(make_config)
    random.Random(0).shuffle(arm_b)
    result = compare_arms(arm_a, arm_b, label_a="hard sharing")
    diffs = np.array(HARD) - np.array(SINGLE)
    low, high = stats.t.interval(0.95, len(diffs) - 1, loc=diffs.mean(), scale=stats.sem(diffs))
    assert result.diff.mean == pytest.approx(diffs.mean(), abs=1e-15)
    assert (result.diff.low, result.diff.high) == pytest.approx((low, high), abs=1e-12)
    assert result.diff.p_value == pytest.approx(stats.ttest_rel(HARD, SINGLE).pvalue, rel=1e-9)
    assert result.pairs == tuple((i, 10 + i) for i in range(5))
    assert (result.task, result.metric, result.train_size) == ("digit", "accuracy", 300)


def test_the_sentence_names_size_direction_points_interval_and_test(make_config):
    arm_a, arm_b = arms(make_config)
    assert compare_arms(arm_a, arm_b, label_a="hard sharing").sentence() == (
        "With 300 training images, hard sharing raised digit test accuracy by 4.0 points "
        "compared with single task, 95% CI 3.2 to 4.8 points (paired t-interval), over 5 "
        "paired seeds (paired t-test p < 0.001)."
    )
    assert (
        compare_arms(arm_b, arm_a, label_a="single task", label_b="hard sharing")
        .sentence()
        .startswith(
            "With 300 training images, single task lowered digit test accuracy by 4.0 "
            "points compared with hard sharing, 95% CI 3.2 to 4.8 points"
        )
    )
    noisy_a, noisy_b = arms(make_config, a=[0.80, 0.84, 0.79], b=[0.81, 0.80, 0.80])
    text = compare_arms(noisy_a, noisy_b).sentence()
    p = stats.ttest_rel([0.80, 0.84, 0.79], [0.81, 0.80, 0.80]).pvalue
    assert f"p = {p:.2g})" in text and "p = 0.73" in text
    assert text.endswith("; the interval includes zero, so these seeds show no clear difference.")


def test_a_regression_metric_is_an_error_in_its_own_unit(make_config):
    config = make_config(variant="rotated", tasks=["angle"])
    a = [(config.replace(seed=i), summary(v, "angle")) for i, v in enumerate([12.5, 13.1, 11.9])]
    b = [(config.replace(seed=i), summary(v, "angle")) for i, v in enumerate([12.9, 13.0, 12.6])]
    assert compare_arms(a, b).sentence() == (
        "With 100 training images, multi-task lowered the angle test mean absolute error by "
        "0.333° compared with single task, 95% CI -0.671 to 1.337° (paired t-interval), over 3 "
        "paired seeds (paired t-test p = 0.29); the interval includes zero, so these seeds "
        "show no clear difference."
    )


def test_unpaired_or_too_few_pairs_are_refused_in_one_line(make_config):
    arm_a, arm_b = arms(make_config)
    with pytest.raises(
        MtlError,
        match=r"^unpaired run: seed 4, data seed 14 is only in "
        r"multi-task; both arms need the same seeds$",
    ):
        compare_arms(arm_a, arm_b[:4])
    with pytest.raises(ConfigError, match="^k: a paired comparison needs at least 2 paired "):
        compare_arms(arm_a[:1], arm_b[:1])
    with pytest.raises(MtlError, match="two runs with seed 0"):
        compare_arms(arm_a + arm_a[:1], arm_b)
    failed = [(arm_b[0][0], {})] + arm_b[1:]
    with pytest.raises(MtlError, match=r"^single task: the run with seed 0, .*did it fail"):
        compare_arms(arm_a, failed)
    with pytest.raises(ConfigError, match="^k: "):
        compare_arms([], arm_b)


# The baseline the CLI must store for an aggregator run, written out (see test_baselines).
PCGRAD_BASELINE = {
    "tasks": ["digit"],
    "aux": [],
    "sharing": "single",
    "weighting": "fixed",
    "aggregator": "none",
    "aux_weights": {},
    "aux_shuffle": {},
    "task_sizes": {},
    "dataset": "digits",
    "train_size": 40,
    "width": 16,
    "depth": 1,
    "epochs": 2,
    "batch_size": 16,
}


@pytest.mark.slow
def test_compare_an_aggregator_run_with_its_baseline_through_the_cli(capsys, tmp_path):
    """`compare --aggregator pcgrad` trains both arms (the baseline without the
    aggregator) and prints the paired sentence instead of refusing the baseline."""
    store = tmp_path / "runs.sqlite"
    args = (
        "compare --dataset digits --train-size 40 --width 16 --depth 1 --epochs 2 --batch-size 16 "
        "--aux parity --aggregator pcgrad --k 2 --quiet --store"
    )
    code = main([*args.split(), str(store)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "With 40 training images, hard sharing" in out and "compared with single task" in out
    with RunStore(store) as reader:
        runs = reader.runs()
    assert set(runs["status"]) == {"completed"} and len(runs) == 4
    multi = [c for c in runs["config"] if c["aggregator"] == "pcgrad"]
    single = [c for c in runs["config"] if c["aggregator"] != "pcgrad"]
    assert sorted((c["seed"], c["aux"]) for c in multi) == [(0, ["parity"]), (1, ["parity"])]
    assert sorted(c["seed"] for c in single) == [0, 1]
    for config in single:
        assert {k: config[k] for k in PCGRAD_BASELINE} == PCGRAD_BASELINE


def test_a_difference_constant_up_to_rounding_is_tested_without_a_warning():
    """Seeds whose differences are equal up to the last bits (a constant difference): the
    p-value is the paired t-test's, and no "precision loss" warning reaches the server's
    log (scipy's ttest_rel gives the same p with that warning)."""
    a = [0.81, 0.83, 0.79, 0.8]
    b = [0.71, 0.73, 0.69, 0.7]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_difference(a, b)
    with warnings.catch_warnings(record=True) as scipy_said:
        warnings.simplefilter("always")
        expected = stats.ttest_rel(a, b).pvalue
    assert [str(w.message) for w in scipy_said if "Precision loss" in str(w.message)]
    assert result.p_value == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert isinstance(result.p_value, float)


def test_a_bound_beside_zero_keeps_its_digits_in_the_sentence():
    # "95% CI -2.9 to -0.0 points" beside "excludes 0" (the bound was -0.04)
    from mtl_core.analysis.stats import PairedDifference
    from mtl_core.studies.comparison import Comparison
    from mtl_core.written import bound

    diff = PairedDifference(mean=-0.015, low=-0.029, high=-0.0004, p_value=0.04, n=4)
    c = Comparison("hard sharing", "single task", "digit", "accuracy", 100, (), (), (), diff)
    said = c.sentence()
    assert "lowered digit test accuracy by 1.5 points" in said
    assert "95% CI 0.04 to 2.9 points" in said and "0.0 " not in said
    assert [bound(v, 1) for v in (-0.04, 0.04, 2.94, 0.0, 0.0004)] == [
        "-0.04",
        "0.04",
        "2.9",
        "0.0",
        "0.0004",
    ]
