"""The task registry: what each task predicts, from which samples, with which loss.

A task turns a prepared split (images, labels and the variant's extra labels) into a
target tensor. Main tasks are the labels a user cares about; auxiliary tasks come in the
four categories of the MTL literature (Ruder 2017, §"Auxiliary tasks"):

- statistical: a statistic of the input that is not a linear function of the pixels;
- selective unsupervised: a hidden part of the input (this task's input has it masked);
- supervised: a related label of no interest on its own;
- unsupervised: the whole input.

Any task may be used as main or auxiliary; the category says what it is for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only where tensors are made: config checks need none
    import torch

from mtl_core.errors import ConfigError

DIGIT_FAMILY = "digits"
FASHION_FAMILY = "fashion"
ALL_VARIANTS = frozenset({"plain", "rotated", "noisy", "multi"})
SINGLE_VARIANTS = frozenset({"plain", "rotated", "noisy"})

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
# Dress counts as a top: it covers the torso, and the four groups stay balanced enough.
FASHION_GROUPS = ("tops", "bottoms", "footwear", "bags")
FASHION_GROUP_OF = (0, 1, 0, 0, 0, 2, 0, 2, 3, 2)
# Closed loops in the usual handwritten shape of each digit (0, 4, 6, 9 have one; 8 two).
LOOPS_OF_DIGIT = (1, 0, 0, 0, 1, 0, 1, 0, 2, 1)
DIGIT_NAMES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Split:
    """One prepared split: images (N, 1, H, W) float32 in [0, 1], labels, extra labels."""

    images: torch.Tensor
    labels: torch.Tensor
    extras: dict[str, torch.Tensor]

    def __len__(self) -> int:
        return len(self.labels)


# The values each metric can take. A mean ± sd or a t-interval over a few seeds can reach
# past them (accuracy 0.97 ± 0.04); a figure draws it cut at the bound, and its hover keeps
# the numbers as computed.
# "loss" is every task's own loss (cross-entropy, squared or absolute error): never below 0.
METRIC_RANGE: dict[str, tuple[float, float]] = {
    "accuracy": (0.0, 1.0),
    "mae": (0.0, math.inf),
    "loss": (0.0, math.inf),
}


@dataclass(frozen=True)
class Task:
    """A named prediction problem: its head size, loss, metric and target."""

    name: str
    category: str  # main | statistical | selective | supervised | unsupervised
    description: str
    families: frozenset[str]
    variants: frozenset[str]
    make_target: Callable[[Split], torch.Tensor]
    class_names: tuple[str, ...] = ()  # empty for regression tasks
    out_size: Callable[[int, int], int] | None = None  # regression size from (H, W)
    metric: str = "accuracy"  # accuracy, or "mae" for regression (a key of METRIC_RANGE)
    metric_scale: float = 1.0  # regression: MAE is reported in target units × this
    metric_unit: str = ""
    masks_input: bool = False

    @property
    def is_classification(self) -> bool:
        return bool(self.class_names)

    @property
    def higher_is_better(self) -> bool:
        return self.is_classification

    def out_dim(self, height: int, width: int) -> int:
        if self.is_classification:
            return len(self.class_names)
        assert self.out_size is not None
        return self.out_size(height, width)

    def valid_on(self, family: str, variant: str) -> bool:
        return family in self.families and variant in self.variants

    def prepare_input(self, images: torch.Tensor) -> torch.Tensor:
        """The input this task sees: selective tasks hide the part they predict."""
        return masked_quadrant(images) if self.masks_input else images

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        import torch.nn.functional as F

        if self.is_classification:
            return F.cross_entropy(output, target)
        return F.mse_loss(output, target)

    def loss_sum_and_metric_sum(
        self, output: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sums over the batch, so that evaluation in chunks averages exactly."""
        import torch.nn.functional as F

        if self.is_classification:
            loss = F.cross_entropy(output, target, reduction="sum")
            return loss, (output.argmax(1) == target).sum().to(loss.dtype)
        per_sample = F.mse_loss(output, target, reduction="none").mean(1)
        mae = (output - target).abs().mean(1) * self.metric_scale
        return per_sample.sum(), mae.sum()


