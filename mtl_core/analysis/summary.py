"""What a curve says: best epoch, train/validation gap, "rising since epoch N", diverging,
still improving at its end.

Pure functions over lists of numbers, shared by the trainer, the CLI and the dashboard,
so that every view calls overfitting at the same epoch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

RISING_PATIENCE = 5  # epochs the validation loss must stay above its best
RISING_TOLERANCE = 0.02  # relative margin above the best that counts as "above"


def best_epoch(values: Sequence[float]) -> int:
    """Index of the lowest finite value (the first one on ties)."""
    finite = [(v, i) for i, v in enumerate(values) if math.isfinite(v)]
    if not finite:
        raise ValueError("no finite value")
    return min(finite)[1]


def rising_since(
    val_losses: Sequence[float],
    patience: int = RISING_PATIENCE,
    tolerance: float = RISING_TOLERANCE,
) -> int | None:
    """The best epoch, if every one of the last ``patience`` epochs lies more than
    ``tolerance`` (relative) above the best; else None.

    Requiring all of the last epochs to stay above keeps the flag from flickering on
    noise, and the epoch it names only moves when a new best appears.
    """
    if len(val_losses) <= patience:
        return None
    best = best_epoch(val_losses)
    recent = val_losses[-patience:]
    if len(val_losses) - 1 - best < patience:
        return None
    threshold = val_losses[best] + tolerance * abs(val_losses[best])
    return best if all(v > threshold for v in recent) else None


def still_improving(val_losses: Sequence[float]) -> bool:
    """Whether the validation loss is lowest at its last epoch (after at least one trained
    epoch): a run that ended there had not finished learning, and its scores at the "best"
    epoch are those of a network that more epochs may still improve. An ended run's
    numbers then compare how fast networks learn, not how well."""
    if len(val_losses) < 2:
        return False
    try:
        return best_epoch(val_losses) == len(val_losses) - 1
    except ValueError:
        return False


def diverging_since(train_losses: Sequence[float]) -> int | None:
    """The best training epoch, if the training loss itself rises (the same rule as
    ``rising_since``) or its last value is not finite; else None.

    Why: a validation loss that rises while the training loss falls is overfitting; one
    that rises with the training loss is a training that diverges (a learning rate too
    high, typically), and calling that overfitting taught the wrong lesson.
    """
    if not train_losses:
        return None
    try:
        best = best_epoch(train_losses)
    except ValueError:  # not one finite training loss
        return 0
    if not math.isfinite(train_losses[-1]):
        return best
    return rising_since(train_losses)


def best_value(values: Sequence[float], higher_is_better: bool) -> float:
    """The best finite value of a metric curve (the highest accuracy, the lowest error);
    NaN if there is none (a run that failed before its first epoch)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return math.nan
    return max(finite) if higher_is_better else min(finite)
