"""Loss weightings follow their formulas: equal, DWA (Liu et al. 2019), GradNorm (Chen et al. 2018)."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from torch import nn

from mtl_core.methods import catalog
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.methods.weightings.dwa import DynamicWeightAverage
from mtl_core.methods.weightings.equal import EqualWeighting
from mtl_core.methods.weightings.gradnorm import GradNorm
from mtl_core.training.trainer import train

TASKS = ("digit", "parity", "loops")
FIXED = {"digit": 1.0, "parity": 3.0, "loops": 0.5}


def test_a_weightings_hyperparameters_take_their_default_from_the_declaration_alone():
    """Each declared hyperparameter is a keyword-only argument of its class without a
    default of its own: a second default could drift from the declared one, which the
    config, the sidebar and the CLI use."""
    checked = 0
    for name, declared in catalog.WEIGHTINGS.items():
        parameters = inspect.signature(WEIGHTINGS[name].__init__).parameters
        for param in declared.params:
            argument = parameters[param.arg]
            assert argument.kind is inspect.Parameter.KEYWORD_ONLY, (name, param.arg)
            assert argument.default is inspect.Parameter.empty, (name, param.arg)
            checked += 1
    assert checked >= 4  # DWA's temperature, GradNorm's alpha, FAMO's two


def test_an_aggregators_hyperparameters_take_their_default_from_the_declaration_alone():
    """The same for the gradient aggregators' builders: a keyword without a default, which
    ``build_aggregator`` fills from the declaration when it is not given."""
    from mtl_core.methods.aggregation import AGGREGATORS

    checked = 0
    for name, declared in catalog.AGGREGATORS.items():
        if name == "none":
            continue
        parameters = inspect.signature(AGGREGATORS[name]).parameters
        for param in declared.params:
            argument = parameters[param.arg]
            assert argument.kind is inspect.Parameter.KEYWORD_ONLY, (name, param.arg)
            assert argument.default is inspect.Parameter.empty, (name, param.arg)
            checked += 1
    assert checked >= 5  # CAGrad, Nash-MTL, GradVac, FairGrad, ExcessMTL


def test_equal_weighting_ignores_the_auxiliary_weights():
    """Equal: every loss counts once, whatever the fixed auxiliary weights say."""
    weighting = EqualWeighting(TASKS, FIXED)
    losses = {t: torch.tensor(float(i + 1)) for i, t in enumerate(TASKS)}
    assert float(weighting.combine(losses)) == 6.0
    assert weighting.current() == dict.fromkeys(TASKS, 1.0)
    assert float(WEIGHTINGS["fixed"](TASKS, FIXED).combine(losses)) == 1 + 6 + 1.5


def dwa_by_hand(before: list[float], last: list[float], temperature: float) -> list[float]:
    ratios = [a / b for a, b in zip(last, before, strict=True)]
    exps = [math.exp(r / temperature) for r in ratios]
    return [len(exps) * e / sum(exps) for e in exps]


def test_dwa_weights_follow_the_formula_and_sum_to_the_task_count():
    """w_k = K exp(r_k/T) / Σ exp(r_i/T), r_k = L_k(t−1)/L_k(t−2); 1 until two epochs exist."""
    dwa = DynamicWeightAverage(TASKS, FIXED, temperature=2.0)
    history = [[2.0, 1.0, 0.5], [1.0, 0.9, 0.5], [0.5, 0.9, 0.1]]
    dwa.epoch_end(dict(zip(TASKS, history[0], strict=True)))
    assert dwa.current() == dict.fromkeys(TASKS, 1.0)  # one epoch: no ratio yet
    for before, last in zip(history, history[1:], strict=False):
        dwa.epoch_end(dict(zip(TASKS, last, strict=True)))
        expected = dwa_by_hand(before, last, 2.0)
        assert list(dwa.current().values()) == pytest.approx(expected, rel=1e-12)
        assert sum(dwa.current().values()) == pytest.approx(3.0)
    # the task whose loss fell least (parity: 0.9 → 0.9) gets the most weight
    assert max(dwa.current(), key=dwa.current().get) == "parity"
    losses = {t: torch.tensor(1.0) for t in TASKS}
    assert float(dwa.combine(losses)) == pytest.approx(3.0)


def test_dwa_in_a_run_weights_each_epoch_from_the_two_before(make_config):
    """A run's weight rows follow DWA from its own batch-loss rows (epochs 1, 2: weight 1)."""
    result = train(make_config(aux=["parity"], weighting="dwa", dwa_temperature=0.5, epochs=5))
    tasks = ("digit", "parity")
    loss = {t: result.curve(t, "train", "batch_loss") for t in tasks}  # epochs 1..5
    weight = {t: result.curve(t, "train", "weight") for t in tasks}  # epochs 0..5
    for t in tasks:
        assert weight[t][:3] == [1.0, 1.0, 1.0]
    for epoch in (3, 4, 5):
        before = [loss[t][epoch - 3] for t in tasks]
        last = [loss[t][epoch - 2] for t in tasks]
        expected = dwa_by_hand(before, last, 0.5)
        assert [weight[t][epoch] for t in tasks] == pytest.approx(expected, rel=1e-6)