def quadrant_slices(height: int, width: int) -> tuple[slice, slice]:
    """The bottom-right quadrant: the part the selective task hides and predicts."""
    return slice(height // 2, height), slice(width // 2, width)


def masked_quadrant(images: torch.Tensor) -> torch.Tensor:
    rows, cols = quadrant_slices(images.shape[-2], images.shape[-1])
    out = images.clone()
    out[..., rows, cols] = 0.0
    return out


def _quadrant_target(split: Split) -> torch.Tensor:
    rows, cols = quadrant_slices(split.images.shape[-2], split.images.shape[-1])
    return split.images[:, 0, rows, cols].reshape(len(split), -1).contiguous()


def _quadrant_size(height: int, width: int) -> int:
    rows, cols = quadrant_slices(height, width)
    return (rows.stop - rows.start) * (cols.stop - cols.start)


def _bbox_target(split: Split) -> torch.Tensor:
    """Height and width of the ink's bounding box, as fractions of the image side.

    A max over pixels above a threshold: no linear read-out of the pixels computes it.
    """
    import torch

    ink = split.images[:, 0] > 0.3
    height, width = ink.shape[1], ink.shape[2]
    rows, cols = ink.any(2), ink.any(1)

    def extent(mask: torch.Tensor, size: int) -> torch.Tensor:
        idx = torch.arange(size).expand_as(mask)
        first = torch.where(mask, idx, size).min(1).values
        last = torch.where(mask, idx, -1).max(1).values
        return (last - first + 1).clamp(min=0).float() / size

    return torch.stack([extent(rows, height), extent(cols, width)], 1)


def _from_labels(table: tuple[int, ...]) -> Callable[[Split], torch.Tensor]:
    def target(split: Split) -> torch.Tensor:
        import torch

        return torch.tensor(table)[split.labels]

    return target


def _extra(key: str) -> Callable[[Split], torch.Tensor]:
    return lambda split: split.extras[key]


_BOTH = frozenset({DIGIT_FAMILY, FASHION_FAMILY})
_DIGITS = frozenset({DIGIT_FAMILY})
_FASHION = frozenset({FASHION_FAMILY})

TASKS: dict[str, Task] = {
    t.name: t
    for t in [
        Task(
            "digit",
            "main",
            "which digit, 0-9",
            _DIGITS,
            SINGLE_VARIANTS,
            lambda s: s.labels,
            DIGIT_NAMES,
        ),
        Task(
            "class",
            "main",
            "which of the 10 Fashion-MNIST classes",
            _FASHION,
            SINGLE_VARIANTS,
            lambda s: s.labels,
            FASHION_CLASSES,
        ),
        Task(
            "parity",
            "supervised",
            "is the digit odd",
            _DIGITS,
            SINGLE_VARIANTS,
            _from_labels(tuple(d % 2 for d in range(10))),
            ("even", "odd"),
        ),
        Task(
            "magnitude",
            "supervised",
            "is the digit 5 or more",
            _DIGITS,
            SINGLE_VARIANTS,
            _from_labels(tuple(int(d >= 5) for d in range(10))),
            ("0-4", "5-9"),
        ),
        Task(
            "loops",
            "supervised",
            "closed loops in the digit's shape (0, 1 or 2)",
            _DIGITS,
            SINGLE_VARIANTS,
            _from_labels(LOOPS_OF_DIGIT),
            ("0", "1", "2"),
        ),
        Task(
            "group",
            "supervised",
            "tops / bottoms / footwear / bags",
            _FASHION,
            SINGLE_VARIANTS,
            _from_labels(FASHION_GROUP_OF),
            FASHION_GROUPS,
        ),
        Task(
            "left",
            "main",
            "the class of the upper-left image (multi variant)",
            _BOTH,
            frozenset({"multi"}),
            _extra("left"),
            DIGIT_NAMES,
        ),
        Task(
            "right",
            "main",
            "the class of the lower-right image (multi variant)",
            _BOTH,
            frozenset({"multi"}),
            _extra("right"),
            DIGIT_NAMES,
        ),
        Task(
            "angle",
            "supervised",
            "the rotation angle, regressed (rotated variant)",
            _BOTH,
            frozenset({"rotated"}),
            _extra("angle"),
            out_size=lambda h, w: 1,
            metric="mae",
            metric_scale=45.0,
            metric_unit="°",
        ),
        Task(
            "bbox",
            "statistical",
            "height and width of the ink's bounding box",
            _BOTH,
            ALL_VARIANTS,
            _bbox_target,
            out_size=lambda h, w: 2,
            metric="mae",
        ),
        Task(
            "quadrant",
            "selective",
            "the hidden bottom-right quadrant, from the rest",
            _BOTH,
            ALL_VARIANTS,
            _quadrant_target,
            out_size=_quadrant_size,
            metric="mae",
            masks_input=True,
        ),
        Task(
            "recon",
            "unsupervised",
            "reconstruct the whole image",
            _BOTH,
            ALL_VARIANTS,
            lambda s: s.images.reshape(len(s), -1),
            out_size=lambda h, w: h * w,
            metric="mae",
        ),
    ]
}


def class_names_for(task: Task, family: str) -> tuple[str, ...]:
    """left/right name Fashion classes on MultiFashion and digits on MultiMNIST."""
    if task.name in ("left", "right") and family == FASHION_FAMILY:
        return FASHION_CLASSES
    return task.class_names


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError("tasks", f"unknown task {name!r}; known: {', '.join(TASKS)}") from None


def valid_tasks(family: str, variant: str) -> list[str]:
    return [name for name, task in TASKS.items() if task.valid_on(family, variant)]
