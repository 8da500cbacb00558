"""The U-curve claims of Overfitting 101 and Maxout U-curve can fail: evaluated on
made-up validation curves, they hold for an asymmetric U that turns early and climbs by
more than 10%, and fail for a curve that keeps falling, one that turns in the second half
of training, one that rises by less than 10%, and a U missing on one seed of five even
when the average over seeds clears the bar.

No training: the curves are lists of numbers, so these run fast; tests/test_presets.py
trains the presets themselves.
"""

from __future__ import annotations

import pytest

from mtl_core.studies.claims import (
    ArmResult,
    Recorded,
    claim_difference,
    claim_holds,
    evidence_sentence,
    seed_list,
)
from mtl_core.studies.presets import PRESETS

SEEDS = [0, 1, 2, 3, 4]
U_PRESETS = ["Overfitting 101", "Maxout U-curve"]


def curve(epochs: int, best: int, rise: float, low: float = 0.6) -> list[float]:
    """A validation loss from epoch 0 (2.3, the untrained network) down to ``low`` at
    epoch ``best``, then up in a straight line to ``low × (1 + rise)`` at the last epoch."""
    down = [2.3 + (low - 2.3) * e / best for e in range(best + 1)]
    climb = epochs - best
    up = [low * (1 + rise * e / climb) for e in range(1, climb + 1)]
    return down + up


def results(preset: str, curves: list[list[float]]) -> dict[str, ArmResult]:
    arm = PRESETS[preset].claims[0].a
    return {arm: ArmResult([{}] * len(curves), curves, list(SEEDS[: len(curves)]))}


def verdicts(preset: str, curves: list[list[float]]) -> dict[str, bool]:
    """Each U-curve claim of ``preset``, judged on these curves (one per seed)."""
    found = results(preset, curves)
    return {
        claim.measure: claim_holds(claim, claim_difference(claim, "digit", found))
        for claim in PRESETS[preset].claims
    }


@pytest.mark.parametrize("preset", U_PRESETS)
def test_an_asymmetric_u_that_turns_early_and_climbs_holds(preset):
    curves = [
        curve(50, best, rise)
        for best, rise in zip([6, 8, 7, 9, 5], [0.3, 0.2, 0.25, 0.22, 0.4], strict=True)
    ]
    assert verdicts(preset, curves) == {"best_epoch_share": True, "val_rise": True}


@pytest.mark.parametrize("preset", U_PRESETS)
def test_a_curve_that_keeps_falling_fails(preset):
    falling = [[2.3 - 1.5 * (1 - 0.9**e) - 0.001 * s for e in range(51)] for s in SEEDS]
    assert verdicts(preset, falling) == {"best_epoch_share": False, "val_rise": False}


@pytest.mark.parametrize("preset", U_PRESETS)
def test_a_u_that_turns_in_the_second_half_fails(preset):
    late = [curve(50, best, 0.3) for best in (30, 32, 35, 28, 40)]
    assert verdicts(preset, late) == {"best_epoch_share": False, "val_rise": True}


@pytest.mark.parametrize("preset", U_PRESETS)
def test_a_final_rise_under_ten_percent_fails(preset):
    shallow = [
        curve(50, best, rise)
        for best, rise in zip([6, 8, 7, 9, 5], [0.05, 0.08, 0.06, 0.09, 0.07], strict=True)
    ]
    assert verdicts(preset, shallow) == {"best_epoch_share": True, "val_rise": False}


@pytest.mark.parametrize("preset", U_PRESETS)
def test_one_seed_without_the_rise_fails_even_when_the_mean_clears_the_bar(preset):
    rises = [0.40, 0.40, 0.41, 0.39, 0.08]
    mixed = [curve(50, 7, rise) for rise in rises]
    claim = next(c for c in PRESETS[preset].claims if c.measure == "val_rise")
    diff = claim_difference(claim, "digit", results(preset, mixed))
    assert diff.low > 0  # the interval alone would pass: mean rise 34%, 95% CI above 10%
    assert diff.shown_on(claim.direction) == 4
    assert not claim_holds(claim, diff)


def test_the_page_says_the_value_its_interval_seeds_and_the_bar():
    claim = next(c for c in PRESETS["Maxout U-curve"].claims if c.measure == "val_rise")
    seen = Recorded((100, 101, 102, 103, 104), 0.15, 0.05, 0.25, 5)  # rise − 10%
    sentence = evidence_sentence(claim, seen)
    assert "mean 25.0%, 95% CI 15.0 to 35.0%" in sentence  # the rise itself, not rise − bar
    assert "claimed ≥ 10%, on every seed" in sentence
    assert "seeds 100-104" in sentence and "5 of 5 seeds" in sentence
    assert seed_list((0, 3, 7)) == "0, 3, 7"
