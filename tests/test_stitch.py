"""Cross-stitch units: layout, mixing weights, identity = single-task bit for bit, and flow."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from mtl_core.models.sharing import mean_trunk_distance
from mtl_core.models.stitch import CrossStitchNet, block_bounds, build_cross_stitch
from mtl_core.models.trunks import build_model
from mtl_core.training.representation import trunk_features
from mtl_core.training.trainer import train

TASKS = {2: ("a", "b"), 3: ("a", "b", "c")}
OUT = {"a": 3, "b": 2, "c": 4}
WIDTH = 8
DEPTH = 2
UNITS = {"mlp": DEPTH, "cnn": DEPTH + 2, "maxout": DEPTH}  # one unit per weight layer of a column


def stitched(
    tasks=("a", "b"), *, backbone="mlp", shape=(8, 8), dropout=0.0, init=0.9, seed=0
) -> CrossStitchNet:
    return build_cross_stitch(
        backbone=backbone,
        image_shape=shape,
        out_dims={t: OUT[t] for t in tasks},
        tasks=tasks,
        width=WIDTH,
        depth=DEPTH,
        dropout=dropout,
        seed=seed,
        init=init,
    )


def single(tasks=("a", "b"), *, backbone="mlp", shape=(8, 8), dropout=0.0, seed=0):
    """The single-task model of each task on its own, as build_model makes it."""
    return {
        t: build_model(
            backbone=backbone,
            image_shape=shape,
            out_dims={t: OUT[t]},
            trunk_of={t: t},
            width=WIDTH,
            depth=DEPTH,
            dropout=dropout,
            seed=seed,
        )
        for t in tasks
    }


def images(n=6, shape=(8, 8), seed=1) -> torch.Tensor:
    return torch.rand(n, 1, *shape, generator=torch.Generator().manual_seed(seed))


def labels(task: str, n=6, seed=2) -> torch.Tensor:
    return torch.randint(OUT[task], (n,), generator=torch.Generator().manual_seed(seed))


# -- layout --------------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
@pytest.mark.parametrize("n_tasks", [2, 3])
@pytest.mark.parametrize("shape", [(28, 28), (8, 8)])
def test_shapes_and_parameter_layout(backbone, n_tasks, shape):
    """Columns and heads are the single-task models' parameters, plus one T×T α per unit."""
    tasks = TASKS[n_tasks]
    net = stitched(tasks, backbone=backbone, shape=shape)
    x = images(5, shape)
    feats = net.features(x, "stitch")
    assert list(feats) == list(tasks)
    assert all(f.shape == (5, WIDTH) for f in feats.values())
    for t in tasks:
        assert net(x, t).shape == (5, OUT[t])
        assert net.head(t, feats).shape == (5, OUT[t])
    assert net.trunk_of == {t: "stitch" for t in tasks}
    assert list(net.trunks) == list(tasks)
    assert len(net.stitch) == UNITS[backbone]
    assert all(a.shape == (n_tasks, n_tasks) for a in net.stitch)
    assert net.stitch_parameters() == list(net.stitch)

    alone = {}
    for model in single(tasks, backbone=backbone, shape=shape).values():
        alone.update(model.state_dict())
    state = net.state_dict()
    stitch_keys = [f"stitch.{u}" for u in range(UNITS[backbone])]
    assert sorted(state) == sorted([*alone, *stitch_keys])
    assert all(torch.equal(state[k], v) for k, v in alone.items())
    extra = UNITS[backbone] * n_tasks**2
    assert (
        net.param_count()
        == sum(m.param_count() for m in single(tasks, backbone=backbone, shape=shape).values())
        + extra
    )


def test_blocks_are_cut_at_each_weight_layer():
    """mlp: [Flatten, Linear, ReLU, Dropout], [Linear, ReLU, Dropout]; cnn: the two conv
    blocks (the second with the Flatten), then each dense block."""
    mlp, cnn = stitched(backbone="mlp"), stitched(backbone="cnn")
    assert block_bounds(mlp.trunks["a"]) == mlp.bounds == [(0, 4), (4, 7)]
    assert block_bounds(cnn.trunks["a"]) == cnn.bounds == [(0, 3), (3, 7), (7, 10), (10, 13)]
    maxout = stitched(backbone="maxout")  # [Flatten, Linear, MaxPieces, Dropout], ...
    assert block_bounds(maxout.trunks["a"]) == maxout.bounds == [(0, 4), (4, 7)]
    names = [[type(m).__name__ for m in cnn.trunks["a"][a:b]] for a, b in cnn.bounds]
    assert names[:2] == [
        ["Conv2d", "MaxPool2d", "ReLU"],
        ["Conv2d", "MaxPool2d", "ReLU", "Flatten"],
    ]


