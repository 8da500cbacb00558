"""Model capabilities are declared, not probed: ``MultiTaskNet`` declares what the trainer
may ask of a model (shared trunk, stitch parameters, mixing, named features) with the
defaults of a plain network, cross-stitch overrides them, and the trainer asks through
them (a model that answers differently is trained differently)."""

from __future__ import annotations

import ast

import torch

from mtl_core.models.sharing import SHARING
from mtl_core.models.stitch import CrossStitchNet, build_cross_stitch
from mtl_core.models.trunks import MultiTaskNet, build_model
from mtl_core.paths import PROJECT_ROOT
from mtl_core.training.representation import trunk_features
from mtl_core.training.sink import MemorySink
from mtl_core.training.trainer import train

CAPABILITIES = ("shared_trunk", "stitch_parameters", "mixing", "named_features", "trunk_keys")
COMMON = dict(backbone="mlp", image_shape=(8, 8), width=4, depth=1, dropout=0.0, seed=0)


def plain(sharing: str, tasks=("a", "b")) -> MultiTaskNet:
    return build_model(
        **COMMON, out_dims={t: 2 for t in tasks}, trunk_of=SHARING[sharing].trunk_of(tasks)
    )


def stitched(tasks=("a", "b")) -> CrossStitchNet:
    return build_cross_stitch(**COMMON, out_dims={t: 2 for t in tasks}, tasks=tasks, init=0.9)


def test_the_base_class_declares_every_capability():
    for name in CAPABILITIES:
        assert name in vars(MultiTaskNet), name


def test_plain_networks_answer_with_the_defaults():
    hard, single = plain("hard"), plain("single")
    assert hard.shared_trunk() is hard.trunks["shared"]
    assert single.shared_trunk() is None and plain("soft").shared_trunk() is None
    x = torch.rand(3, 1, 8, 8)
    for net in (hard, single):
        assert net.stitch_parameters() == [] and net.mixing() == {}
        assert net.trunk_keys() == list(dict.fromkeys(net.trunk_of.values()))
        for key in net.trunk_keys():
            (name, feats), *rest = net.named_features(x, key).items()
            assert name == key and not rest and torch.equal(feats, net.features(x, key))
    assert hard.trunk_keys() == ["shared"] and single.trunk_keys() == ["a", "b"]


def test_cross_stitch_overrides_them():
    net = stitched(("a", "b", "c"))
    assert net.shared_trunk() is None
    assert net.stitch_parameters() == list(net.stitch) != []
    assert len(net.mixing()) == len(net.stitch) * 9
    x = torch.rand(3, 1, 8, 8)
    named = net.named_features(x, "stitch")
    assert list(named) == ["a", "b", "c"]
    assert set(trunk_features(net, x)) == {"a", "b", "c"}


def rows_of(sink: MemorySink, run_id: int):
    return sink.metrics(run_id)


def test_the_trainer_reads_the_shared_trunk_from_the_model(make_config, monkeypatch):
    """Hard sharing whose model declares no shared trunk: no gradient-conflict rows."""
    config = make_config(aux=["parity"], epochs=1)
    sink = MemorySink()
    with_trunk = rows_of(sink, train(config, sink=sink).run_id)
    assert (with_trunk.task == "_conflict").any()
    monkeypatch.setattr(MultiTaskNet, "shared_trunk", lambda self: None)
    without = rows_of(sink, train(config, sink=sink).run_id)
    assert not (without.task == "_conflict").any()


def test_the_trainer_records_what_mixing_declares(make_config, monkeypatch):
    monkeypatch.setattr(MultiTaskNet, "mixing", lambda self: {"alpha:probe": 0.25})
    sink = MemorySink()
    rows = rows_of(sink, train(make_config(epochs=1), sink=sink).run_id)
    stitch = rows[rows.task == "_stitch"]
    assert list(stitch.metric.unique()) == ["alpha:probe"] and (stitch.value == 0.25).all()
    assert sorted(stitch.epoch) == [0, 1]


def test_the_trainer_gives_stitch_parameters_their_own_group(make_config, monkeypatch):
    from mtl_core.training import loop as loop_module

    seen = {}
    real = loop_module._Loop.__init__

    def spy(self, *args, **kwargs):
        real(self, *args, **kwargs)
        seen["groups"] = self.optimizer.param_groups

    head_params = lambda self: list(self.heads.parameters())  # noqa: E731
    monkeypatch.setattr(MultiTaskNet, "stitch_parameters", head_params)
    monkeypatch.setattr(loop_module._Loop, "__init__", spy)
    config = make_config(epochs=1, lr=0.002, stitch_lr=5.0)
    train(config)
    groups = seen["groups"]
    assert len(groups) == 2
    assert groups[1]["lr"] == 0.01 and groups[1]["weight_decay"] == 0.0
    assert len(groups[1]["params"]) == 2  # the head's weight and bias


PROBES = ("hasattr", "getattr")


def test_no_module_probes_a_model_for_attributes():
    """No ``hasattr(model, ...)``/``getattr(self.model, ...)`` left in mtl_core."""
    found = []
    for path in sorted((PROJECT_ROOT / "mtl_core").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in PROBES
                and node.args
                and "model" in ast.unparse(node.args[0]).lower()
            ):
                found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    assert not found, found
