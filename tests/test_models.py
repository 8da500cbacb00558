"""Models and sharing: seeded init and dropout, stable initial weights, and the soft penalties."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from mtl_core.data.splits import load_bundle
from mtl_core.models.sharing import SHARING, l2_penalty, mean_trunk_distance, trace_penalty
from mtl_core.models.trunks import SeededDropout, build_model
from mtl_core.training.control import RunControl
from mtl_core.training.loop import _Loop


def model(
    tasks=("a", "b", "c"),
    sharing="single",
    *,
    shape=(3, 3),
    width=4,
    depth=2,
    backbone="mlp",
    seed=0,
    dropout=0.0,
    out=2,
):
    return build_model(
        backbone=backbone,
        image_shape=shape,
        out_dims={t: out for t in tasks},
        trunk_of=SHARING[sharing].trunk_of(tuple(tasks)),
        width=width,
        depth=depth,
        dropout=dropout,
        seed=seed,
    )


def trunk_params(net) -> dict[str, dict[str, torch.Tensor]]:
    """{trunk key: {parameter name: tensor}}, read from the state dict, not via sharing.py."""
    out: dict[str, dict[str, torch.Tensor]] = {}
    for name, value in net.state_dict().items():
        if name.startswith("trunks."):
            _, key, rest = name.split(".", 2)
            out.setdefault(key, {})[rest] = value
    return out


def loop_model(config):
    loop = _Loop(
        config,
        load_bundle(config.dataset, config.variant),
        torch.device("cpu"),
        None,
        None,
        None,
        RunControl(),
    )
    return loop.model.state_dict()


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
@pytest.mark.parametrize("shape", [(8, 8), (28, 28), (12, 12)])
def test_backbones_give_one_output_per_head(backbone, shape):
    """Both backbones run on 8×8, 12×12 and 28×28 images; each head has its own size."""
    net = build_model(
        backbone=backbone,
        image_shape=shape,
        out_dims={"a": 10, "b": 3},
        trunk_of={"a": "shared", "b": "shared"},
        width=16,
        depth=2,
        dropout=0.0,
        seed=0,
    )
    x = torch.rand(5, 1, *shape)
    assert net(x, "a").shape == (5, 10)
    assert net(x, "b").shape == (5, 3)
    assert net.param_count() == sum(p.numel() for p in net.parameters())


def test_sharing_modes_map_tasks_to_trunks():
    """hard: one shared trunk; single and soft: one trunk per task, so more parameters."""
    hard, single, soft = (model(sharing=s) for s in ("hard", "single", "soft"))
    assert list(hard.trunks) == ["shared"]
    assert list(single.trunks) == list(soft.trunks) == ["a", "b", "c"]
    trunk = sum(p.numel() for p in hard.trunks["shared"].parameters())
    assert single.param_count() - hard.param_count() == 2 * trunk


def test_init_is_seeded_and_within_the_default_bounds():
    """Same seed, same weights; another seed, other weights; all within ±1/√fan_in."""
    a, b, c = model(seed=1), model(seed=1), model(seed=2)
    for (name, x), (_, y), (_, z) in zip(
        a.state_dict().items(), b.state_dict().items(), c.state_dict().items(), strict=True
    ):
        assert torch.equal(x, y), name
        assert not torch.equal(x, z), name
    for layer in a.modules():
        if isinstance(layer, torch.nn.Linear):
            bound = 1 / math.sqrt(layer.in_features)
            assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound
    trunks = trunk_params(a)
    assert not torch.equal(trunks["a"]["1.weight"], trunks["b"]["1.weight"])


def test_models_do_not_depend_on_the_global_random_stream():
    """Weights and dropout masks ignore torch's global seed; forward passes do not draw from it,
    so runs in threads of one process cannot disturb each other."""
    x = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    outputs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        net = model(dropout=0.5, backbone="cnn", shape=(8, 8), width=8)
        net.train()
        before = torch.random.get_rng_state()
        outputs.append(net(x, "a"))
        assert torch.equal(torch.random.get_rng_state(), before)
    assert torch.equal(outputs[0], outputs[1])


def test_seeded_dropout_masks_scales_and_repeats():
    """p=0.5 drops about half, scales the rest by 2, is the identity in eval mode and repeats
    exactly for the same generator seed."""
    x = torch.ones(200, 100)
    drop = SeededDropout(0.5, torch.Generator().manual_seed(3))
    y = drop(x)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert abs(float((y == 0).float().mean()) - 0.5) < 0.02
    again = SeededDropout(0.5, torch.Generator().manual_seed(3))(x)
    assert torch.equal(y, again)
    assert not torch.equal(y, drop(x))  # the next mask is a new draw
    drop.eval()
    assert torch.equal(drop(x), x)
    assert torch.equal(SeededDropout(0.0, torch.Generator())(x), x)


def test_adding_a_task_leaves_the_other_initial_weights_unchanged():
    """With the seed fixed, trunks and heads of existing tasks do not depend on other tasks."""
    for sharing in ("hard", "single"):
        small = model(("digit",), sharing).state_dict()
        large = model(("parity", "digit", "recon"), sharing).state_dict()
        for name, value in small.items():
            assert torch.equal(value, large[name]), (sharing, name)


@pytest.mark.parametrize("sharing", ["hard", "single", "soft"])
def test_adding_a_task_in_the_trainer_keeps_other_initial_weights(sharing, make_config):
    """Through the trainer's own model building: adding aux tasks changes no existing weight,
    and dropping a task leaves the remaining ones as they were."""
    tasks = {"tasks": ["digit", "parity"]} if sharing == "soft" else {"tasks": ["digit"]}
    base = loop_model(make_config(sharing=sharing, dropout=0.2, **tasks))
    more = loop_model(
        make_config(sharing=sharing, dropout=0.2, aux=["recon", "magnitude"], **tasks)
    )
    assert set(base) < set(more)
    for name, value in base.items():
        assert torch.equal(value, more[name]), name
    fewer = loop_model(make_config(sharing=sharing, tasks=["digit"], aux=["magnitude"]))
    for name, value in fewer.items():
        assert torch.equal(value, more[name]), name


def test_heads_of_the_same_size_get_different_weights():
    """Each head's init derives from its task name, so two heads never start identical."""
    heads = model(("a", "b"), "hard").heads
    assert not torch.equal(heads["a"].weight, heads["b"].weight)