def test_helpers_that_read_trunks_still_work():
    """Trunk distance reads the columns; stored representations come one per column."""
    net = stitched(("a", "b", "c"))
    alone = single(("a", "b", "c"))
    merged = build_model(
        backbone="mlp",
        image_shape=(8, 8),
        out_dims={t: OUT[t] for t in "abc"},
        trunk_of={t: t for t in "abc"},
        width=WIDTH,
        depth=DEPTH,
        dropout=0.0,
        seed=0,
    )
    assert mean_trunk_distance(net) == mean_trunk_distance(merged) > 0
    feats = trunk_features(net, images())
    assert list(feats) == ["a", "b", "c"]
    assert all(f.shape == (6, WIDTH) for f in feats.values())
    assert set(alone) == set(feats)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="two or more"):
        stitched(("a",))
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        stitched(init=1.5)
    with pytest.raises(KeyError):
        stitched().features(images(), "a")


# -- mixing weights ------------------------------------------------------------------------


def test_initial_alpha_and_mixing_names():
    """init on the diagonal, (1 − init)/(T − 1) off it; one named entry per coefficient."""
    net = stitched(("a", "b", "c"), init=0.7)
    expected = torch.tensor([[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]])
    assert all(torch.equal(a.detach(), expected) for a in net.stitch)
    mixing = net.mixing()
    assert len(mixing) == DEPTH * 9
    assert list(mixing)[:4] == ["alpha:1:a:a", "alpha:1:a:b", "alpha:1:a:c", "alpha:1:b:a"]
    assert list(mixing)[-1] == "alpha:2:c:c"
    with torch.no_grad():
        net.stitch[1][2, 0] = 0.25  # unit 2, to c, from a
    mixing = net.mixing()
    assert mixing["alpha:2:c:a"] == 0.25
    assert mixing["alpha:1:c:a"] == mixing["alpha:2:a:b"] == float(torch.tensor(0.15))
    assert mixing["alpha:2:b:b"] == float(torch.tensor(0.7))
    assert all(isinstance(v, float) for v in mixing.values())


def test_mixing_is_the_weighted_sum_of_columns():
    """x̃_i = Σ_j α_ij x_j: with init 0.5 and two tasks, each unit averages the columns."""
    net = stitched(init=0.5, backbone="mlp")
    x = images()
    layers = {t: list(net.trunks[t]) for t in "ab"}
    cols = {t: x for t in "ab"}
    for start, stop in net.bounds:
        for t in "ab":
            for layer in layers[t][start:stop]:
                cols[t] = layer(cols[t])
        mean = (cols["a"] + cols["b"]) * 0.5
        cols = {"a": mean, "b": mean}
    feats = net.features(x, "stitch")
    torch.testing.assert_close(feats["a"], cols["a"])
    torch.testing.assert_close(feats["b"], cols["b"])


# -- identity mixing = single-task, bit for bit --------------------------------------------


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
@pytest.mark.parametrize("n_tasks", [2, 3])
def test_identity_features_equal_single_task_bitwise(backbone, n_tasks):
    """With init = 1, each column's features are its single-task trunk's, in eval mode
    and in train mode with dropout (each column draws from its own generator)."""
    tasks = TASKS[n_tasks]
    for dropout, mode in ((0.0, "eval"), (0.4, "train")):
        net = stitched(tasks, backbone=backbone, dropout=dropout, init=1.0)
        alone = single(tasks, backbone=backbone, dropout=dropout)
        for m in (net, *alone.values()):
            m.train(mode == "train")
        for _ in range(2):  # the second pass uses the generators' next masks
            x = images()
            feats = net.features(x, "stitch")
            for t in tasks:
                assert torch.equal(feats[t], alone[t].features(x, t))


def _train_steps(backbone, dropout, optimizer, steps=4):
    """Train the stitched net (α frozen at I) on the summed loss and each single-task model
    on its own loss, on the same batches; return both models."""
    tasks = TASKS[3]
    net = stitched(tasks, backbone=backbone, dropout=dropout, init=1.0)
    for alpha in net.stitch:
        alpha.requires_grad_(False)
    alone = single(tasks, backbone=backbone, dropout=dropout)

    def make(params):
        if optimizer == "adam":
            return torch.optim.Adam(params, lr=0.01)
        return torch.optim.SGD(params, lr=0.1, momentum=0.9)

    opts = [make(net.parameters()), *(make(m.parameters()) for m in alone.values())]
    for step in range(steps):
        x = images(seed=10 + step)
        y = {t: labels(t, seed=20 + step) for t in tasks}
        for opt in opts:
            opt.zero_grad(set_to_none=True)
        feats = net.features(x, "stitch")
        sum(F.cross_entropy(net.head(t, feats), y[t]) for t in tasks).backward()
        for t, model in alone.items():
            F.cross_entropy(model(x, t), y[t]).backward()
        for opt in opts:
            opt.step()
    return net, alone


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_identity_training_equals_single_task_bitwise(backbone, optimizer, dropout):
    """A few steps on the summed loss with α = I frozen leave every column and head
    exactly where training each single-task model on its own loss leaves it."""
    net, alone = _train_steps(backbone, dropout, optimizer)
    state = net.state_dict()
    before = stitched(TASKS[3], backbone=backbone, dropout=dropout, init=1.0).state_dict()
    for model in alone.values():
        for key, value in model.state_dict().items():
            assert torch.equal(state[key], value), key
            assert not torch.equal(before[key], value), key  # the steps did move it
    assert all(torch.equal(a, torch.eye(3)) for a in net.stitch)


