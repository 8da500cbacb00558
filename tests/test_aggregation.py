"""torchjd aggregators change the shared update as documented, on two tasks whose
gradients are known exactly (linear losses of a shared vector)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_core.methods.aggregation import aggregated_backward, build_aggregator
from mtl_core.training.trainer import train

CONFLICTING = ([1.0, 0.0], [-2.0, 0.5])  # cosine < 0; their mean opposes the first
ALIGNED = ([1.0, 0.2], [0.5, 1.0])  # cosine > 0


def update(name: str, g1: list[float], g2: list[float], c: float = 0.5) -> np.ndarray:
    """The shared parameter's .grad after aggregating L_i = g_i · θ (so ∇L_i = g_i)."""
    theta = torch.zeros(2, requires_grad=True)
    features = theta * 1.0  # the "trunk" output is θ itself
    losses = [features @ torch.tensor(g1), features @ torch.tensor(g2)]
    aggregated_backward(losses, [features], [[], []], [theta], build_aggregator(name, c))
    return theta.grad.numpy().astype(np.float64)


def pcgrad_by_hand(g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """Yu et al. 2020: project each gradient off the other when they conflict, then sum."""
    p1 = g1 - min(0.0, g1 @ g2) / (g2 @ g2) * g2
    p2 = g2 - min(0.0, g2 @ g1) / (g1 @ g1) * g1
    return p1 + p2


def min_norm_by_hand(g1: np.ndarray, g2: np.ndarray) -> np.ndarray:
    """MGDA with two tasks: the closed-form min-norm point of the segment [g1, g2]."""
    gamma = np.clip((g2 - g1) @ g2 / ((g1 - g2) @ (g1 - g2)), 0.0, 1.0)
    return gamma * g1 + (1 - gamma) * g2


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_pcgrad_projects_conflicting_gradients_and_sums_aligned_ones(pair):
    g1, g2 = map(np.array, pair)
    assert update("pcgrad", *pair) == pytest.approx(pcgrad_by_hand(g1, g2), abs=1e-6)
    if g1 @ g2 > 0:
        assert update("pcgrad", *pair) == pytest.approx(g1 + g2, abs=1e-6)


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_mgda_returns_the_min_norm_convex_combination(pair):
    """MGDA's direction is the shortest vector in the convex hull of the task gradients;
    torchjd returns it up to its solver's tolerance."""
    g1, g2 = map(np.array, pair)
    assert update("mgda", *pair) == pytest.approx(min_norm_by_hand(g1, g2), abs=1e-3)


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_upgrad_never_opposes_a_task_and_averages_when_there_is_no_conflict(pair):
    """UPGrad projects each gradient onto the dual cone of all of them and averages:
    the update has a non-negative inner product with every task gradient."""
    g1, g2 = map(np.array, pair)
    step = update("upgrad", *pair)
    assert step @ g1 >= -1e-6 and step @ g2 >= -1e-6
    if g1 @ g2 > 0:
        assert step == pytest.approx((g1 + g2) / 2, abs=1e-6)
    else:  # the plain mean opposes g1 here; UPGrad does not
        assert (g1 + g2) / 2 @ g1 < 0


def test_cagrad_with_zero_radius_is_the_mean_and_improves_the_worst_task_otherwise():
    """CAGrad (Liu et al. 2021): c = 0 gives the average gradient; c > 0 moves towards the
    task the average helps least."""
    g1, g2 = map(np.array, CONFLICTING)
    assert update("cagrad", *CONFLICTING, c=0.0) == pytest.approx((g1 + g2) / 2, abs=1e-4)
    mean = (g1 + g2) / 2
    step = update("cagrad", *CONFLICTING, c=0.5)
    worst = min(mean @ g1, mean @ g2)
    assert min(step @ g1, step @ g2) > worst


@pytest.mark.parametrize("name", ["mgda", "pcgrad", "upgrad", "cagrad"])
def test_each_aggregator_trains_a_run_and_records_its_weights(make_config, name):
    """A hard-sharing run with an aggregator completes; its weight rows are the mean
    weights the aggregator gave each task (MGDA's sum to 1: a convex combination)."""
    result = train(make_config(aux=["parity"], aggregator=name, epochs=2))
    assert result.status == "completed", result.message
    weights = [result.curve(t, "train", "weight") for t in ("digit", "parity")]
    assert all(len(w) == 3 for w in weights)
    if name == "mgda":
        assert weights[0][1] + weights[1][1] == pytest.approx(1.0, abs=1e-4)
    baseline = train(make_config(aux=["parity"], epochs=2))
    assert result.curve("digit", "val", "loss") != baseline.curve("digit", "val", "loss")


def test_pcgrad_runs_are_reproducible_whatever_the_global_random_state(make_config):
    """torchjd's PCGrad shuffles with torch's global generator; the trainer gives it a
    stream that depends on the seed and the step only."""
    config = make_config(aux=["parity", "loops"], aggregator="pcgrad", epochs=2)
    torch.manual_seed(1)
    first = train(config)
    torch.manual_seed(2)
    torch.rand(100)
    second = train(config)
    assert first.curve("digit", "val", "loss") == second.curve("digit", "val", "loss")
    untimed = [[r for r in result.rows if r[1] != "_run"] for result in (first, second)]
    assert untimed[0] == untimed[1]
