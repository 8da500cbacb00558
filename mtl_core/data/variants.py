"""Image-level variants of a base dataset, drawn once per image from a seeded stream.

Drawn once, not per epoch: a per-epoch draw would be data augmentation and would hide
the overfitting the dashboard is there to show. Each variant returns new images and
its extra labels (the rotation angle; the two classes of a MultiMNIST image).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only where tensors are made: config checks need none
    import torch

from mtl_core.errors import ConfigError

MAX_ANGLE = 45.0  # degrees: within ±45°, a 6 never turns into a 9
NOISE_SD = 0.3

VariantFn = Callable[..., tuple]  # (images, labels, generator) -> (images, extra labels)


def plain(images, labels, gen):
    return images, {}


def rotated(images, labels, gen):
    """Rotate each image by its own angle in [-45°, 45°]; the angle (÷45) is a label."""
    import torch
    import torch.nn.functional as F

    angles = (torch.rand(len(images), generator=gen) * 2 - 1) * MAX_ANGLE
    theta = torch.deg2rad(angles)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(cos)
    affine = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(affine, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp(0, 1), {"angle": (angles / MAX_ANGLE).unsqueeze(1)}


def noisy(images, labels, gen):
    """Additive Gaussian pixel noise (sd 0.3), clipped to [0, 1]."""
    import torch

    noise = torch.randn(images.shape, generator=gen) * NOISE_SD
    return (images + noise).clamp(0, 1), {}


def multi(images, labels, gen):
    """MultiMNIST (Sener & Koltun 2018): overlay each image with a random partner.

    On a canvas 36/28 of the image side, the image sits top-left and its partner
    bottom-right, shifted by 6/28 of the side; the pixelwise max is resized back.
    """
    import torch
    import torch.nn.functional as F

    n, _, height, width = images.shape
    shift = max(1, round(height * 6 / 28))
    partner = torch.randint(0, n, (n,), generator=gen)
    side = [max(size + shift, round(size * 36 / 28)) for size in (height, width)]
    canvas = torch.zeros(n, 1, *side)  # 36×36 for 28×28 images, as in the recipe
    canvas[:, :, :height, :width] = images
    right = canvas[:, :, shift : shift + height, shift : shift + width]
    right.copy_(torch.maximum(right, images[partner]))
    out = F.interpolate(canvas, size=(height, width), mode="bilinear", antialias=True)
    return out.clamp(0, 1), {"left": labels.clone(), "right": labels[partner].clone()}


VARIANTS: dict[str, VariantFn] = {
    "plain": plain,
    "rotated": rotated,
    "noisy": noisy,
    "multi": multi,
}
VARIANT_HELP = {
    "plain": "the images as they are",
    "rotated": f"each image rotated by its own random angle within ±{MAX_ANGLE:.0f}°",
    "noisy": f"Gaussian pixel noise (sd {NOISE_SD}) added to each image",
    "multi": "two images overlaid, one shifted to the lower right (MultiMNIST)",
}


def apply_variant(
    name: str, images: torch.Tensor, labels: torch.Tensor, gen: torch.Generator
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    try:
        fn = VARIANTS[name]
    except KeyError:
        known = ", ".join(VARIANTS)
        raise ConfigError("variant", f"unknown variant {name!r}; known: {known}") from None
    return fn(images, labels, gen)