# -- gradient flow -------------------------------------------------------------------------


def _grads_of_task_loss(net: CrossStitchNet, task: str) -> dict[str, torch.Tensor | None]:
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(images(), task), labels(task)).backward()
    return {name: p.grad for name, p in net.named_parameters()}


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
def test_identity_sends_no_gradient_across_columns_but_alpha_can_learn(backbone):
    """With α = I, task a's loss gives column b an exact zero gradient, while the
    off-diagonal α_ab gets a non-zero one: the units can move away from identity."""
    net = stitched(backbone=backbone, init=1.0)
    grads = _grads_of_task_loss(net, "a")
    column_b = {k: g for k, g in grads.items() if k.startswith("trunks.b.")}
    assert column_b and all(g is not None and not g.any() for g in column_b.values())
    assert all(grads[k].abs().sum() > 0 for k in grads if k.startswith("trunks.a."))
    for unit in range(len(net.stitch)):
        alpha_grad = grads[f"stitch.{unit}"]
        assert alpha_grad[0, 1] != 0  # a reading from b
        assert not alpha_grad[1].any()  # b's row does not touch a's loss


@pytest.mark.parametrize("backbone", ["mlp", "cnn", "maxout"])
def test_gradients_flow_between_columns_when_mixing(backbone):
    """With init < 1, task a's loss reaches every layer of column b and every α."""
    net = stitched(backbone=backbone, init=0.8)
    grads = _grads_of_task_loss(net, "a")
    column_b = {k: g for k, g in grads.items() if k.startswith("trunks.b.")}
    assert column_b and all(g.abs().sum() > 0 for g in column_b.values())
    assert all(grads[f"stitch.{u}"].abs().sum() > 0 for u in range(len(net.stitch)))
    assert grads["heads.b.weight"] is None  # b's head is not on a's path


# -- the trainer ---------------------------------------------------------------------------

TRAINER_SETUP = {"tasks": ["digit"], "aux": ["parity"], "epochs": 3, "depth": 2}
CURVES = [(t, s) for t in ("digit", "parity") for s in ("train", "val")]


@pytest.mark.parametrize(
    "changes",
    [
        {"backbone": "mlp", "dropout": 0.3},
        {"backbone": "maxout", "dropout": 0.3, "pieces": 3},
        {"backbone": "cnn", "dropout": 0.3, "optimizer": "sgd"},
        # Different label pools: two feature passes per step, one per pool (dropout 0).
        {"backbone": "mlp", "task_sizes": {"digit": 60, "parity": 100}},
    ],
)
def test_trainer_identity_cross_stitch_equals_single_bitwise(make_config, changes):
    """stitch_init = 1 with stitch_lr = 0 trains exactly like single-task sharing."""
    setup = {**TRAINER_SETUP, **changes}
    alone = train(make_config(sharing="single", **setup))
    stitch = train(make_config(sharing="cross-stitch", stitch_init=1.0, stitch_lr=0.0, **setup))
    assert alone.status == stitch.status == "completed"
    for task, split in CURVES:
        curve = stitch.curve(task, split, "loss")
        assert len(curve) == setup["epochs"] + 1
        assert curve == alone.curve(task, split, "loss"), (task, split)
    assert stitch.curve("_model", "train", "trunk_distance") == alone.curve(
        "_model", "train", "trunk_distance"
    )


def test_trainer_records_mixing_weights_that_learn(make_config):
    """A default cross-stitch run records every α coefficient every epoch, and they move;
    its curves differ from single-task (so the bitwise comparison above is sensitive)."""
    config = make_config(sharing="cross-stitch", **TRAINER_SETUP)
    result = train(config)
    assert result.status == "completed"
    alone = train(make_config(sharing="single", **TRAINER_SETUP))
    assert result.curve("digit", "val", "loss")[1:] != alone.curve("digit", "val", "loss")[1:]
    names = sorted({m for _, t, _, m, _ in result.rows if t == "_stitch"})
    assert len(names) == TRAINER_SETUP["depth"] * 4
    init, off = config.stitch_init, 1 - config.stitch_init
    for name in names:
        _, _, to_task, from_task = name.split(":")
        curve = result.curve("_stitch", "train", name)
        assert len(curve) == config.epochs + 1
        assert curve[0] == float(torch.tensor(init if to_task == from_task else off))
        assert curve[-1] != curve[0]
