"""TAG's network selection: which tasks to train together, given a run's affinities.

Fifty et al. 2021 pick ``n`` networks (groups of tasks trained together by hard sharing)
from the mean inter-task affinities (``analysis/affinity.py``). Groups may overlap; a
task is scored by the best chosen group it belongs to, and its score in a group is the
mean affinity it *receives* from its group-mates, ``mean_{i in G, i != j} Z(i→j)`` (0 for
a task alone: no help and no harm). Only the main tasks need to be served; an auxiliary
task is trained only to help, so it joins a group only where that raises a main task's
score, and a group that serves no main task is never chosen.

The search is exhaustive (up to ``MAX_TASKS`` tasks): the best selection of ``n`` groups
equals the best split of the main tasks into at most ``n`` blocks, each block served by
its best group, the group among *all* subsets of the tasks that contains the block and
gives its main tasks the highest summed score. Every subset of the tasks is scored, and
every split of the main tasks into blocks is tried. Ties go to the smaller group, then
to the earlier tasks, so an auxiliary task that changes nothing stays out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from mtl_core.errors import MtlError

MAX_TASKS = 8  # 2^8 groups and the splits of 8 main tasks: well under a second


class GroupingError(MtlError):
    """A grouping that cannot be searched (too many tasks, a bad number of networks)."""


@dataclass(frozen=True)
class Network:
    """One chosen group: its tasks (in the run's order) and the main tasks it serves,
    each with the mean affinity it receives there."""

    tasks: tuple[str, ...]
    serves: dict[str, float]


@dataclass(frozen=True)
class Selection:
    networks: tuple[Network, ...]
    total: float  # the summed score of the main tasks

    def score_of(self, task: str) -> float:
        return max(n.serves[task] for n in self.networks if task in n.serves)


def received(
    affinity: Mapping[str, Mapping[str, float]], task: str, group: tuple[str, ...]
) -> float:
    """The mean affinity ``task`` receives from the rest of ``group`` (0 alone). A pair
    the run never measured (NaN) counts as 0."""
    mates = [s for s in group if s != task]
    if not mates:
        return 0.0
    values = [affinity[s][task] for s in mates]
    return sum(0.0 if math.isnan(v) else v for v in values) / len(mates)


def select_networks(
    affinity: Mapping[str, Mapping[str, float]],
    tasks: list[str],
    mains: list[str],
    networks: int,
) -> Selection:
    """The best ``networks`` groups (exhaustive; see the module docstring).
    ``affinity[source][target]`` is Z(source→target)."""
    if len(tasks) > MAX_TASKS:
        raise GroupingError(
            f"the grouping search is exhaustive up to {MAX_TASKS} tasks; this run has "
            f"{len(tasks)}: train with fewer auxiliary tasks"
        )
    if networks < 1:
        raise GroupingError(f"--groups must be 1 or more, got {networks}")
    mains = [t for t in tasks if t in mains]
    if not mains:
        raise GroupingError("no main task to serve among the run's tasks")
    networks = min(networks, len(mains))  # each main task uses one group: more never helps
    groups = [g for r in range(1, len(tasks) + 1) for g in itertools.combinations(tasks, r)]
    best: dict[frozenset, tuple[float, tuple[str, ...]]] = {}
    for size in range(1, len(mains) + 1):
        for block in itertools.combinations(mains, size):
            key = frozenset(block)
            score, chosen = -math.inf, ()
            for group in groups:  # ordered by size, then by the tasks' order: ties keep the first
                if key <= set(group):
                    value = sum(received(affinity, t, group) for t in block)
                    if value > score:
                        score, chosen = value, group
            best[key] = (score, chosen)
    split = _best_split(mains, best, networks)
    chosen = [
        Network(best[b][1], {t: received(affinity, t, best[b][1]) for t in mains if t in b})
        for b in split
    ]
    return Selection(tuple(chosen), sum(best[b][0] for b in split))


def _best_split(
    mains: list[str], best: dict[frozenset, tuple[float, tuple[str, ...]]], networks: int
) -> list[frozenset]:
    """The split of ``mains`` into at most ``networks`` blocks with the highest summed
    block score (every split is tried; the first best is kept)."""
    top: tuple[float, list[frozenset]] = (-math.inf, [])
    for blocks in _splits(mains, networks):
        total = sum(best[b][0] for b in blocks)
        if total > top[0] + 1e-12:
            top = (total, blocks)
    return top[1]


def _splits(items: list[str], most: int) -> list[list[frozenset]]:
    """Every split of ``items`` into at most ``most`` non-empty blocks (set partitions),
    fewer blocks first within each first block."""
    if not items:
        return [[]]
    first, rest = items[0], items[1:]
    out = []
    for size in range(len(rest), -1, -1):
        for others in itertools.combinations(rest, size):
            block = frozenset((first, *others))
            remaining = [t for t in rest if t not in others]
            if most > 1 or not remaining:
                out += [[block, *tail] for tail in _splits(remaining, most - 1)]
    return out
