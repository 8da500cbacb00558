"""The numbers a run's summary cards show, declared once for the page and the live feed.

Why one declaration: the Live view's cards (each main task's best validation loss and its
epoch, the train/validation gap there, "rising since epoch N") were computed by the page
when its panel redrew, every third of the chart's updates, so while a run trained they
trailed the chart by up to 3 s and had to say which epoch they showed. The chart's feed
(``mtl_core/dashboard/feed.py``) now carries these numbers with each answer that brings new
epochs, and the cards move on with the chart (``widgets/cards.py``). Both the page and the
feed compute them here, from the run's stored losses, so the two cannot disagree.

The rules are ``summary.py``'s (``best_epoch``, ``rising_since``), which the trainer and
the CLI use too. The chart's best-epoch stars come from the same numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from mtl_core.analysis.summary import best_epoch, diverging_since, rising_since, still_improving

if TYPE_CHECKING:
    import pandas as pd

# While a run is live, its cards and its chart's best-epoch star show from this epoch on:
# the untrained network's "best validation loss 2.30 at epoch 0" read as a contradiction
# of a chart about to move on (widgets/cards.py, pages/live.py).
FIRST_SHOWN = 1


def _plain(value: float) -> float | None:
    """A JSON-safe number: NaN and infinities (a diverged run) travel as null."""
    return float(value) if math.isfinite(value) else None


def card_numbers(losses: pd.DataFrame) -> dict:
    """``{"epoch": last epoch with a loss, "tasks": {task: {"best", "loss", "gap", "rising",
    "diverging", "improving"}}}`` from a run's long-form metrics (any metrics: only the train and
    validation losses are read). ``best`` is the epoch of the lowest validation loss,
    ``loss`` that loss, ``gap`` validation minus training loss there (None when either is
    missing or not finite), ``rising`` the epoch since which the validation loss rises
    (None while it does not), ``diverging`` the epoch since which the training loss rises
    too (None while it does not: ``summary.diverging_since``), ``improving`` whether the
    validation loss is lowest at its last epoch (``summary.still_improving``). A task without a finite
    validation loss, or whose name starts with ``_`` (the run's own rows), has no entry."""
    mine = (losses.metric == "loss").to_numpy() & losses.split.isin(("train", "val")).to_numpy()
    tasks = losses.task.to_numpy(object)[mine]
    splits = losses.split.to_numpy(object)[mine]
    epochs = losses.epoch.to_numpy()[mine]
    values = losses.value.to_numpy(float)[mine]
    last = int(epochs.max()) if len(epochs) else -1
    out: dict[str, dict] = {}
    for task in dict.fromkeys(tasks):
        if task.startswith("_"):
            continue
        val = (tasks == task) & (splits == "val")
        order = np.argsort(epochs[val], kind="stable")
        val_epochs, val_values = epochs[val][order], values[val][order].tolist()
        try:
            best = best_epoch(val_values)
        except ValueError:  # no finite validation loss yet (a run that diverged at once)
            continue
        epoch = int(val_epochs[best])
        train = values[(tasks == task) & (splits == "train") & (epochs == epoch)]
        gap = val_values[best] - float(train[0]) if len(train) else math.nan
        rising = rising_since(val_values)
        trained = (tasks == task) & (splits == "train")
        order = np.argsort(epochs[trained], kind="stable")
        train_epochs = epochs[trained][order]
        diverging = diverging_since(values[trained][order].tolist())
        out[task] = {
            "best": epoch,
            "loss": _plain(val_values[best]),
            "gap": _plain(gap),
            "rising": None if rising is None else int(val_epochs[rising]),
            "diverging": None if diverging is None else int(train_epochs[diverging]),
            "improving": still_improving(val_values),
        }
    return {"epoch": last, "tasks": out}
