"""The sharing-depth sentence names what it compared, in every case.

It read "K = 0 (single task) was best, ...; the test accuracy of the best shared depth,
K = 2, differs from single task's ... a clear difference": which depth was set against
which, and in whose favour, was left to the reader. Now the sentence says what validation
chose, which depth's test metric is set against single task's (the best K itself, or, when
single task won, the best shared depth, named as such), the difference as that depth
minus single task, and whom a clear difference favours, also when test disagrees with the
validation choice. Numbers are checked against scipy's paired t-interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mtl_core.analysis.stats import PairedDifference
from mtl_core.studies.sharing_depth import DepthVerdict, depth_verdict


def runs(val: dict[int, list[float]], test: dict[int, list[float]], task: str = "digit"):
    """One run per (K, seed): best validation metric ``val``, test metric ``test``."""
    return pd.DataFrame(
        [
            {"k": k, "task": task, "seed": i, "data_seed": i, "best_val": v, "test": test[k][i]}
            for k, vs in val.items()
            for i, v in enumerate(vs)
        ]
    )


def interval(a: list[float], b: list[float], scale: float = 100.0) -> str:
    """ "+5.0 points, 95% CI 1.2 to 8.8 points" of a − b paired, from scipy."""
    d = np.subtract(a, b)
    low, high = stats.t.interval(0.95, len(d) - 1, np.mean(d), stats.sem(d))
    return (
        f"{np.mean(d) * scale:+.1f} points, 95% CI {low * scale:.1f} to {high * scale:.1f} points"
    )


VAL = {0: [0.80, 0.82, 0.81], 1: [0.60, 0.62, 0.61], 2: [0.70, 0.71, 0.73]}  # K = 0 wins
LOWER = {0: [0.80, 0.82, 0.81], 1: [0.70, 0.71, 0.73], 2: [0.60, 0.63, 0.61]}  # test, K = 0 ahead
HIGHER = {0: [0.60, 0.62, 0.61], 1: [0.70, 0.71, 0.73], 2: [0.70, 0.74, 0.72]}  # K > 0 ahead
MIXED = {0: [0.70, 0.75, 0.60], 1: [0.60, 0.62, 0.61], 2: [0.75, 0.68, 0.66]}  # no clear sign


def test_k0_best_names_the_best_shared_depth_and_sets_it_against_single_task():
    text = depth_verdict(runs(VAL, LOWER), "digit").sentence(2)
    assert text.startswith(
        "digit: K = 0 (single task) was best on validation (mean best validation accuracy "
        f"{np.mean(VAL[0]):.3f} over 3 seeds); of the shared depths, K = 2 (all shared) was best. "
    )
    assert (
        "Test accuracy at each run's validation-selected epoch, K = 2 minus single task (K = 0), "
        f"paired by seed: {interval(LOWER[2], LOWER[0])} (paired t-interval over 3 seeds)"
    ) in text
    assert text.endswith(
        "the interval excludes 0, so K = 2 is clearly worse than single task on test."
    )
    assert "its test" not in text and "differs clearly" not in text


def test_k0_best_without_a_clear_difference_names_both_depths():
    text = depth_verdict(runs(VAL, MIXED), "digit").sentence(2)
    assert "; of the shared depths, K = 2 (all shared) was best. " in text
    assert (
        f"K = 2 minus single task (K = 0), paired by seed: {interval(MIXED[2], MIXED[0])}" in text
    )
    assert text.endswith(
        "the interval includes 0, so these seeds show no clear difference between K = 2 and "
        "single task on test."
    )


def test_k0_best_on_validation_but_a_shared_depth_clearly_better_on_test_says_both():
    text = depth_verdict(runs(VAL, HIGHER), "digit").sentence(2)
    assert text.startswith("digit: K = 0 (single task) was best on validation")
    assert f"K = 2 minus single task (K = 0), paired by seed: {interval(HIGHER[2], HIGHER[0])}" in (
        text
    )
    assert text.endswith(
        "so K = 2 is clearly better than single task on test, though validation ranked single "
        "task first."
    )


@pytest.mark.parametrize(
    ("test", "ending"),
    [
        (HIGHER, "so K = 2 is clearly better than single task on test."),
        (
            LOWER,
            "so K = 2 is clearly worse than single task on test, though validation ranked it first.",
        ),
        (MIXED, "no clear difference between K = 2 and single task on test."),
    ],
)
def test_a_shared_depth_best_sets_itself_against_single_task(test, ending):
    val = {0: VAL[1], 1: VAL[2], 2: VAL[0]}  # K = 2 wins on validation
    text = depth_verdict(runs(val, test), "digit").sentence(2)
    assert text.startswith(
        "digit: K = 2 (all shared) was best on validation (mean best validation accuracy "
        f"{np.mean(VAL[0]):.3f} over 3 seeds). Test accuracy"
    )
    assert "of the shared depths" not in text  # the best K is itself the shared depth compared
    assert f"K = 2 minus single task (K = 0), paired by seed: {interval(test[2], test[0])}" in text
    assert text.endswith(ending)


def test_for_an_error_metric_a_lower_test_value_is_better():
    """bbox's metric is a mean absolute error: a negative difference favours K = 1."""
    val = {0: [2.0, 2.2, 2.1], 1: [1.0, 1.1, 1.3]}
    test = {0: [2.0, 2.2, 2.1], 1: [1.0, 1.1, 1.3]}
    text = depth_verdict(runs(val, test, "bbox"), "bbox").sentence(1)
    assert "K = 1 minus single task (K = 0), paired by seed: -0.967" in text
    assert text.endswith("so K = 1 is clearly better than single task on test.")


