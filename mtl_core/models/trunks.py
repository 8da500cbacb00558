"""Backbones and the multi-task network: trunk(s) plus one head per task.

Every random draw a model makes comes from its own generator: weights from
``(seed, "trunk", key)`` and ``(seed, "head", task)``, dropout masks from
``(seed, "dropout", key)``. So adding a task changes no other initial weight, soft
sharing with λ = 0 trains exactly like single-task, and runs in threads of one process
do not share torch's global random stream.

Hard sharing may stop after the first K layers (``shared_layers``, docs/methods.md): the
shared part is the first K layers of the trunk hard sharing builds (key ``shared``), and
task t's branch is the remaining layers of the trunk single-task builds for t (key ``t``,
weights and dropout masks from t's streams). So K = all is hard sharing and K = 0 is
single-task, bit for bit: each layer is always one of those two trunks' layers.
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


class MaxPieces(nn.Module):
    """Maxout's activation (Goodfellow, Warde-Farley, Mirza, Courville & Bengio 2013):
    unit i is the max of its ``pieces`` linear pieces, ``h_i = max_j z_ij``.

    The preceding ``nn.Linear`` computes every piece, ``width × pieces`` outputs with unit
    i's pieces side by side (columns i·P … i·P + P − 1).
    """

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (-1, self.pieces)).amax(-1)


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


def maxout_trunk(
    shape: tuple[int, int],
    width: int,
    depth: int,
    dropout: float,
    gen: torch.Generator,
    pieces: int = 2,
) -> nn.Sequential:
    """The mlp with maxout units (Goodfellow et al. 2013): each dense layer computes
    ``width × pieces`` linear pieces and keeps the max of each unit's ``pieces``.

    A maxout unit learns its own convex piecewise-linear activation (a ReLU is the max
    of a piece and a zero piece). Each block is ``[Linear, MaxPieces, SeededDropout]``,
    like the mlp's, so cross-stitch cuts it into the same blocks (``block_bounds``)
    and the weight-layer scheme of sharing depth counts the same layers.
    """
    layers: list[nn.Module] = [nn.Flatten()]
    size = shape[0] * shape[1]
    for _ in range(depth):
        layers += [nn.Linear(size, width * pieces), MaxPieces(pieces), SeededDropout(dropout, gen)]
        size = width
    return nn.Sequential(*layers)


BACKBONE_BUILDERS = {"mlp": mlp_trunk, "cnn": cnn_trunk, "maxout": maxout_trunk}


def make_trunk(
    backbone: str,
    shape: tuple[int, int],
    width: int,
    depth: int,
    dropout: float,
    gen: torch.Generator,
    pieces: int = 2,
) -> nn.Sequential:
    """The backbone's trunk; ``pieces`` goes to the backbones that take it (maxout)."""
    build = BACKBONE_BUILDERS[backbone]
    if backbone == "maxout":
        return build(shape, width, depth, dropout, gen, pieces=pieces)
    return build(shape, width, depth, dropout, gen)


def block_bounds(trunk: nn.Sequential) -> list[tuple[int, int]]:
    """(start, stop) of each block: one block per weight layer; layers before the first
    weight layer join the first block, layers after a block's activation stay with it.

    The blocks are the trunk's *layers* wherever layers are counted: cross-stitch mixes
    after each (``stitch.py``), sharing depth shares the first K of them.
    """
    starts = [i for i, layer in enumerate(trunk) if isinstance(layer, nn.Linear | nn.Conv2d)]
    starts[0] = 0
    return list(zip(starts, [*starts[1:], len(trunk)], strict=True))


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
    - ``task_parameters(task)``: the parameters only ``task``'s loss trains (its head
      here; a branched model adds the task's branch): they get their own task's gradient
      when an aggregator combines the shared ones.
    - ``task_trunks()``: the per-task trunks whose distance is recorded (``_model``
      ``trunk_distance`` rows) and which a soft penalty ties; none with one trunk.

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

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """The parameters only ``task``'s loss trains: its head."""
        return list(self.heads[task].parameters())

    def task_trunks(self) -> list[nn.Module]:
        """The trunks of the tasks, when there are several (see the class docstring)."""
        trunks = list(self.trunks.values())
        return trunks if len(trunks) > 1 else []

    def stitch_parameters(self) -> list[nn.Parameter]:
        """Parameters with an optimiser group of their own: none in a plain network."""
        return []

    def mixing(self) -> dict[str, float]:
        """Learned mixing coefficients, recorded as ``_stitch`` rows: none here."""
        return {}

    def named_features(self, x: torch.Tensor, trunk_key: str) -> dict[str, torch.Tensor]:
        """``features(x, trunk_key)`` under the name it is stored by: the trunk's key."""
        return {trunk_key: self.features(x, trunk_key)}


