"""The cards' numbers (``mtl_core/analysis/cards.py``), from the page and from the feed.

The Live view's cards move on with each of the chart's feed answers, which carry numbers
the server computed; the page draws them from its own read of the same run. Both compute
them with ``card_numbers``, checked here against the rules of ``analysis/summary.py``,
and the feed's answer is checked to carry them exactly when it brings new epochs. The
browser side (the cards take the feed's numbers, and say nothing before a live run's
first trained epoch) is tests/e2e/test_browser.py's.
"""

from __future__ import annotations

import json
import math

import pytest

from mtl_core.analysis.cards import card_numbers
from mtl_core.analysis.summary import RISING_PATIENCE
from mtl_core.dashboard import feed
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import metric_frame

VAL = [2.3, 1.0, 0.6, 0.7, 0.9, 1.1, 1.2, 1.3]  # best at epoch 2, then rising
TRAIN = [2.3, 0.9, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01]


def _rows(val=VAL, train=TRAIN, task="digit") -> list[tuple]:
    rows = []
    for epoch, (v, t) in enumerate(zip(val, train, strict=True)):
        rows += [
            (1, epoch, task, "train", "loss", t),
            (1, epoch, task, "val", "loss", v),
            (1, epoch, task, "val", "accuracy", 0.1 * epoch),
            (1, epoch, "_run", "train", "wall_time", 0.01),
        ]
    return rows


def test_the_numbers_follow_the_rules_of_the_curves_summary():
    got = card_numbers(metric_frame(_rows()))
    assert got["epoch"] == len(VAL) - 1
    assert set(got["tasks"]) == {"digit"}  # the run's own rows ("_run") have no card
    digit = got["tasks"]["digit"]
    assert digit["best"] == 2 and digit["loss"] == 0.6
    assert digit["gap"] == pytest.approx(0.6 - 0.4)
    assert len(VAL) - 1 - 2 >= RISING_PATIENCE and digit["rising"] == 2
    assert digit["diverging"] is None  # the training loss kept falling: overfitting


def test_a_validation_loss_rising_with_the_training_loss_is_marked_diverging():
    """Overfitting is a validation loss that rises while the training loss does not; when
    the training loss rises too (a learning rate too high), the cards say the training is
    unstable instead, from the training loss's own best epoch."""
    train = [2.3, 1.0, 0.8, 1.5, 3.0, 9.0, 40.0, 1e3]  # lowest at epoch 2, then up and up
    digit = card_numbers(metric_frame(_rows(train=train)))["tasks"]["digit"]
    assert digit["rising"] == 2 and digit["diverging"] == 2
    wobbly = [2.3, 1.0, 0.4, 0.41, 0.3, 0.2, 0.1, 0.05]  # one small step up is not diverging
    assert card_numbers(metric_frame(_rows(train=wobbly)))["tasks"]["digit"]["diverging"] is None


def test_the_numbers_do_not_depend_on_the_rows_order_and_ignore_other_metrics():
    rows = _rows()
    shuffled = rows[::-1] + [(1, 9, "digit", "test", "loss", 0.0)]  # a test row: not a curve
    assert card_numbers(metric_frame(shuffled)) == card_numbers(metric_frame(rows))


def test_a_curve_not_yet_rising_has_no_rising_epoch_and_each_task_its_own_numbers():
    rows = _rows(val=[2.0, 1.0, 0.5, 0.4], train=[2.0, 0.9, 0.4, 0.3])
    rows += _rows(val=[1.0, 0.8, 0.9, 0.95], train=[1.0, 0.7, 0.6, 0.5], task="parity")
    got = card_numbers(metric_frame(rows))["tasks"]
    assert got["digit"] == {
        "best": 3,
        "loss": 0.4,
        "gap": pytest.approx(0.1),
        "rising": None,
        "diverging": None,
        "improving": True,  # lowest at its last epoch
    }
    assert got["parity"]["best"] == 1 and got["parity"]["rising"] is None
    assert got["parity"]["improving"] is False


def test_a_diverged_run_travels_as_valid_json():
    """NaN losses are left out of the best; a gap that is not finite travels as null, a
    training loss that ends in NaN marks the training unstable from its best epoch, and a
    task with no finite validation loss has no card (JSON has no NaN: the feed's answer is
    parsed by the browser)."""
    nan = math.nan
    rows = _rows(val=[2.0, 1.0, nan], train=[2.0, nan, nan])
    rows += _rows(val=[nan, nan, nan], train=[1.0, 1.0, 1.0], task="parity")
    got = card_numbers(metric_frame(rows))
    digit = {"best": 1, "loss": 1.0, "gap": None, "rising": None, "diverging": 0}
    digit["improving"] = False  # its last validation loss is not a number
    assert got["tasks"] == {"digit": digit}
    json.loads(json.dumps(got, allow_nan=False))


def test_no_rows_no_numbers():
    assert card_numbers(metric_frame([])) == {"epoch": -1, "tasks": {}}


def test_the_feed_carries_the_cards_of_all_the_runs_epochs_when_it_brings_new_ones(tmp_path):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run = store.create_run({})
        for epoch in range(len(VAL)):
            store.append_epoch(run, epoch, [r[2:] for r in _rows() if r[1] == epoch])
        answer = feed.points(store, run, after=5)
        assert answer["cards"] == card_numbers(store.metrics(run))  # all epochs, not after 5
        assert answer["cards"]["tasks"]["digit"]["best"] == 2
        assert "cards" not in feed.points(store, run, after=len(VAL) - 1)  # nothing new


def test_a_real_run_with_a_learning_rate_far_too_high_is_marked_unstable(tmp_path, make_config):
    """Trained for real: at a learning rate of 10 both losses climb from epoch 0, and the
    cards (and the explainer, which reads the same numbers) call it unstable; at 0.01 the
    training loss falls and nothing is marked."""
    from mtl_core.training.trainer import train

    config = make_config(tasks=["digit"], epochs=8, train_size=60, width=64, lr=10.0)
    config = config.replace(optimizer="sgd")
    with RunStore(tmp_path / "runs.sqlite") as store:
        wild = card_numbers(store.metrics(train(config, store=store).run_id))
        steady = card_numbers(store.metrics(train(config.replace(lr=0.01), store=store).run_id))
    assert wild["tasks"]["digit"]["rising"] is not None
    assert wild["tasks"]["digit"]["diverging"] is not None
    assert steady["tasks"]["digit"]["diverging"] is None
