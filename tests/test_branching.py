"""Sharing depth: hard sharing of the first K layers, then a branch per task.

K = all (-1, or the trunk's layer count) is hard sharing and K = 0 is single-task, bit for
bit, dropout included; in between, everything that works on the shared trunk works on
the shared part (docs/methods.md, "Sharing depth").
"""

from __future__ import annotations

import pytest
import torch

from mtl_core.config import DEFAULT, from_dict, trunk_layers
from mtl_core.data.splits import load_bundle
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from mtl_core.methods.aggregation import aggregated_backward, build_aggregator
from mtl_core.models.sharing import SHARING
from mtl_core.models.trunks import BranchedNet, MultiTaskNet, block_bounds, build_model
from mtl_core.training.control import RunControl
from mtl_core.training.loop import _Loop
from mtl_core.training.trainer import train

BASE = {
    "dataset": "digits",
    "train_size": 60,
    "tasks": ["digit"],
    "aux": ["parity"],
    "width": 16,
    "depth": 2,
    "dropout": 0.3,
    "batch_size": 16,
    "epochs": 2,
    "threads": 1,
    "seed": 3,
}


def config(**changes):
    return from_dict({**BASE, **changes})


def rows(result) -> list[tuple]:
    """Every stored row but timing, values compared by their bits (``float.hex``)."""
    return sorted((e, t, s, m, float(v).hex()) for e, t, s, m, v in result.rows if m != "wall_time")


def net(backbone="mlp", sharing="hard", shared_layers=-1, depth=2, tasks=("a", "b"), seed=0):
    return build_model(
        backbone=backbone,
        image_shape=(8, 8),
        out_dims={t: 3 for t in tasks},
        trunk_of=SHARING[sharing].trunk_of(tasks),
        width=6,
        depth=depth,
        dropout=0.0,
        seed=seed,
        pieces=3,
        shared_layers=shared_layers,
    )


def make_loop(cfg) -> _Loop:
    bundle = load_bundle(cfg.dataset, cfg.variant, cfg.data_seed)
    return _Loop(cfg, bundle, torch.device("cpu"), None, None, None, RunControl())


# -- the two ends ---------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
def test_sharing_every_layer_trains_bit_for_bit_like_hard_sharing(backbone):
    """K = the trunk's layer count gives the same rows as -1 (today's hard sharing, whose
    golden cells are unchanged), with dropout."""
    width = 8 if backbone == "cnn" else 16
    hard = train(config(backbone=backbone, width=width))
    layers = trunk_layers(backbone, 2)
    every = train(config(backbone=backbone, width=width, shared_layers=layers))
    assert hard.status == every.status == "completed"
    assert rows(every) == rows(hard)


@pytest.mark.parametrize("backbone", ["mlp", "cnn"])
def test_sharing_no_layer_trains_bit_for_bit_like_single_task(backbone):
    """K = 0 under hard sharing gives single-task's rows bit for bit (curves, test rows,
    trunk distance) and its stored features, with dropout: each branch gets the
    single-task trunk's weight and dropout streams."""
    width = 8 if backbone == "cnn" else 16
    single = make_loop(config(backbone=backbone, width=width, sharing="single"))
    branched = make_loop(config(backbone=backbone, width=width, shared_layers=0))
    assert isinstance(branched.model, BranchedNet)
    a, b = single.run(), branched.run()
    assert a.status == b.status == "completed"
    assert rows(b) == rows(a)
    assert any(m == "trunk_distance" for _, _, _, m, _ in a.rows)
    x = single.problem.inputs[("val", False)][:50]
    feats_a = {k: v for key in single.model.trunk_keys()
               for k, v in single.model.named_features(x, key).items()}  # fmt: skip
    feats_b = {k: v for key in branched.model.trunk_keys()
               for k, v in branched.model.named_features(x, key).items()}  # fmt: skip
    assert feats_a.keys() == feats_b.keys() == {"digit", "parity"}
    for key in feats_a:
        assert torch.equal(feats_a[key], feats_b[key]), key
    assert single.model.param_count() == branched.model.param_count()


# -- in between ----------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
def test_the_shared_part_is_hard_sharings_first_layers_and_branches_single_tasks_rest(backbone):
    """The per-key streams: at every K the shared part's weights are hard sharing's first
    K layers and task t's branch is single-task t's trunk from layer K on."""
    hard, single = net(backbone), net(backbone, "single")
    layers = trunk_layers(backbone, 2)
    assert len(block_bounds(hard.trunks["shared"])) == layers
    for k in range(layers):
        model = net(backbone, shared_layers=k)
        cut = block_bounds(hard.trunks["shared"])[k][0]
        shared = list(model.trunks["shared"].state_dict().values())
        assert len(list(model.trunks["shared"])) == cut
        expected = list(
            torch.nn.Sequential(*list(hard.trunks["shared"])[:cut]).state_dict().values()
        )
        assert all(torch.equal(p, q) for p, q in zip(shared, expected, strict=True))
        for task in ("a", "b"):
            branch = list(model.branches[task].state_dict().values())
            rest = torch.nn.Sequential(*list(single.trunks[task])[cut:]).state_dict().values()
            assert all(torch.equal(p, q) for p, q in zip(branch, list(rest), strict=True))
            assert torch.equal(model.heads[task].weight, hard.heads[task].weight)


