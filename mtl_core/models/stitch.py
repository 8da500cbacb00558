"""Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert, CVPR 2016): learned soft sharing.

Each task has its own column: exactly the trunk that ``build_model`` builds for that task
under single-task sharing (same builder, same weight and dropout generators), so the
state dict of the columns and heads is the single-task model's, plus the mixing weights.
A column is cut into blocks, one per weight layer (``trunks.block_bounds``): for the mlp each
``[Linear, ReLU, SeededDropout]`` (the leading ``Flatten`` joins the first), for maxout
each ``[Linear, MaxPieces, SeededDropout]``, for the cnn
each ``[Conv2d, MaxPool2d, ReLU]`` (the second with the ``Flatten``) and each dense block.

After every block, a cross-stitch unit mixes the columns' activations,
``x̃_i = Σ_j α_ij x_j``, with its own learned T×T matrix α (row: the column that
receives, column: the column it reads from). Misra et al. put units after the pooling
layers and the fully connected layers of AlexNet, but not after the task's output layer;
here the heads play that output layer, so there is a unit after the last trunk block too,
and each head reads its column's mixed features. α starts at ``init`` on the diagonal and
``(1 − init)/(T − 1)`` off it, so each row sums to one; the trainer gives α its own
learning rate (Misra et al. found the units need a much larger one than the network).

With α = I the mixing is exact (1·x_i plus exact zeros), the gradient a task's loss sends
to another column is exactly zero, and each column draws its dropout masks from its own
generator once per forward pass: a cross-stitch run with identity α frozen trains bit for
bit like single-task.
"""

from __future__ import annotations

import torch
from torch import nn

from mtl_core.models.trunks import MultiTaskNet, block_bounds, init_uniform_, make_trunk
from mtl_core.seeds import torch_generator

STITCH_KEY = "stitch"


def initial_alpha(tasks: int, init: float) -> torch.Tensor:
    """A T×T matrix: ``init`` on the diagonal, ``(1 − init)/(T − 1)`` off it."""
    alpha = torch.full((tasks, tasks), (1 - init) / (tasks - 1))
    return alpha.fill_diagonal_(init)


def mix(alpha: torch.Tensor, columns: list[torch.Tensor]) -> list[torch.Tensor]:
    """``x̃_i = Σ_j α_ij x_j`` for each column i.

    Each sum has one product per column; when α = I, every product but 1·x_i is an exact
    zero, so x̃_i equals x_i bit for bit in any summation order, and so does the gradient.
    """
    stacked = torch.stack(columns)
    shape = (len(columns),) + (1,) * (stacked.dim() - 1)
    return [(row.view(shape) * stacked).sum(0) for row in alpha]


class CrossStitchNet(MultiTaskNet):
    """One column per task, mixed after every block by a learned cross-stitch unit."""

    def __init__(
        self, trunks: dict[str, nn.Sequential], heads: dict[str, nn.Module], init: float
    ) -> None:
        super().__init__(trunks, heads, {task: STITCH_KEY for task in trunks})
        self.tasks = tuple(trunks)
        bounds = [block_bounds(trunk) for trunk in trunks.values()]
        if any(b != bounds[0] for b in bounds):
            raise ValueError("cross-stitch columns must have the same layers")
        self.bounds = bounds[0]
        self.stitch = nn.ParameterList(
            nn.Parameter(initial_alpha(len(self.tasks), init)) for _ in self.bounds
        )

    def features(self, x: torch.Tensor, trunk_key: str) -> dict[str, torch.Tensor]:
        """Every column on the same ``x``, mixed after each block: {task: features}."""
        if trunk_key != STITCH_KEY:
            raise KeyError(trunk_key)
        layers = [list(self.trunks[task]) for task in self.tasks]
        columns = [x] * len(self.tasks)
        for (start, stop), alpha in zip(self.bounds, self.stitch, strict=True):
            for i, column in enumerate(layers):
                for layer in column[start:stop]:
                    columns[i] = layer(columns[i])
            columns = mix(alpha, columns)
        return dict(zip(self.tasks, columns, strict=True))

    def task_features(self, feats: dict[str, torch.Tensor], task: str) -> torch.Tensor:
        return feats[task]

    def named_features(self, x: torch.Tensor, trunk_key: str) -> dict[str, torch.Tensor]:
        """One pass gives every column: stored by task."""
        return self.features(x, trunk_key)

    def stitch_parameters(self) -> list[nn.Parameter]:
        """The mixing matrices α, one per unit (the trainer's own optimiser group)."""
        return list(self.stitch)

    @torch.no_grad()
    def mixing(self) -> dict[str, float]:
        """Every coefficient, as ``alpha:{unit}:{to_task}:{from_task}`` (units from 1)."""
        out = {}
        for unit, alpha in enumerate(self.stitch, start=1):
            for to_task, row in zip(self.tasks, alpha.tolist(), strict=True):
                for from_task, value in zip(self.tasks, row, strict=True):
                    out[f"alpha:{unit}:{to_task}:{from_task}"] = value
        return out


def build_cross_stitch(
    *,
    backbone: str,
    image_shape: tuple[int, int],
    out_dims: dict[str, int],
    tasks: tuple[str, ...],
    width: int,
    depth: int,
    dropout: float,
    seed: int,
    init: float,
    pieces: int = 2,
) -> CrossStitchNet:
    """Columns and heads as ``build_model`` makes them for single-task, plus the units."""
    tasks = tuple(tasks)
    if len(tasks) < 2 or len(set(tasks)) != len(tasks):
        raise ValueError(f"cross-stitch needs two or more distinct tasks, got {list(tasks)}")
    if set(tasks) != set(out_dims):
        raise ValueError(f"tasks {list(tasks)} and out_dims {list(out_dims)} differ")
    if not 0 <= init <= 1:
        raise ValueError(f"init is a column's weight on itself, in [0, 1]; got {init!r}")
    trunks = {}
    for task in tasks:
        gen = torch_generator(seed, "dropout", task)
        trunk = make_trunk(backbone, image_shape, width, depth, dropout, gen, pieces)
        trunks[task] = init_uniform_(trunk, torch_generator(seed, "trunk", task))
    heads = {
        task: init_uniform_(nn.Linear(width, size), torch_generator(seed, "head", task))
        for task, size in out_dims.items()
    }
    return CrossStitchNet(trunks, heads, init)
