"""Gradient conflict: the recorded cosines match a direct computation and change nothing."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from mtl_core.analysis.conflict_text import conflict_sentences, pair_metric
from mtl_core.data.splits import load_bundle
from mtl_core.training import trainer
from mtl_core.training.conflict import PROBE_SIZE, pairwise_cosines
from mtl_core.training.trainer import train


def test_pairwise_cosines_match_numpy():
    rng = np.random.default_rng(0)
    grads = {t: rng.normal(size=50) for t in ("a", "b", "c")}
    got = pairwise_cosines({t: torch.tensor(g) for t, g in grads.items()})
    assert list(got) == [("a", "b"), ("a", "c"), ("b", "c")]
    for a, b in itertools.combinations(grads, 2):
        direct = grads[a] @ grads[b] / np.linalg.norm(grads[a]) / np.linalg.norm(grads[b])
        assert got[(a, b)] == pytest.approx(direct, rel=1e-9)
    assert pairwise_cosines({"a": torch.zeros(3), "b": torch.ones(3)}) == {("a", "b"): 0.0}


def test_epoch_zero_cosines_equal_a_direct_computation(make_config):
    """Before any update, the stored cosine equals one computed here from scratch: each
    task's mean loss on its first training images, differentiated w.r.t. the shared trunk."""
    config = make_config(aux=["parity", "loops"], task_sizes={"loops": 60}, epochs=1)
    result = train(config)
    bundle = load_bundle(config.dataset, config.variant, config.data_seed)
    problem = trainer._Problem(config, bundle, torch.device("cpu"))
    model = trainer._build_model(config, bundle, problem).eval()
    shared = list(model.trunks["shared"].parameters())
    grads = {}
    for task in config.all_tasks:
        size = min(problem.pool[task], PROBE_SIZE)
        x = problem.inputs[("train", False)][:size]
        loss = problem.tasks[task].loss(model(x, task), problem.targets[(task, "train")][:size])
        grads[task] = np.concatenate(
            [g.reshape(-1).numpy() for g in torch.autograd.grad(loss, shared)]
        ).astype(np.float64)
    for a, b in itertools.combinations(config.all_tasks, 2):
        direct = grads[a] @ grads[b] / np.linalg.norm(grads[a]) / np.linalg.norm(grads[b])
        assert result.value(0, "_conflict", "train", pair_metric(a, b)) == pytest.approx(
            direct, rel=1e-4, abs=1e-6
        )


def test_recording_conflict_changes_no_curve(make_config, monkeypatch):
    """The probe runs in eval mode and draws no random numbers: the curves are bitwise
    those of a run that does not measure conflict."""
    config = make_config(aux=["parity"], dropout=0.3, epochs=3)
    measured = train(config)
    monkeypatch.setattr(trainer._Loop, "_gradient_cosines", lambda self: {})
    unmeasured = train(config)
    for task in config.all_tasks:
        for split in ("train", "val"):
            assert measured.curve(task, split, "loss") == unmeasured.curve(task, split, "loss")
    assert measured.curve("_conflict", "train", "cos:digit|parity")
    assert not unmeasured.curve("_conflict", "train", "cos:digit|parity")


@pytest.mark.parametrize("sharing", ["single", "soft"])
def test_no_shared_trunk_means_no_conflict_rows(make_config, sharing):
    result = train(make_config(aux=["parity"], sharing=sharing, epochs=1))
    assert not [r for r in result.rows if r[1] == "_conflict"]


def test_conflict_sentences_grade_how_often_and_how_strongly_pairs_conflict():
    epochs = list(range(12))
    lines = conflict_sentences(
        {
            ("digit", "parity"): [-0.5] + [0.2] * 9 + [-0.1, -0.1],  # epoch 0 not counted
            ("digit", "loops"): [0.5] * 12,
            ("parity", "loops"): [0.1] + [-0.3] * 8 + [0.1] * 3,
            ("digit", "bbox"): [0.1] + [0.3, -0.1] * 5 + [0.3],
        },
        epochs,
    )
    assert lines[0] == (  # "often" for 2 of 11 read as a contradiction of its mean
        "digit and parity rarely conflict: negative cosine in 2 of 11 training "
        "epochs (first at epoch 10; mean +0.15)."
    )
    assert lines[1].startswith("digit and loops never conflict")
    assert lines[2].startswith("parity and loops conflict: negative cosine in 8 of 11 training")
    assert "tends to raise the other" in lines[2]
    assert lines[3].startswith("digit and bbox sometimes conflict: negative cosine in 5 of 11")
    half = conflict_sentences({("a", "b"): [0.3] + [0.4, -0.1] * 5}, list(range(11)))
    assert half[0].startswith("a and b often conflict: negative cosine in 5 of 10")
    rare = conflict_sentences({("a", "b"): [0.3] * 20 + [-0.1]}, list(range(21)))
    assert rare == [
        "a and b rarely conflict: negative cosine in 1 of 20 training epochs "
        "(first at epoch 20; mean +0.28)."
    ]
