"""summary: the best epoch, a 'rising since' flag that does not flicker on noise, and diverging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_core.analysis.summary import (
    RISING_PATIENCE,
    RISING_TOLERANCE,
    best_epoch,
    diverging_since,
    rising_since,
)


def flags(curve: list[float], **kw) -> list[int | None]:
    """rising_since as a live view sees it: after every epoch."""
    return [rising_since(curve[: n + 1], **kw) for n in range(len(curve))]


def test_best_epoch_is_the_first_lowest_finite_value():
    """Ties go to the earlier epoch; NaN and inf are ignored; no finite value is an error."""
    assert best_epoch([3.0, 1.0, 2.0, 1.0]) == 1
    assert best_epoch([math.nan, 2.0, math.inf, 1.5, -math.inf]) == 3
    with pytest.raises(ValueError):
        best_epoch([math.nan, math.inf])


def test_decreasing_curve_is_never_rising():
    """A validation loss that keeps falling never raises the flag."""
    curve = [2.0 * 0.9**e for e in range(40)]
    assert flags(curve) == [None] * 40


def test_clear_u_shape_names_the_best_epoch():
    """A U-shaped curve is flagged once it has stayed above its minimum for `patience` epochs."""
    curve = [1.0, 0.8, 0.6, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0]
    seen = flags(curve)
    assert seen[-1] == 3
    # Epoch 3 is the best; the flag needs RISING_PATIENCE epochs above it, not fewer.
    first = seen.index(3)
    assert first == 3 + RISING_PATIENCE
    assert seen[:first] == [None] * first
    assert seen[first:] == [3] * (len(curve) - first)


def test_noise_below_tolerance_does_not_toggle():
    """A plateau whose noise stays within the tolerance above the best is never flagged."""
    rng = np.random.default_rng(0)
    best = 0.5
    plateau = best * (1 + rng.uniform(0, 0.9 * RISING_TOLERANCE, size=60))
    curve = [1.0, 0.8, 0.6, best, *plateau.tolist()]
    assert flags(curve) == [None] * len(curve)


def test_noisy_rise_stays_flagged_and_the_epoch_does_not_move():
    """Once rising, a noisy but clearly higher curve keeps the same answer every epoch."""
    rng = np.random.default_rng(1)
    down = [1.0, 0.7, 0.5, 0.4]
    up = 0.4 * (1.1 + 0.05 * np.arange(30)) * (1 + rng.uniform(-0.03, 0.03, size=30))
    seen = flags(down + up.tolist())
    first = next(i for i, f in enumerate(seen) if f is not None)
    assert set(seen[first:]) == {3}


def test_a_single_noisy_dip_near_the_best_clears_the_flag_only_while_it_is_recent():
    """One epoch back within tolerance of the best counts as 'not rising' for `patience` epochs."""
    curve = [1.0, 0.5, *[0.7] * 6, 0.505, *[0.7] * 6]
    seen = flags(curve)
    dip = 8
    assert seen[dip - 1] == 1
    assert seen[dip : dip + RISING_PATIENCE] == [None] * RISING_PATIENCE
    assert seen[dip + RISING_PATIENCE :] == [1] * (len(curve) - dip - RISING_PATIENCE)


def test_patience_and_tolerance_are_parameters():
    """A larger tolerance or patience needs a bigger or longer rise."""
    curve = [1.0, 0.5, 0.52, 0.53, 0.54]
    assert rising_since(curve, patience=3, tolerance=0.02) == 1
    assert rising_since(curve, patience=3, tolerance=0.2) is None
    assert rising_since(curve, patience=4, tolerance=0.02) is None


def test_a_training_loss_that_rises_or_ends_not_finite_is_diverging():
    """Overfitting's training loss keeps falling; a diverging one rises for ``patience``
    epochs past its best, like a validation loss that overfits, or ends in NaN."""
    falling = [2.3, 1.2, 0.8, 0.5, 0.3, 0.2, 0.1, 0.05]
    assert diverging_since(falling) is None
    exploding = [2.3, 1.0, 3.0, 9.0, 40.0, 2e3, 4e7]
    assert diverging_since(exploding) == 1
    assert diverging_since([2.3, 1.0, 0.9, math.nan]) == 2
    assert diverging_since([math.nan, math.nan]) == 0
    assert diverging_since([]) is None
    assert diverging_since(exploding[:-1] + [0.5]) is None  # back below its best: steady again


def test_still_improving_means_lowest_at_the_last_of_two_or_more_epochs():
    from mtl_core.analysis.summary import still_improving

    assert still_improving([2.3, 1.0]) and still_improving([2.3, 1.0, 1.0 - 1e-9])
    assert not still_improving([2.3, 1.0, 1.5])  # turned
    assert not still_improving([2.3]) and not still_improving([])  # nothing trained yet
    assert not still_improving([2.3, float("nan")]) and not still_improving([float("nan")] * 2)
