"""The project's Adam and SGD (mtl_core/methods/optimizers.py) step bit for bit as
torch.optim's, and training with them never imports torch._dynamo (which torch.optim's
first step does: about 1 s of a worker's start)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from mtl_core.methods.optimizers import SGD, Adam
from mtl_core.paths import PROJECT_ROOT

CASES = {
    "adam": (Adam, torch.optim.Adam, {"lr": 0.01}),
    "adam, L2 decay": (Adam, torch.optim.Adam, {"lr": 0.003, "weight_decay": 1e-3}),
    "sgd": (SGD, torch.optim.SGD, {"lr": 0.05}),
    "sgd, momentum and L2 decay": (
        SGD,
        torch.optim.SGD,
        {"lr": 0.05, "momentum": 0.9, "weight_decay": 1e-3},
    ),
}


def _net() -> nn.Module:
    torch.manual_seed(3)
    return nn.ModuleDict(
        {
            "trunk": nn.Sequential(nn.Linear(6, 8), nn.ReLU()),
            "used": nn.Linear(8, 3),
            "unused": nn.Linear(8, 2),  # no gradient ever: no state, never moved
        }
    )


def _groups(net: nn.Module) -> list[dict]:
    """Two groups, the second with its own lr and no decay (as the trainer's stitch
    units and task weights have)."""
    return [
        {"params": list(net["trunk"].parameters()) + list(net["unused"].parameters())},
        {"params": list(net["used"].parameters()), "lr": 0.02, "weight_decay": 0.0},
    ]


@pytest.mark.parametrize("case", list(CASES))
def test_each_optimiser_steps_bit_for_bit_as_torchs(case):
    ours_class, torch_class, settings = CASES[case]
    nets = [_net(), _net()]
    ours = ours_class(_groups(nets[0]), **settings)
    theirs = torch_class(_groups(nets[1]), **settings)
    gen = torch.Generator().manual_seed(0)
    for step in range(25):
        x, y = torch.randn(16, 6, generator=gen), torch.randint(0, 3, (16,), generator=gen)
        for net, opt in zip(nets, (ours, theirs), strict=True):
            opt.zero_grad(set_to_none=step % 2 == 0)  # both of torch's ways
            loss = nn.functional.cross_entropy(net["used"](net["trunk"](x)), y)
            loss.backward()
            opt.step()
    for (name, a), b in zip(nets[0].named_parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b), f"{case}: {name} differs from torch's"
    for p, q in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        mine, torchs = ours.state.get(p, {}), dict(theirs.state.get(q, {}))
        assert mine.keys() == torchs.keys(), case
        for key, value in mine.items():
            assert value.dtype == torchs[key].dtype and torch.equal(value, torchs[key]), key
    assert [
        {k: v for k, v in g.items() if k in ours_class.defaults} for g in ours.param_groups
    ] == [{k: g[k] for k in ours_class.defaults} for g in theirs.param_groups]


def test_training_a_run_never_imports_torch_dynamo():
    """A whole run in a fresh process, with each optimiser and the task weighting that
    keeps an optimiser of its own (FAMO), leaves torch._dynamo unimported: so the
    workers' forkserver need not preload it (mtl_core/execution/forkserver.py)."""
    code = (
        "import sys\n"
        "from mtl_core.training.trainer import train\n"
        "from tests.conftest import tiny_config\n"
        "for changes in ({}, {'optimizer': 'sgd', 'momentum': 0.9},"
        " {'aux': ['parity'], 'weighting': 'famo'}):\n"
        "    assert train(tiny_config(epochs=2, **changes)).status == 'completed'\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == "False", "a run imported torch._dynamo"
