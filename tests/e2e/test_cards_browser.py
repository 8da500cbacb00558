"""The cards' words in a real Chromium: overfitting, an unstable training, or a run that
ended still improving.

The cards are drawn by their component's own JavaScript (``widgets/cards.py``) from the
numbers ``card_numbers`` computes, so which warning a card shows is decided in the
browser. A run whose training loss exploded with its validation loss was called
"overfitting (it learns the training images by heart)"; it now says the training is
unstable. The component runs here in a blank page, fed the numbers of two made-up runs.
"""

from __future__ import annotations

import pytest

from mtl_core.analysis.cards import card_numbers
from mtl_core.dashboard.widgets.cards import _JS, TEXT
from mtl_core.store.schema import metric_frame

pytestmark = pytest.mark.browser

VAL = [2.3, 1.0, 0.6, 0.7, 0.9, 1.1, 1.2, 1.3]  # lowest at epoch 2, then rising


def _numbers(train: list[float], val: list[float] = VAL) -> dict:
    rows = []
    for epoch, (v, t) in enumerate(zip(val, train, strict=True)):
        rows += [(1, epoch, "digit", "val", "loss", v), (1, epoch, "digit", "train", "loss", t)]
    return card_numbers(metric_frame(rows))


def _warning(browser, numbers: dict, live: bool = False, kind: str = "warning") -> str:
    """The text of the card's note of ``kind`` (warning, info), "" when it has none."""
    page = browser.new_page()
    try:
        page.set_content("<div id='root'></div>")
        page.add_script_tag(
            content=_JS.replace("export default function", "window.drawCards = function"),
            type="module",
        )
        page.wait_for_function("() => typeof window.drawCards === 'function'")
        data = {
            "run": 1,
            "numbers": numbers,
            "cards": [{"task": "digit", "metric": "accuracy", "test": 0.9}],
            "params": 1000,
            "live": live,
            "first_shown": 1,
            "text": TEXT,
        }
        page.evaluate(
            "(data) => window.drawCards({data, parentElement: document.getElementById('root')})",
            data,
        )
        notes = page.locator(f".mtl-card-{kind}")
        return notes.inner_text() if notes.count() else ""
    finally:
        page.close()


def test_a_rising_validation_loss_over_a_falling_training_loss_is_called_overfitting(browser):
    said = _warning(browser, _numbers([2.3, 0.9, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01]))
    assert said.startswith("Validation loss rising since epoch 2") and "overfitting" in said


def test_a_validation_loss_rising_with_the_training_loss_is_called_unstable(browser):
    said = _warning(browser, _numbers([2.3, 1.0, 0.8, 1.5, 3.0, 9.0, 40.0, 1e3]))
    assert said.startswith("Training loss rising too since epoch 2"), said
    assert "unstable" in said and "learning rate" in said
    assert "by heart" not in said


def test_an_ended_run_still_improving_at_its_last_epoch_says_its_scores_are_unfinished(browser):
    falling = [2.3, 1.5, 1.1, 0.9, 0.8, 0.75, 0.72, 0.70]  # lowest at the last epoch
    numbers = _numbers([2.2, 1.2, 0.8, 0.5, 0.4, 0.3, 0.2, 0.1], falling)
    said = _warning(browser, numbers, kind="info")
    assert said.startswith("Still improving at its last epoch (7)"), said
    assert "had not finished learning" in said
    assert _warning(browser, numbers, live=True, kind="info") == ""  # training: not yet
    turned = _numbers([2.3, 0.9, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01])  # lowest at epoch 2
    assert _warning(browser, turned, kind="info") == ""
