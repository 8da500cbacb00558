"""torchjd aggregators change the shared update as documented, on two tasks whose
gradients are known exactly (linear losses of a shared vector); every declared aggregator
builds, trains a run, and has its solver installed and pinned."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_core.methods import catalog
from mtl_core.methods.aggregation import AGGREGATORS, aggregated_backward, build_aggregator
from mtl_core.training.trainer import train

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"

CONFLICTING = ([1.0, 0.0], [-2.0, 0.5])  # cosine < 0; their mean opposes the first
ALIGNED = ([1.0, 0.2], [0.5, 1.0])  # cosine > 0


def update_and_weights(
    name: str, g1: list[float], g2: list[float], **params: float
) -> tuple[np.ndarray, np.ndarray | None]:
    """The shared parameter's .grad after aggregating L_i = g_i · θ (so ∇L_i = g_i), and
    the weights the aggregator gave the rows (None if it gives none)."""
    theta = torch.zeros(2, requires_grad=True)
    features = theta * 1.0  # the "trunk" output is θ itself
    losses = [features @ torch.tensor(g1), features @ torch.tensor(g2)]
    aggregator = build_aggregator(name, 2, **params)
    weights = aggregated_backward(losses, [features], [[], []], [theta], aggregator)
    step = theta.grad.numpy().astype(np.float64)
    return step, None if weights is None else weights.numpy().astype(np.float64)


def update(name: str, g1: list[float], g2: list[float], **params: float) -> np.ndarray:
    return update_and_weights(name, g1, g2, **params)[0]


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


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def equal_cosines(step: np.ndarray, g1: np.ndarray, g2: np.ndarray) -> bool:
    return unit(step) @ unit(g1) == pytest.approx(unit(step) @ unit(g2), abs=1e-5)


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_nash_mtl_gives_the_bargaining_solution(pair):
    """Nash-MTL (Navon et al. 2022, Eq. 3): without clipping, the weights α solve
    α_i · (g_i · d) = 1 for the update d = Σ α_i g_i (the Nash bargaining solution)."""
    g = np.array(pair)
    step, alpha = update_and_weights("nashmtl", *pair, max_norm=0.0)
    assert step == pytest.approx(g.T @ alpha, abs=1e-5)
    assert alpha * (g @ step) == pytest.approx([1.0, 1.0], abs=1e-4)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_fairgrad_weights_solve_the_alpha_fair_condition(pair, alpha):
    """FairGrad (Ban & Ji 2024, Eq. 4): G w = w^(−1/α), i.e. g_i · d = w_i^(−1/α); α = 0
    is the mean gradient."""
    g = np.array(pair)
    step, w = update_and_weights("fairgrad", *pair, alpha=alpha)
    assert g @ step == pytest.approx(w ** (-1 / alpha), rel=1e-4)
    assert update("fairgrad", *pair, alpha=0.0) == pytest.approx(g.mean(axis=0), abs=1e-6)


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_imtl_g_and_config_make_equal_angles_with_every_task_gradient(pair):
    """IMTL-G (Liu et al. 2021): the update's projections on the unit task gradients are
    equal, and its weights sum to 1. ConFIG (Liu et al. 2024): the direction makes equal
    angles with the task gradients, its length the sum of their projections on it."""
    g1, g2 = map(np.array, pair)
    step, w = update_and_weights("imtlg", *pair)
    assert equal_cosines(step, g1, g2) and w.sum() == pytest.approx(1.0)
    step = update("config", *pair)
    assert equal_cosines(step, g1, g2) and unit(step) @ g1 > 0
    assert np.linalg.norm(step) == pytest.approx(unit(step) @ (g1 + g2), rel=1e-5)


def aligned_mtl_by_hand(g: np.ndarray) -> np.ndarray:
    """Aligned-MTL (Senushkin et al. 2023, Algorithm 1): from G = J Jᵀ = V Λ Vᵀ, the
    balance B = √λ_min V Λ^(−½) Vᵀ; the update is Jᵀ B w with equal preferences w = 1/m."""
    lam, v = np.linalg.eigh(g @ g.T)
    balance = np.sqrt(lam.min()) * v @ np.diag(lam**-0.5) @ v.T
    return g.T @ balance @ np.full(len(g), 1 / len(g))


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_aligned_mtl_follows_its_balance_transformation(pair):
    assert update("alignedmtl", *pair) == pytest.approx(
        aligned_mtl_by_hand(np.array(pair)), abs=1e-5
    )


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_gradvac_first_step_projects_conflicting_gradients_like_pcgrad(pair):
    """GradVac (Wang et al. 2021): its target similarity starts at 0, so at the first step
    a gradient whose cosine is below 0 is moved to be orthogonal to the other: PCGrad's
    projection; aligned gradients are summed unchanged."""
    g1, g2 = map(np.array, pair)
    assert update("gradvac", *pair, beta=0.5) == pytest.approx(pcgrad_by_hand(g1, g2), abs=1e-5)


@pytest.mark.parametrize("pair", [CONFLICTING, ALIGNED])
def test_dualproj_is_the_mean_projected_so_that_no_task_is_opposed(pair):
    """DualProj: the mean gradient projected onto the dual cone of the task gradients (a
    non-negative inner product with each, up to the QP solver's tolerance); it is the mean
    when no task conflicts with it."""
    g1, g2 = map(np.array, pair)
    step = update("dualproj", *pair)
    assert step @ g1 >= -1e-3 and step @ g2 >= -1e-3
    if g1 @ g2 > 0:
        assert step == pytest.approx((g1 + g2) / 2, abs=1e-5)
    else:
        assert (g1 + g2) / 2 @ g1 < -0.1  # the mean opposes g1 clearly; DualProj does not


def test_graddrop_keeps_one_sign_per_coordinate():
    """GradDrop (Chen et al. 2020): in each coordinate either the positive or the negative
    parts of the task gradients pass, drawn by sign purity; agreeing signs all pass."""
    g1, g2 = map(np.array, ALIGNED)  # every coordinate positive in both
    assert update("graddrop", *ALIGNED) == pytest.approx(g1 + g2, abs=1e-6)
    g = np.array(CONFLICTING)
    positive, negative = np.clip(g, 0, None).sum(0), np.clip(g, None, 0).sum(0)
    seen = set()
    for seed in range(20):
        torch.manual_seed(seed)
        step = update("graddrop", *CONFLICTING)
        kept = tuple(
            "+" if s == pytest.approx(p) else "-" if s == pytest.approx(n) else "?"
            for s, p, n in zip(step, positive, negative, strict=True)
        )
        assert "?" not in kept, step
        seen.add(kept[0])
    assert seen == {"+", "-"}  # the conflicting coordinate goes either way


@pytest.mark.parametrize("name", ["excessmtl", "rgw"])
def test_excess_mtl_and_random_weights_are_a_convex_combination(name):
    """ExcessMTL (He et al. 2024) and random gradient weighting (Lin et al. 2021) weigh the
    rows with a point of the simplex."""
    g = np.array(CONFLICTING)
    step, w = update_and_weights(name, *CONFLICTING)
    assert (w > 0).all() and w.sum() == pytest.approx(1.0, abs=1e-5)
    assert step == pytest.approx(g.T @ w, abs=1e-5)


@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_the_declaration_says_whether_the_aggregator_gives_weights(name):
    """catalog.py's ``reports_weights`` (what the Insights panel relies on) matches what
    the aggregator returns."""
    _, weights = update_and_weights(name, *CONFLICTING)
    assert (weights is not None) == catalog.AGGREGATORS[name].reports_weights


def pinned() -> set[str]:
    lines = REQUIREMENTS.read_text().splitlines()
    return {m.group(1).lower() for m in (re.match(r"([\w.-]+)==", ln) for ln in lines) if m}


def solvers(obj: object, seen: set[int] | None = None) -> set[str]:
    """The optional packages torchjd checks for at instantiation (``_REQUIRED_DEPS``) in an
    aggregator and the torchjd objects it holds (weightings, projectors)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return set()
    seen.add(id(obj))
    found = set(getattr(type(obj), "_REQUIRED_DEPS", ()))
    for value in getattr(obj, "__dict__", {}).values():
        for item in value.values() if isinstance(value, dict) else [value]:
            if type(item).__module__.startswith("torchjd"):
                found |= solvers(item, seen)
    return found


@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_every_aggregator_builds_and_its_solvers_are_pinned(name):
    """Building fails when a solver is missing (torchjd raises ImportError: this test fails
    then, the method is not hidden); every solver it needs is pinned in requirements.txt."""
    aggregator = build_aggregator(name, 3)
    assert set(solvers(aggregator)) <= pinned(), name
    if name == "nashmtl":
        assert "ecos" in solvers(aggregator)


# SGD: Adam would hide an aggregator that only rescales the sum (DualProj's mean, when the
# gradients do not conflict), since its steps do not depend on the gradient's scale.
PLAIN_SGD = {"aux": ["parity"], "epochs": 2, "optimizer": "sgd", "lr": 0.05}


@pytest.fixture(scope="module")
def baseline_val_loss():
    from tests.conftest import tiny_config

    return train(tiny_config(**PLAIN_SGD)).curve("digit", "val", "loss")


@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_each_aggregator_trains_a_run_and_records_its_weights(make_config, baseline_val_loss, name):
    """A two-epoch hard-sharing run with each aggregator completes and differs from the
    plain sum; its weight rows are the mean weights the aggregator gave each task (MGDA's
    sum to 1: a convex combination); an aggregator without weights leaves the fixed ones."""
    result = train(make_config(**PLAIN_SGD, aggregator=name))
    assert result.status == "completed", result.message
    weights = [result.curve(t, "train", "weight") for t in ("digit", "parity")]
    assert all(len(w) == 3 for w in weights)
    if name == "mgda":
        assert weights[0][1] + weights[1][1] == pytest.approx(1.0, abs=1e-4)
    if not catalog.AGGREGATORS[name].reports_weights:
        assert weights[0] == [1.0] * 3
    assert result.curve("digit", "val", "loss") != baseline_val_loss


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


def test_the_insights_weights_panel_says_when_an_aggregator_gives_no_weights(monkeypatch):
    """For GradDrop and ConFIG the panel shows a note instead of a chart (the stored weight
    rows there are only the fixed weights); an aggregator with weights gets its chart."""
    import pandas as pd

    from mtl_core.dashboard.pages import insights

    shown = []
    monkeypatch.setattr(insights.st, "info", lambda text: shown.append(("note", text)))
    monkeypatch.setattr(insights.st, "caption", lambda text: None)
    monkeypatch.setattr(insights, "chart", lambda figure, key: shown.append(("chart", key)))
    rows = [(e, t, "train", "weight", 1.0) for e in range(3) for t in ("digit", "parity")]
    frame = pd.DataFrame(rows, columns=["epoch", "task", "split", "metric", "value"])
    for name, method in catalog.AGGREGATORS.items():
        config = {"tasks": ["digit"], "aux": ["parity"], "aggregator": name}
        shown.clear()
        insights.weights_panel({"id": 1, "config": config}, frame, False)
        assert [kind for kind, _ in shown] == ["chart" if method.reports_weights else "note"]
        if not method.reports_weights:
            assert f"{name} aggregation gives none" in shown[0][1]


def test_a_missing_solver_fails_the_run_in_one_line_naming_it_and_the_fix(make_config, monkeypatch):
    """Without ecos, Nash-MTL is not hidden: the run fails with a one-line message that
    names the missing package and how to install it (no traceback reaches the user)."""
    import importlib.util

    import torchjd._mixins

    from mtl_core.errors import MtlError

    found = importlib.util.find_spec
    monkeypatch.setattr(
        torchjd._mixins, "find_spec", lambda n, *a: None if n == "ecos" else found(n, *a)
    )
    with pytest.raises(MtlError, match=r"nashmtl needs a solver.*ecos.*requirements\.txt"):
        build_aggregator("nashmtl", 2)
    result = train(make_config(aux=["parity"], aggregator="nashmtl", epochs=1))
    assert result.status == "failed" and "ecos" in result.message
    assert "\n" not in result.message and "internal error" not in result.message
