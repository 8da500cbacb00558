"""Named, independent random streams derived from one integer seed.

A run draws from several streams (data split, variant draws, weights of each trunk and
head, batch order of each label pool, dropout). Deriving each from ``(seed, name...)``
means adding a task never shifts another stream: a head's initial weights depend on the
seed and the task's name only.
"""

import hashlib

import numpy as np
import torch


def derive_seed(seed: int, *names: object) -> int:
    """A 63-bit seed that depends on ``seed`` and the names, and on nothing else."""
    text = repr((int(seed), *map(str, names))).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") >> 1


def torch_generator(seed: int, *names: object) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *names))


def numpy_rng(seed: int, *names: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *names))
