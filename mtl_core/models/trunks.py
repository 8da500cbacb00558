"""Backbones and the multi-task network: trunk(s) plus one head per task.

Every random draw a model makes comes from its own generator: weights from
``(seed, "trunk", key)`` and ``(seed, "head", task)``, dropout masks from
``(seed, "dropout", key)``. So adding a task changes no other initial weight, soft
sharing with λ = 0 trains exactly like single-task, and runs in threads of one process
do not share torch's global random stream.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mtl_core.seeds import torch_generator


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from the module's own generator."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty(x.shape).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.to(x.device) / (1 - self.p)


def init_uniform_(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """PyTorch's default init, U(±1/√fan_in) for weights and biases, from one generator."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d):
            fan_in = layer.weight[0].numel()
            bound = 1 / math.sqrt(fan_in)
            with torch.no_grad():
                for param in (layer.weight, layer.bias):
                    param.copy_(torch.rand(param.shape, generator=generator) * 2 * bound - bound)
    return module


def mlp_trunk(
    shape: tuple[int, int], width: int, depth: int, dropout: float, gen: torch.Generator
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    size = shape[0] * shape[1]
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU(), SeededDropout(dropout, gen)]
        size = width
    return nn.Sequential(*layers)


def cnn_trunk(
    shape: tuple[int, int], width: int, depth: int, dropout: float, gen: torch.Generator
) -> nn.Sequential:
    """LeNet-style, as in the MultiMNIST papers: two conv blocks, then ``depth`` dense layers.

    Padded convolutions keep it valid on 8×8 digits as well as on 28×28 images.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(1, 10, 5, padding=2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Conv2d(10, 20, 5, padding=2),
        nn.MaxPool2d(2),
        nn.ReLU(),
        nn.Flatten(),
    ]
    size = 20 * (shape[0] // 4) * (shape[1] // 4)
    for _ in range(depth):
        layers += [nn.Linear(size, width), nn.ReLU(), SeededDropout(dropout, gen)]
        size = width
    return nn.Sequential(*layers)


BACKBONE_BUILDERS = {"mlp": mlp_trunk, "cnn": cnn_trunk}


SHARED_KEY = "shared"  # the trunk key of hard sharing (``sharing.SharingMode.trunk_of``)


class MultiTaskNet(nn.Module):
    """Trunks keyed by name (``shared``, or one per task) and one linear head per task.

    Besides ``features``/``head``/``forward``, a model declares what the trainer may do with
    it, here with the defaults of a plain network (a subclass overrides what it has):

    - ``shared_trunk()``: the trunk every task trains through (hard sharing), whose
      parameters carry the per-task gradients that the gradient-conflict rows, GradNorm and
      the aggregators work on; ``None`` when each task has a trunk of its own.
    - ``stitch_parameters()``: parameters that get an optimiser group of their own (no weight
      decay, ``stitch_lr`` times the learning rate); none here.
    - ``mixing()``: learned mixing coefficients recorded each epoch as ``_stitch`` rows;
      none here.
    - ``named_features(x, key)``: the features of one trunk pass, by the name they are
      stored under (the trunk's key here; a cross-stitch pass gives one per column).

    The trainer calls these and never probes a model for attributes.
    """

    def __init__(
        self, trunks: dict[str, nn.Module], heads: dict[str, nn.Module], trunk_of: dict[str, str]
    ) -> None:
        super().__init__()
        self.trunks = nn.ModuleDict(trunks)
        self.heads = nn.ModuleDict(heads)
        self.trunk_of = dict(trunk_of)

    def features(self, x: torch.Tensor, trunk_key: str) -> torch.Tensor:
        return self.trunks[trunk_key](x)

    def task_features(self, feats: torch.Tensor, task: str) -> torch.Tensor:
        """The part of ``features``' output that ``task``'s head reads (all of it here)."""
        return feats

    def head(self, task: str, feats: torch.Tensor) -> torch.Tensor:
        return self.heads[task](self.task_features(feats, task))

    def forward(self, x: torch.Tensor, task: str) -> torch.Tensor:
        return self.head(task, self.features(x, self.trunk_of[task]))

    def param_count(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def trunk_keys(self) -> list[str]:
        """Each trunk pass once, in the order of the tasks that use them."""
        return list(dict.fromkeys(self.trunk_of.values()))

    def shared_trunk(self) -> nn.Module | None:
        """The trunk every task trains through, or None (see the class docstring)."""
        if SHARED_KEY not in self.trunks:  # (nn.ModuleDict has no .get)
            return None
        return self.trunks[SHARED_KEY]

    def stitch_parameters(self) -> list[nn.Parameter]:
        """Parameters with an optimiser group of their own: none in a plain network."""
        return []

    def mixing(self) -> dict[str, float]:
        """Learned mixing coefficients, recorded as ``_stitch`` rows: none here."""
        return {}

    def named_features(self, x: torch.Tensor, trunk_key: str) -> dict[str, torch.Tensor]:
        """``features(x, trunk_key)`` under the name it is stored by: the trunk's key."""
        return {trunk_key: self.features(x, trunk_key)}


def build_model(
    *,
    backbone: str,
    image_shape: tuple[int, int],
    out_dims: dict[str, int],
    trunk_of: dict[str, str],
    width: int,
    depth: int,
    dropout: float,
    seed: int,
) -> MultiTaskNet:
    """One factory for every sharing mode: only ``trunk_of`` differs between them."""
    build = BACKBONE_BUILDERS[backbone]
    trunks = {}
    for key in dict.fromkeys(trunk_of.values()):
        trunk = build(image_shape, width, depth, dropout, torch_generator(seed, "dropout", key))
        trunks[key] = init_uniform_(trunk, torch_generator(seed, "trunk", key))
    heads = {
        task: init_uniform_(nn.Linear(width, size), torch_generator(seed, "head", task))
        for task, size in out_dims.items()
    }
    return MultiTaskNet(trunks, heads, trunk_of)
