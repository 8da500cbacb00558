"""The early-stopping claim is about the test set: the early-stopped model (best weights
restored, scored at its best epoch) against the model trained to the end (scored with
the weights of its last epoch, as it would be deployed).

These tests show that the trainer's ``final_test_metric``/``final_test_loss`` are the
scores of the last trained epoch's weights, in both arms (before the early-stopped run's
best weights are restored), that computing them changes nothing else, and that the
preset's claim reads one measure per arm. Tiny runs on the bundled digits.
"""

from __future__ import annotations

import copy

import pytest
import torch

from mtl_core.data.splits import load_bundle
from mtl_core.studies.claims import MEASURES, ArmResult, Claim, claim_difference, measure
from mtl_core.studies.lessons import LESSONS, Lesson, verdicts
from mtl_core.studies.presets import PRESETS, Preset
from mtl_core.training import ending
from mtl_core.training.control import RunControl
from mtl_core.training.problem import evaluate
from mtl_core.training.trainer import _Loop, train
from tests.conftest import tiny_config

# lr 0.5 is far too high for these 100 digits: the validation loss is lowest before any
# update (epoch 0), so the best epoch is not the last one.
JUMPY = {"epochs": 3, "lr": 0.5}
# lr 0.3: the validation loss falls for a few epochs, then rises; patience 1 stops there.
STOPS_EARLY = {"epochs": 8, "lr": 0.3, "early_stop": 1}


class _KeepsEveryEpoch(_Loop):
    """A loop that keeps a copy of the weights of every epoch it commits."""

    def _commit(self, epoch, rows):
        super()._commit(epoch, rows)
        self.every_epoch = getattr(self, "every_epoch", {})
        self.every_epoch[epoch] = copy.deepcopy(self.model.state_dict())


def _loop(config) -> _KeepsEveryEpoch:
    bundle = load_bundle(config.dataset, config.variant, config.data_seed)
    return _KeepsEveryEpoch(config, bundle, torch.device("cpu"), None, None, None, RunControl())


def _test_scores(loop: _Loop, state: dict) -> tuple[float, float]:
    loop.model.load_state_dict(state)
    rows = {m: v for _, _, m, v in evaluate(loop.model, loop.problem, "test", only=["digit"])}
    return rows["loss"], rows["accuracy"]


def test_final_score_equals_the_best_when_the_best_epoch_is_the_last():
    main = train(tiny_config(epochs=2)).summary["main"]["digit"]
    assert main["best_epoch"] == main["final_epoch"] == 2  # the loss still falls
    assert main["final_test_metric"] == main["test_metric"]
    assert main["final_test_loss"] == main["test_loss"]


def test_final_score_differs_when_the_best_epoch_is_earlier():
    main = train(tiny_config(**JUMPY)).summary["main"]["digit"]
    assert main["best_epoch"] < main["final_epoch"] == 3
    assert main["final_test_loss"] != main["test_loss"]
    assert main["final_test_metric"] != main["test_metric"]


def test_without_early_stopping_the_final_score_is_the_last_epochs_weights():
    loop = _loop(tiny_config(**JUMPY))
    main = loop.run().summary["main"]["digit"]
    loss, accuracy = _test_scores(loop, loop.every_epoch[3])
    assert (main["final_test_loss"], main["final_test_metric"]) == (loss, accuracy)
    best_loss, best_accuracy = _test_scores(loop, loop.every_epoch[main["best_epoch"]])
    assert (main["test_loss"], main["test_metric"]) == (best_loss, best_accuracy)


def test_with_early_stopping_the_final_score_is_taken_before_the_best_weights_return():
    loop = _loop(tiny_config(**STOPS_EARLY))
    summary = loop.run().summary
    stopped, main = summary["stopped_early_at"], summary["main"]["digit"]
    assert summary["restored_epoch"] < stopped == main["final_epoch"] < 8
    loss, accuracy = _test_scores(loop, loop.every_epoch[stopped])
    assert (main["final_test_loss"], main["final_test_metric"]) == (loss, accuracy)
    assert main["final_test_loss"] != main["test_loss"]  # the restored weights score otherwise


def _curves(rows: list[tuple]) -> list[tuple]:
    """Every row but the wall times, which differ from run to run."""
    return [r for r in rows if r[3] != "wall_time"]