class TwoHeads(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.shared = nn.Linear(4, 3)
        self.heads = nn.ModuleList([nn.Linear(3, 1), nn.Linear(3, 1)])
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def losses(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = torch.relu(self.shared(x))
        return {"a": self.heads[0](h).pow(2).mean(), "b": 3 * self.heads[1](h).pow(2).mean()}


def test_gradnorm_weight_gradient_and_renormalisation_follow_the_paper():
    """∂L_grad/∂w_i = sign(G_i − Ḡ r_i^α) ‖∇_W L_i‖; the model sees w as constants;
    weights renormalise to sum to the task count after a step."""
    torch.manual_seed(0)
    net = TwoHeads()
    x = torch.randn(8, 4)
    gn = GradNorm(("a", "b"), {"a": 1.0, "b": 1.0}, alpha=1.5, shared=net.shared.weight)
    with torch.no_grad():
        gn.w.copy_(torch.tensor([0.5, 1.5]))
    first = net.losses(x)
    gn.combine(first)  # records L(0)
    assert torch.equal(gn.initial, torch.stack([first["a"], first["b"]]).detach())

    # Later losses: scale them to make the inverse training rates differ.
    losses = {"a": first["a"] * 0.5, "b": first["b"] * 0.9}
    norms = [
        torch.autograd.grad(losses[t], net.shared.weight, retain_graph=True)[0].norm()
        for t in ("a", "b")
    ]
    g = [0.5 * norms[0], 1.5 * norms[1]]
    gbar = (g[0] + g[1]) / 2
    ratio = torch.tensor([0.5, 0.9])
    r = ratio / ratio.mean()
    target = [gbar * r[0] ** 1.5, gbar * r[1] ** 1.5]
    expected_loss = abs(g[0] - target[0]) + abs(g[1] - target[1])

    extra = gn.extra_loss(losses)
    assert extra.item() == pytest.approx(expected_loss.item(), rel=1e-5)
    (grad_w,) = torch.autograd.grad(extra, gn.w, retain_graph=True)
    expected_grad = [torch.sign(g[i] - target[i]) * norms[i] for i in range(2)]
    assert grad_w.tolist() == pytest.approx([float(v) for v in expected_grad], rel=1e-5)

    objective = gn.combine(losses)
    expected_objective = 0.5 * losses["a"] + 1.5 * losses["b"]
    assert objective.item() == pytest.approx(expected_objective.item())
    # the model's objective does not train the weights
    assert torch.autograd.grad(objective, gn.w, allow_unused=True)[0] is None

    with torch.no_grad():
        gn.w.copy_(torch.tensor([0.3, 0.9]))
    gn.after_step()
    assert gn.w.tolist() == pytest.approx([0.5, 1.5])


def test_gradnorm_in_a_run_moves_the_weights_and_keeps_their_sum(make_config):
    """In training the learned weights leave 1 and always sum to the number of tasks."""
    result = train(make_config(aux=["parity", "loops"], weighting="gradnorm", epochs=4, lr=0.01))
    weights = [result.curve(t, "train", "weight") for t in ("digit", "parity", "loops")]
    for epoch in range(5):
        assert sum(w[epoch] for w in weights) == pytest.approx(3.0, rel=1e-5)
    assert any(abs(w[-1] - 1.0) > 0.01 for w in weights)


def test_every_declared_weighting_is_implemented_and_nothing_else():
    """The declarations (methods/catalog.py) and the implementations name the same methods."""
    from mtl_core.methods import catalog

    assert list(catalog.WEIGHTINGS) == list(WEIGHTINGS)


def test_rlw_draws_softmax_normal_weights_from_the_run_seed():
    """RLW (Lin et al. 2021): each step λ = softmax(z), z ~ N(0, I), from the seed's stream."""
    from mtl_core.methods.weightings.rlw import RandomLossWeighting
    from mtl_core.seeds import torch_generator

    losses = {t: torch.tensor(float(i + 1)) for i, t in enumerate(TASKS)}
    rlw = RandomLossWeighting(TASKS, FIXED, seed=7)
    drawn = [float(rlw.combine(losses)) for _ in range(4)]
    gen = torch_generator(7, "rlw")
    by_hand = []
    for _ in range(4):
        w = torch.softmax(torch.randn(3, generator=gen), 0)
        by_hand.append(float(sum(w[i] * (i + 1) for i in range(3))))
    assert drawn == pytest.approx(by_hand, rel=1e-6)
    assert len(set(drawn)) == 4  # a new draw every step
    assert sum(rlw.current().values()) == pytest.approx(1.0)  # the epoch's mean λ
    other = RandomLossWeighting(TASKS, FIXED, seed=8)
    assert float(other.combine(losses)) != drawn[0]


def test_scale_invariant_weighting_ignores_a_task_loss_scale():
    """Σ log L_t: scaling one task's loss by a constant leaves the gradient unchanged."""
    from mtl_core.methods.weightings.si import ScaleInvariantWeighting

    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)

    def grad(scale: float) -> torch.Tensor:
        losses = {
            "digit": (x**2).sum() * scale,
            "parity": (x - 1).abs().sum(),
            "loops": x.exp().sum(),
        }
        (g,) = torch.autograd.grad(ScaleInvariantWeighting(TASKS, FIXED).combine(losses), x)
        return g

    assert torch.allclose(grad(1.0), grad(1000.0))
    si = ScaleInvariantWeighting(TASKS, FIXED)
    si.combine(
        {"digit": torch.tensor(2.0), "parity": torch.tensor(4.0), "loops": torch.tensor(0.0)}
    )
    weights = si.current()
    assert weights["digit"] == pytest.approx(0.5) and weights["parity"] == pytest.approx(0.25)
    assert weights["loops"] == pytest.approx(1e8)  # a zero loss is clamped, not infinite


def test_a_method_that_asks_sees_each_steps_batch_losses_before_and_after(make_config, monkeypatch):
    """The extension point for FAMO-like methods: the same batch, evaluated after the step."""
    from mtl_core.methods.weightings.fixed import FixedWeighting

    seen = []

    class Probe(FixedWeighting):
        wants_losses_after_step = True

        def losses_after_step(self, before, after):
            assert set(before) == set(after) == set(self.tasks)
            assert not any(v.requires_grad for v in [*before.values(), *after.values()])
            seen.append((float(sum(before.values())), float(sum(after.values()))))

    monkeypatch.setitem(WEIGHTINGS, "fixed", Probe)
    config = make_config(aux=["parity"], epochs=2)
    events = []
    result = train(config, callback=events.append)
    assert result.status == "completed"
    assert len(seen) == events[-1].steps > 0  # once per optimiser step
    improved = sum(after < before for before, after in seen)
    assert improved > len(seen) / 2  # a step mostly lowers the loss of the batch it took


def famo_by_hand(steps, lr, decay, tasks=3):
    """FAMO's logits after the given (before, after) loss pairs, by the authors' update
    (Liu et al. 2023, Algorithm 1 and their code): δ = log L(before) − log L(after), the
    gradient of ξ is (∂z/∂ξ)ᵀ δ with z = softmax(ξ), i.e. z ⊙ (δ − z·δ), and ξ takes an
    Adam step (β = 0.9, 0.999, ε = 1e-8) with weight decay γ added to that gradient."""
    xi, m, v = [0.0] * tasks, [0.0] * tasks, [0.0] * tasks
    for t, (before, after) in enumerate(steps, start=1):
        exps = [math.exp(x) for x in xi]
        z = [e / sum(exps) for e in exps]
        delta = [
            math.log(b + 1e-8) - math.log(a + 1e-8) for b, a in zip(before, after, strict=True)
        ]
        mean = sum(zi * di for zi, di in zip(z, delta, strict=True))
        for i in range(tasks):
            g = z[i] * (delta[i] - mean) + decay * xi[i]
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            m_hat, v_hat = m[i] / (1 - 0.9**t), v[i] / (1 - 0.999**t)
            xi[i] -= lr * m_hat / (math.sqrt(v_hat) + 1e-8)
    return xi


def test_famo_updates_its_logits_as_the_authors_do():
    """Two updates of ξ (the second with ξ ≠ 0, so the decay counts) against a hand
    computation; the weights are softmax(ξ), and the objective Σ z log L / c with
    c = Σ z / L weighs each loss by z_t / (c L_t)."""
    from mtl_core.methods.weightings.famo import FAMO

    given = [2.0, 1.0, 0.5]
    famo = FAMO(TASKS, FIXED, lr=0.1, decay=0.5)
    assert famo.current() == pytest.approx(dict.fromkeys(TASKS, 1 / 3))
    steps = [((2.0, 1.0, 0.5), (1.5, 0.9, 0.5)), ((1.5, 0.9, 0.5), (1.4, 0.5, 0.45))]
    for before, after in steps:
        famo.losses_after_step(
            {t: torch.tensor(v) for t, v in zip(TASKS, before, strict=True)},
            {t: torch.tensor(v) for t, v in zip(TASKS, after, strict=True)},
        )
    xi = famo_by_hand(steps, lr=0.1, decay=0.5)
    assert famo.logits.tolist() == pytest.approx(xi, abs=1e-6)
    exps = [math.exp(x) for x in xi]
    z = [e / sum(exps) for e in exps]
    assert list(famo.current().values()) == pytest.approx(z, abs=1e-6)
    losses = torch.tensor(given, requires_grad=True)
    objective = famo.combine(dict(zip(TASKS, losses, strict=True)))
    (grad,) = torch.autograd.grad(objective, losses)
    c = sum(zi / (li + 1e-8) for zi, li in zip(z, given, strict=True))
    assert grad.tolist() == pytest.approx([zi / (c * li) for zi, li in zip(z, given, strict=True)])
    assert float(objective.detach()) == pytest.approx(
        sum(zi * math.log(li) for zi, li in zip(z, given, strict=True)) / c
    )


def test_famo_moves_weight_to_the_task_whose_loss_falls_slowest():
    """A task whose log-loss falls less per step gains weight; learning rate 0 keeps the
    weights equal."""
    from mtl_core.methods.weightings.famo import FAMO

    def after_steps(lr):
        famo = FAMO(TASKS, FIXED, lr=lr, decay=0.01)
        losses = {"digit": 1.0, "parity": 1.0, "loops": 1.0}
        fall = {"digit": 0.5, "parity": 0.9, "loops": 0.99}  # loops barely improves
        for _ in range(20):
            new = {t: losses[t] * fall[t] for t in TASKS}
            famo.losses_after_step(
                {t: torch.tensor(v) for t, v in losses.items()},
                {t: torch.tensor(v) for t, v in new.items()},
            )
            losses = new
        return famo.current()

    weights = after_steps(0.025)
    assert weights["loops"] > weights["parity"] > weights["digit"]
    assert sum(weights.values()) == pytest.approx(1.0)
    assert after_steps(0.0) == pytest.approx(dict.fromkeys(TASKS, 1 / 3))


def test_famo_trains_a_run_and_its_weights_leave_equal(make_config):
    """Through the trainer's losses_after_step hook: the run completes, the stored weights
    start equal (1 / number of tasks), stay a point of the simplex and move."""
    result = train(make_config(aux=["parity", "loops"], weighting="famo", epochs=2))
    assert result.status == "completed", result.message
    curves = [result.curve(t, "train", "weight") for t in ("digit", "parity", "loops")]
    assert [c[0] for c in curves] == pytest.approx([1 / 3] * 3)
    for epoch in (1, 2):
        assert sum(c[epoch] for c in curves) == pytest.approx(1.0, abs=1e-6)
    assert curves[0][2] != pytest.approx(1 / 3, abs=1e-4)