def direct_l2(net) -> float:
    trunks = list(trunk_params(net).values())
    n_weights = sum(v.numel() for v in trunks[0].values())
    total = 0.0
    for t1, t2 in itertools.combinations(trunks, 2):
        total += sum(float((t1[k] - t2[k]).pow(2).sum()) for k in t1)
    return total / n_weights


def test_l2_penalty_matches_a_direct_computation():
    """Σ over task pairs of ‖w_i − w_j‖², over all trunk weights, ÷ the weights of one trunk."""
    net = model(("a", "b", "c"), "soft")
    assert float(l2_penalty(net).detach()) == pytest.approx(direct_l2(net), rel=1e-5)
    assert direct_l2(net) > 0
    two = model(("a", "b"), "soft", width=7, depth=1)
    assert float(l2_penalty(two).detach()) == pytest.approx(direct_l2(two), rel=1e-5)


def test_trace_penalty_is_the_sum_of_nuclear_norms_over_root_n():
    """Σ over trunk parameters of ‖[w_1 … w_T]‖_* / √(weights in that parameter)."""
    net = model(("a", "b", "c"), "soft")
    trunks = list(trunk_params(net).values())
    expected = 0.0
    for key in trunks[0]:
        columns = torch.stack([t[key].reshape(-1) for t in trunks], 1)
        expected += float(torch.linalg.svdvals(columns).sum()) / math.sqrt(columns.shape[0])
    assert float(trace_penalty(net).detach()) == pytest.approx(expected, rel=1e-5)


def test_penalties_on_identical_trunks():
    """Equal trunks: l2 and the distance are 0; trace is √T·‖w‖/√n per parameter (rank one)."""
    net = model(("a", "b", "c"), "soft")
    with torch.no_grad():
        for key in ("b", "c"):
            net.trunks[key].load_state_dict(net.trunks["a"].state_dict())
    assert float(l2_penalty(net).detach()) == 0.0
    assert mean_trunk_distance(net) == 0.0
    expected = sum(
        math.sqrt(3) * float(p.detach().norm()) / math.sqrt(p.numel())
        for p in net.trunks["a"].parameters()
    )
    assert float(trace_penalty(net).detach()) == pytest.approx(expected, rel=1e-5)


def test_mean_trunk_distance_matches_a_direct_computation():
    """The mean over task pairs of the Euclidean distance between whole trunks."""
    net = model(("a", "b", "c"), "single")
    trunks = list(trunk_params(net).values())
    dists = [
        math.sqrt(sum(float((t1[k] - t2[k]).pow(2).sum()) for k in t1))
        for t1, t2 in itertools.combinations(trunks, 2)
    ]
    assert mean_trunk_distance(net) == pytest.approx(sum(dists) / len(dists), rel=1e-5)
    assert mean_trunk_distance(model(("a", "b"), "hard")) == 0.0


def test_penalties_have_gradients_towards_each_other():
    """The l2 penalty's gradient on trunk a points from trunk a towards trunk b."""
    net = model(("a", "b"), "soft")
    l2_penalty(net).backward()
    wa, wb = net.trunks["a"][1].weight, net.trunks["b"][1].weight
    assert torch.allclose(wa.grad, -wb.grad)
    assert float((wa.grad * (wb - wa).detach()).sum()) < 0


@pytest.mark.parametrize("pieces", [2, 3, 8])
def test_a_maxout_unit_outputs_the_largest_of_its_linear_pieces(pieces):
    """Goodfellow et al. 2013: h_i(x) = max_j (x·W_ij + b_ij), j over the unit's pieces,
    computed here by hand from the layer's weights; the weights come from the trunk's
    seeded stream as the mlp's do (init U(±1/√fan_in))."""
    net = build_model(
        backbone="maxout",
        image_shape=(3, 3),
        out_dims={"a": 2},
        trunk_of={"a": "shared"},
        width=4,
        depth=1,
        dropout=0.0,
        seed=5,
        pieces=pieces,
    )
    linear = net.trunks["shared"][1]
    assert linear.weight.shape == (4 * pieces, 9)
    x = torch.rand(6, 3, 3)
    z = x.reshape(6, 9) @ linear.weight.T + linear.bias
    by_hand = torch.stack(
        [
            torch.stack([z[:, i * pieces + j] for j in range(pieces)]).max(0).values
            for i in range(4)
        ],
        dim=1,
    )
    assert torch.equal(net.features(x, "shared"), by_hand)
    again = build_model(
        backbone="maxout",
        image_shape=(3, 3),
        out_dims={"a": 2},
        trunk_of={"a": "shared"},
        width=4,
        depth=1,
        dropout=0.0,
        seed=5,
        pieces=pieces,
    )
    assert torch.equal(again.trunks["shared"][1].weight, linear.weight)
    assert linear.weight.abs().max() <= 1 / 3  # U(±1/√9)
    assert net.param_count() == 4 * pieces * 10 + 2 * 5
