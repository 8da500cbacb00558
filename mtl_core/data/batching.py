"""Per-task label pools and the batch order that makes MTL comparisons fair.

Every task draws its sub-batch from its own labelled pool, the first ``n_t`` images of
the nested training split. One epoch is one pass over the main tasks' pool; all pools
take sub-batches of the same sizes, each from its own stream. A stream depends only on
the seed and the pool size, so tasks with equal budgets see identical batches, and a
multi-task run takes the same optimiser steps on the same main-task sub-batches as its
single-task baseline.
"""

from __future__ import annotations

import math

import torch

from mtl_core.seeds import torch_generator


class BatchStream:
    """An endless sequence of indices into ``range(n)``: reshuffled after each full pass."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.generator = torch_generator(seed, "batches", n)
        self.perm = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def take(self, size: int) -> torch.Tensor:
        parts = []
        while size > 0:
            if self.pos >= len(self.perm):
                self.perm = torch.randperm(self.n, generator=self.generator)
                self.pos = 0
            chunk = self.perm[self.pos : self.pos + size]
            self.pos += len(chunk)
            size -= len(chunk)
            parts.append(chunk)
        return parts[0] if len(parts) == 1 else torch.cat(parts)


def step_sizes(pool: int, batch_size: int) -> list[int]:
    """Sub-batch sizes of one epoch: full batches and a last, smaller one."""
    steps = math.ceil(pool / batch_size)
    return [batch_size] * (steps - 1) + [pool - batch_size * (steps - 1)]
