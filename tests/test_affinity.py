"""Inter-task affinity (TAG, mtl_core/training/affinity.py): the lookahead is the
optimiser's own step, the measurement leaves training bit for bit alone, the values are
right where the answer is known, and runs record and store them as documented."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from mtl_core.analysis.affinity import affinity_sentences, evolution, mean_affinity
from mtl_core.cli.flags import add_train_flags, config_from_args
from mtl_core.data.batching import step_sizes
from mtl_core.errors import ConfigError
from mtl_core.methods.optimizers import SGD, Adam, Optimizer
from mtl_core.store.runs import RunStore
from mtl_core.training.affinity import LOSS_FLOOR, AffinityRecorder
from mtl_core.training.sink import MemorySink
from mtl_core.training.trainer import train
from tests.conftest import tiny_config


def _optimizer(kind: str, params: list[torch.Tensor]) -> Optimizer:
    if kind == "adam":
        return Adam(params, lr=0.01, weight_decay=1e-3)
    if kind == "sgd-momentum":
        return SGD(params, lr=0.05, momentum=0.8, weight_decay=1e-3)
    return SGD(params, lr=0.05)


@pytest.mark.parametrize("kind", ["adam", "sgd-momentum", "sgd"])
@pytest.mark.parametrize("steps_before", [0, 3])
def test_the_lookahead_is_the_step_the_optimiser_would_take(kind, steps_before):
    """With fresh state and after a few steps: the lookahead of a gradient is, bit for
    bit, what ``optimizer.step()`` does with that gradient, and reads the state without
    writing it."""
    gen = torch.Generator().manual_seed(0)
    params = [nn.Parameter(torch.randn(5, 3, generator=gen)), nn.Parameter(torch.randn(3))]
    opt = _optimizer(kind, params)
    for _ in range(steps_before):
        opt.zero_grad()
        sum((p**2).sum() + p.sum() for p in params).backward()
        opt.step()
    grads = [torch.randn(p.shape, generator=gen) for p in params]
    state = copy.deepcopy(opt.state)
    before = [p.detach().clone() for p in params]
    moved = opt.lookahead(params, grads)
    assert all(torch.equal(p, b) for p, b in zip(params, before, strict=True))
    assert _same_state(opt.state, state)
    for p, g in zip(params, grads, strict=True):
        p.grad = g.clone()
    opt.step()
    for new, p in zip(moved, params, strict=True):
        assert torch.equal(new, p.detach())  # the step's own rule: bit for bit


def _same_state(a: dict, b: dict) -> bool:
    """Two optimiser states (per parameter, in order) hold equal values under equal keys."""
    return [list(s) for s in a.values()] == [list(s) for s in b.values()] and all(
        torch.equal(torch.as_tensor(x[k]), torch.as_tensor(y[k]))
        for x, y in zip(a.values(), b.values(), strict=True)
        for k in x
    )


class Toy(nn.Module):
    """One shared number w = 0 and four tasks whose losses are known functions of it:
    a and b are (w - 1)^2 (same minimum), c is (w + 1)^2 (opposite), d is w^2 (0 at w = 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def losses(self, index: dict) -> tuple[dict, dict]:
        w = self.w
        return {"a": (w - 1) ** 2, "b": (w - 1) ** 2, "c": (w + 1) ** 2, "d": w**2}, {}


def test_affinity_on_a_toy_problem_where_the_answer_is_known():
    """SGD, lr 0.1, from w = 0. A step on a (gradient -2) moves w to 0.2: a and b fall
    from 1 to 0.64 (Z = 0.36), c rises to 1.44 (Z = -0.44). A step on c moves w to -0.2:
    Z(c→a) = -0.44, Z(c→c) = 0.36. d's loss is 0, below the floor: nothing is recorded for it."""
    toy = Toy()
    opt = SGD(toy.parameters(), lr=0.1)
    recorder = AffinityRecorder(("a", "b", "c", "d"), toy, [toy.w], opt, toy.losses, every=10)
    values = recorder.measure({})
    expected = {("a", "a"): 0.36, ("a", "b"): 0.36, ("a", "c"): -0.44, ("c", "a"): -0.44}
    expected |= {("c", "c"): 0.36, ("b", "a"): 0.36, ("b", "c"): -0.44}
    for pair, value in expected.items():
        assert values[pair] == pytest.approx(value, abs=1e-6), pair
    assert not [pair for pair in values if pair[1] == "d"]  # L_d = 0 < LOSS_FLOOR
    assert ("d", "a") in values and values[("d", "a")] == pytest.approx(0.0)  # d's gradient is 0
    assert toy.w.item() == 0.0 and toy.w.grad is None and not opt.state
    rows = {m: v for _, _, m, v in recorder.epoch_rows()}
    assert rows["aff:a>c"] == pytest.approx(-0.44, abs=1e-6)
    assert "aff:a>d" not in rows and recorder.epoch_rows() == []  # the epoch starts afresh


def test_a_loss_just_above_the_floor_is_measured_and_one_below_is_not():
    toy = Toy()
    toy.w.data.fill_(LOSS_FLOOR**0.5 * 1.01)  # d = w^2 just above the floor
    opt = SGD(toy.parameters(), lr=0.1)
    recorder = AffinityRecorder(("a", "d"), toy, [toy.w], opt, toy.losses, every=1)
    assert ("a", "d") in recorder.measure({})
    toy.w.data.fill_(LOSS_FLOOR**0.5 * 0.99)
    assert ("a", "d") not in recorder.measure({})


def _outputs(result, sink: MemorySink) -> tuple[list, dict, dict]:
    """Every stored row but timing and affinity (floats by hex), the summary without
    timing, and the stored arrays: what affinity must not change."""
    rows = [
        (e, t, s, m, float(v).hex())
        for e, t, s, m, v in result.rows
        if m != "wall_time" and t != "_affinity"
    ]
    summary = {k: v for k, v in result.summary.items() if k not in ("elapsed", "paused")}
    arrays = {name: array.tobytes() for (_, name), (array, _) in sink.arrays.items()}
    return rows, summary, arrays


@pytest.mark.parametrize(
    "changes",
    [
        {"aux": ["parity", "bbox"], "dropout": 0.3, "depth": 2},
        {"aux": ["magnitude"], "optimizer": "sgd", "lr": 0.05, "weight_decay": 1e-3},
        {"aux": ["parity", "loops"], "aggregator": "pcgrad", "shared_layers": 1, "depth": 2},
        {"aux": ["parity"], "weighting": "famo", "backbone": "cnn", "width": 8},
        {"aux": ["parity"], "weighting": "gradnorm", "early_stop": 1, "lr": 0.05},
    ],
)
def test_curves_are_bitwise_equal_with_affinity_on_and_off(changes):
    """Measured every step (the most it can disturb), a run's rows, summary and stored
    arrays are bit for bit those of the same run with affinity off."""
    outputs = {}
    for every in (0, 1):
        sink = MemorySink()
        result = train(tiny_config(epochs=2, affinity_every=every, **changes), sink=sink)
        assert result.status == "completed", result.message
        outputs[every] = _outputs(result, sink)
        recorded = [m for _, t, _, m, _ in result.rows if t == "_affinity"]
        assert bool(recorded) == bool(every)
    assert outputs[0] == outputs[1]


def test_a_hard_sharing_run_stores_every_ordered_pair_each_trained_epoch(tmp_path):
    tasks = ["digit", "parity", "loops"]
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(tiny_config(aux=tasks[1:], epochs=2, optimizer="sgd"), store=store)
        frame = store.metrics(result.run_id)
    rows = frame[frame.task == "_affinity"]
    assert sorted(rows.epoch.unique()) == [1, 2]  # trained epochs only: none at epoch 0
    assert set(rows.split) == {"train"}
    assert len(rows) == 2 * len(tasks) ** 2
    matrix = mean_affinity(frame, tasks)
    assert list(matrix.index) == tasks and list(matrix.columns) == tasks
    # plain SGD, small steps: a task's own step lowers its own loss
    assert all(matrix.loc[t, t] > 0 for t in tasks)
    assert list(evolution(frame, tasks).index) == [1, 2]
    assert evolution(frame, tasks).shape[1] == len(tasks) * (len(tasks) - 1)


@pytest.mark.parametrize(
    "changes",
    [
        {},  # one task
        {"aux": ["parity"], "sharing": "soft"},
        {"aux": ["parity"], "sharing": "single"},
        {"aux": ["parity"], "shared_layers": 0},
        {"aux": ["parity"], "affinity_every": 0},
    ],
)
def test_runs_without_a_shared_trunk_or_with_affinity_off_record_none(changes):
    result = train(tiny_config(epochs=1, **changes))
    assert not [r for r in result.rows if r[1] == "_affinity"]


def test_every_n_steps_measures_the_first_step_of_each_epoch_and_every_nth(monkeypatch):
    """100 images in batches of 16: 7 steps per epoch; every 3 measures steps 0, 3 and 6."""
    assert len(step_sizes(100, 16)) == 7
    calls = []
    original = AffinityRecorder.measure

    def counting(self, index):
        calls.append({k: v.clone() for k, v in index.items()})
        return original(self, index)

    monkeypatch.setattr(AffinityRecorder, "measure", counting)
    train(tiny_config(aux=["parity"], epochs=2, affinity_every=3))
    assert len(calls) == 2 * 3


def _parse(*flags: str):
    import argparse

    parser = argparse.ArgumentParser()
    add_train_flags(parser)
    return config_from_args(parser.parse_args(list(flags)))


def test_no_affinity_flag_turns_it_off_and_affinity_every_sets_the_interval():
    assert _parse().affinity_every == 10
    assert _parse("--no-affinity").affinity_every == 0
    assert _parse("--affinity-every", "3").affinity_every == 3
    with pytest.raises(ConfigError, match="drop --affinity-every"):
        _parse("--no-affinity", "--affinity-every", "3")
    with pytest.raises(ConfigError, match="affinity_every: must be between 0 and 10,000"):
        _parse("--affinity-every", "-1")


def test_a_config_saved_before_affinity_existed_reads_it_as_on():
    from mtl_core.config import from_dict

    old = tiny_config(aux=["parity"]).to_dict()
    del old["affinity_every"]
    assert from_dict(old).affinity_every == 10


def test_the_caption_says_who_helps_and_who_hurts_each_main_task():
    import pandas as pd

    tasks = ["digit", "parity", "bbox", "loops"]
    matrix = pd.DataFrame(0.0, index=tasks, columns=tasks)
    matrix.loc["parity", "digit"] = 0.02
    matrix.loc["bbox", "digit"] = -0.01
    matrix.loc["loops", "digit"] = 0.00001
    [line] = affinity_sentences(matrix, ["digit"])
    assert line == (
        "parity's (Z = +0.02) steps lower digit's loss; bbox's (Z = -0.01) steps raise it; "
        "loops's steps leave it about unchanged."
    )