def test_the_models_capabilities_point_at_the_shared_part_and_the_branch_point():
    """shared_trunk() is the shared part (None at K = 0), named_features the branch point
    (flattened after a convolution), task_parameters a task's branch and head."""
    model = net("cnn", shared_layers=1)
    x = torch.rand(4, 1, 8, 8)
    shared = model.shared_trunk()
    assert shared is model.trunks["shared"]
    assert [type(m).__name__ for m in shared] == ["Conv2d", "MaxPool2d", "ReLU"]
    (feats,) = model.named_features(x, "shared").values()
    assert feats.shape == (4, 10 * 4 * 4)
    assert torch.equal(feats, shared(x).flatten(1))
    ids = {id(p) for p in model.task_parameters("a")}
    assert {id(p) for p in model.branches["a"].parameters()} <= ids
    assert {id(p) for p in model.heads["a"].parameters()} <= ids
    assert not ids & {id(p) for p in model.branches["b"].parameters()}
    assert not ids & {id(p) for p in shared.parameters()}
    assert net("mlp", shared_layers=0).shared_trunk() is None
    assert type(net("mlp", shared_layers=-1)) is MultiTaskNet
    assert type(net("mlp", shared_layers=2)) is MultiTaskNet


def test_aggregators_give_each_branch_its_own_tasks_gradient():
    """With an aggregator the branches, like the heads, get their own task's gradient
    (nothing from another task, nothing aggregated); the shared part gets the update."""
    torch.manual_seed(0)
    model = net("mlp", shared_layers=1)
    x = torch.rand(8, 8, 8)
    feats = model.features(x, "shared")
    losses = [model.head(t, feats).pow(2).mean() * (i + 1) for i, t in enumerate("ab")]
    own = torch.autograd.grad(losses[0], model.task_parameters("a"), retain_graph=True)
    aggregated_backward(
        losses,
        [feats],
        [model.task_parameters(t) for t in "ab"],
        list(model.shared_trunk().parameters()),
        build_aggregator("upgrad", 2),
    )
    for g, p in zip(own, model.task_parameters("a"), strict=True):
        assert torch.equal(p.grad, g)
    assert all(p.grad is not None for p in model.shared_trunk().parameters())


def test_a_run_with_an_aggregator_trains_the_branches():
    """The trainer hands the branches to the aggregator as task parameters: they move."""
    loop = make_loop(config(shared_layers=1, aggregator="upgrad", dropout=0.0, epochs=1))
    before = {k: v.clone() for k, v in loop.model.branches.state_dict().items()}
    assert loop.run().status == "completed"
    after = loop.model.branches.state_dict()
    assert all(not torch.equal(before[k], after[k]) for k in before), list(before)


def test_gradnorm_and_the_conflict_rows_work_on_the_shared_part():
    """GradNorm balances on the last shared layer (a convolution when only the first
    conv block is shared), and the conflict rows measure the shared part's gradients."""
    cfg = config(backbone="cnn", width=8, shared_layers=1, weighting="gradnorm", epochs=1)
    loop = make_loop(cfg)
    (last,) = loop.weighting.shared
    assert last is loop.model.trunks["shared"][0].weight and last.dim() == 4
    assert [id(p) for p in loop.shared] == [id(p) for p in loop.model.trunks["shared"].parameters()]
    result = loop.run()
    assert result.status == "completed"
    assert any(t == "_conflict" for _, t, *_ in result.rows)
    assert any(m == "trunk_distance" for *_, m, _ in result.rows)  # between the branches
    nothing = train(config(shared_layers=0, epochs=1))
    assert not any(t == "_conflict" for _, t, *_ in nothing.rows)


# -- the config ------------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", list(catalog.BACKBONES))
@pytest.mark.parametrize("depth", [1, 3])
def test_the_configs_layer_count_is_the_models(backbone, depth):
    """config.trunk_layers (no torch) counts the blocks the model cuts at."""
    model = net(backbone, depth=depth)
    assert trunk_layers(backbone, depth) == len(block_bounds(model.trunks["shared"]))


def test_sharing_depth_is_checked_against_the_trunk_and_what_needs_a_shared_layer():
    """K beyond the trunk, and GradNorm or an aggregator with nothing shared, are refused
    in one line naming the field; the cnn's conv blocks count as layers."""
    assert DEFAULT.shared_layers == -1
    assert from_dict({"backbone": "cnn", "depth": 1, "shared_layers": 3}).shared_layers == 3
    cases = [
        ({"depth": 1, "shared_layers": 2}, "shared_layers", "has 1 layers"),
        ({"aux": ["parity"], "shared_layers": 0, "weighting": "gradnorm"}, "weighting", "shares"),
        ({"aux": ["parity"], "shared_layers": 0, "aggregator": "mgda"}, "aggregator", "shares"),
        ({"shared_layers": -2}, "shared_layers", "between -1 and 10"),
        ({"shared_layers": 1.5}, "shared_layers", "whole number"),
    ]
    for data, field, words in cases:
        with pytest.raises(ConfigError) as info:
            from_dict(data)
        message = str(info.value)
        assert info.value.field == field and words in message and "\n" not in message, message
    # other sharing modes ignore it, as they ignore each other's hyperparameters
    assert from_dict({"aux": ["parity"], "sharing": "soft", "shared_layers": 1}).sharing == "soft"


METHODS = [("weighting", w) for w in catalog.WEIGHTINGS] + [
    ("aggregator", a) for a in catalog.AGGREGATORS if a != "none"
]


@pytest.mark.parametrize(("kind", "name"), METHODS, ids=[n for _, n in METHODS])
def test_every_weighting_and_aggregator_trains_on_a_shared_part(kind, name):
    """Each loss weighting and aggregator runs with one shared layer of two: finite
    rows, the conflict rows of the shared part, the branches' distance."""
    result = train(config(shared_layers=1, epochs=1, dropout=0.0, **{kind: name}))
    assert result.status == "completed", result.message
    kinds = {(t, m.split(":")[0]) for _, t, _, m, _ in result.rows}
    assert ("_conflict", "cos") in kinds and ("_model", "trunk_distance") in kinds