def test_the_final_scores_change_no_curve_and_no_other_summary_entry(monkeypatch):
    config = tiny_config(**STOPS_EARLY, dropout=0.2)  # dropout draws from the generator
    torch.manual_seed(1)
    with_final = train(config)
    monkeypatch.setattr(ending._Ending, "_final_scores", lambda self: {})
    torch.manual_seed(1)
    without = train(config)
    assert _curves(with_final.rows) == _curves(without.rows)
    finals = ("final_epoch", "final_test_loss", "final_test_metric")
    kept = {k: v for k, v in with_final.summary["main"]["digit"].items() if k not in finals}
    assert kept == without.summary["main"]["digit"]
    assert set(finals) <= set(with_final.summary["main"]["digit"])


def test_computing_the_final_scores_draws_no_random_number():
    loop = _loop(tiny_config(epochs=1, dropout=0.2))
    loop.run()
    before = torch.random.get_rng_state()
    loop._final_scores()
    assert torch.equal(before, torch.random.get_rng_state())


def test_a_stopped_run_records_no_final_score():
    control = RunControl()
    control.stop()
    bundle = load_bundle("digits", "plain", 0)
    loop = _Loop(tiny_config(), bundle, torch.device("cpu"), None, None, None, control)
    result = loop.run()
    assert result.status == "stopped"
    assert "final_test_metric" not in result.summary["main"]["digit"]


# -- the claim -----------------------------------------------------------------------------


def _summary(test: float, final: float) -> dict:
    return {"main": {"digit": {"test_metric": test, "final_test_metric": final}}}


def test_the_final_test_metric_measure_reads_the_final_score():
    assert "ends with" in MEASURES["final_test_metric"][0]
    assert measure(_summary(0.7, 0.6), [1.0, 0.5], "final_test_metric", "digit") == 0.6
    assert measure(_summary(0.7, 0.6), [1.0, 0.5], "test_metric", "digit") == 0.7


def test_a_claim_reads_each_arm_with_its_own_measure():
    claim = Claim(
        "a at its best beats b at its end",
        "a",
        "b",
        "test_metric",
        1,
        measure_b="final_test_metric",
    )
    seeds = [1, 2, 3]
    a = ArmResult(
        [_summary(0.80, 0.10), _summary(0.82, 0.10), _summary(0.81, 0.10)], [[1.0]] * 3, seeds
    )
    b = ArmResult(
        [_summary(0.99, 0.70), _summary(0.99, 0.71), _summary(0.99, 0.72)], [[1.0]] * 3, seeds
    )
    diff = claim_difference(claim, "digit", {"a": a, "b": b})
    assert diff.per_seed == pytest.approx((0.10, 0.11, 0.09))  # a's test − b's final
    same = Claim("a beats b", "a", "b", "test_metric")
    assert claim_difference(same, "digit", {"a": a, "b": b}).mean < 0  # b's test is 0.99


def test_a_claim_refuses_measures_of_different_units():
    with pytest.raises(ValueError, match="unit"):
        Claim("x", "a", "b", "test_metric", measure_b="epochs_run")
    with pytest.raises(ValueError, match="arm b"):
        Claim("x", "a", None, "test_metric", measure_b="final_test_metric")


def test_the_early_stopping_preset_claims_the_test_score_not_the_epochs():
    preset = PRESETS["Early stopping"]
    (claim,) = preset.claims
    assert (claim.a, claim.b) == ("early stopping", "no early stopping")
    assert claim.measure.startswith("test_") and claim.b_measure.startswith("final_test_")
    assert preset.arms["no early stopping"] == {"early_stop": 0}
    assert preset.config.early_stop > 0
    assert LESSONS["early-stopping"].preset is preset
    assert LESSONS["early-stopping"].kind == "compare"


def test_a_run_stored_before_the_final_scores_makes_the_verdict_unclear():
    claim = PRESETS["Early stopping"].claims[0]
    preset = Preset("es", "", tiny_config(), {claim.a: {}, claim.b: {"early_stop": 0}}, (claim,))
    lesson = Lesson("es", "ES", "Q?", "Setup.", preset)
    old = {"main": {"digit": {"test_metric": 0.7, "test_loss": 1.0}}}
    new = {
        "main": {
            "digit": {**old["main"]["digit"], "final_test_metric": 0.6, "final_test_loss": 1.2}
        }
    }
    seeds = [1, 2, 3]
    results = {
        claim.a: ArmResult([new] * 3, [[1.0]] * 3, seeds),
        claim.b: ArmResult([new, old, new], [[1.0]] * 3, seeds),
    }
    (v,) = verdicts(lesson, results)
    assert v.outcome == "unclear" and "seed 2 was stored before" in v.sentence