def test_only_k0_measured_calls_no_depth_best():
    text = depth_verdict(runs({0: VAL[0]}, LOWER), "digit").sentence(2)
    assert text == (
        f"digit: only K = 0 (single task) has finished runs so far (mean best validation "
        f"accuracy {np.mean(VAL[0]):.3f} over 3 seeds): no other depth to compare it with yet."
    )


def test_without_a_single_task_run_nothing_is_set_against_the_best_depth():
    text = depth_verdict(runs({1: VAL[1], 2: VAL[2]}, LOWER), "digit").sentence(2)
    assert text == (
        f"digit: K = 2 (all shared) was best on validation (mean best validation accuracy "
        f"{np.mean(VAL[2]):.3f} over 3 seeds). Single task (K = 0) has no finished run yet: "
        "nothing to set K = 2 against."
    )


def test_too_few_paired_seeds_names_the_two_depths_and_the_count():
    val = {0: VAL[0], 1: VAL[1][:1], 2: VAL[2][:1]}  # the shared depths: seed 0 alone
    text = depth_verdict(runs(val, LOWER), "digit").sentence(2)
    assert "; of the shared depths, K = 2 (all shared) was best. " in text
    assert text.endswith(
        "Test accuracy, K = 2 against single task (K = 0): 1 paired seed so far (the same seed "
        "and data seed in both), and a paired interval needs 2 or more."
    )


@pytest.mark.parametrize(
    ("low", "high", "shown"),
    [
        (-0.029, -0.0004, "95% CI -2.9 to -0.04 points"),  # clear, its upper bound near 0
        (0.00004, 0.031, "95% CI 0.004 to 3.1 points"),
        (-0.0003, 0.02, "95% CI -0.03 to 2.0 points"),  # unclear: a bound near 0 keeps its sign
    ],
)
def test_a_bound_next_to_zero_is_not_printed_as_zero(low, high, shown):
    """In the browser a clear difference read "95% CI -2.9 to -0.0 points (...): the
    interval excludes 0"."""
    diff = PairedDifference((low + high) / 2, low, high, 0.04, 4)
    text = DepthVerdict("digit", 0, 0.165, 4, 1, diff, 4, 3).sentence(2)
    assert shown in text
    assert ("excludes 0" in text) == (low > 0 or high < 0)