class BranchedNet(MultiTaskNet):
    """Hard sharing of the first ``shared_layers`` layers, then a branch per task.

    ``features(x, "shared")`` is the shared part's output, the *branch point*; each task's
    ``task_features`` runs its branch on it and its head reads the result. So the trainer
    treats the branch point as it treats a shared trunk's output: the gradient-conflict
    rows, GradNorm's last shared layer and the aggregators work on the shared part, and a
    branch trains like a head, by its own task's gradient (``task_parameters``).

    With ``shared_layers = 0`` nothing is shared: ``shared_trunk()`` is None and the
    stored features are each branch's output, as single-task stores each trunk's.
    """

    def __init__(
        self,
        shared: nn.Sequential,
        branches: dict[str, nn.Sequential],
        heads: dict[str, nn.Module],
        shared_layers: int,
    ) -> None:
        super().__init__({SHARED_KEY: shared}, heads, {task: SHARED_KEY for task in heads})
        self.branches = nn.ModuleDict(branches)
        self.shared_layers = shared_layers

    def task_features(self, feats: torch.Tensor, task: str) -> torch.Tensor:
        return self.branches[task](feats)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.branches[task].parameters(), *self.heads[task].parameters()]

    def task_trunks(self) -> list[nn.Module]:
        """The branches: their distance is recorded as the trunks' is."""
        branches = list(self.branches.values())
        return branches if len(branches) > 1 else []

    def shared_trunk(self) -> nn.Module | None:
        """The shared part, or None when no layer is shared."""
        return self.trunks[SHARED_KEY] if self.shared_layers > 0 else None

    def named_features(self, x: torch.Tensor, trunk_key: str) -> dict[str, torch.Tensor]:
        """The branch point (flattened: after a convolution it is a stack of feature
        maps), or with nothing shared each branch's output, stored by task."""
        feats = self.features(x, trunk_key)
        if self.shared_layers == 0:
            return {task: self.task_features(feats, task) for task in self.branches}
        return {trunk_key: feats.flatten(1)}


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
    pieces: int = 2,
    shared_layers: int = -1,
) -> MultiTaskNet:
    """One factory for every sharing mode: only ``trunk_of`` differs between them.

    With hard sharing (every task on ``shared``), ``0 <= shared_layers <`` the trunk's
    layer count gives a ``BranchedNet``; ``-1`` (the default) or the count shares all.
    """

    def trunk(key: str) -> nn.Sequential:
        gen = torch_generator(seed, "dropout", key)
        built = make_trunk(backbone, image_shape, width, depth, dropout, gen, pieces)
        return init_uniform_(built, torch_generator(seed, "trunk", key))

    trunks = {key: trunk(key) for key in dict.fromkeys(trunk_of.values())}
    heads = {
        task: init_uniform_(nn.Linear(width, size), torch_generator(seed, "head", task))
        for task, size in out_dims.items()
    }
    if set(trunks) != {SHARED_KEY} or shared_layers < 0:
        return MultiTaskNet(trunks, heads, trunk_of)
    bounds = block_bounds(trunks[SHARED_KEY])
    if shared_layers > len(bounds):
        raise ValueError(f"shared_layers {shared_layers} > the trunk's {len(bounds)} layers")
    if shared_layers == len(bounds):
        return MultiTaskNet(trunks, heads, trunk_of)
    cut = bounds[shared_layers][0]
    shared = nn.Sequential(*list(trunks[SHARED_KEY])[:cut])
    branches = {task: nn.Sequential(*list(trunk(task))[cut:]) for task in heads}
    return BranchedNet(shared, branches, heads, shared_layers)
