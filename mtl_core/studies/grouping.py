"""Train a suggested grouping: TAG's networks against all-in-one and single-task, over seeds.

``affinity RUN --groups N`` (``analysis/affinity_groups.py``) suggests N groups of tasks,
each to be trained as its own hard-sharing network. Whether that beats one network for
every task is an experiment: this study trains, over the same seeds, three arms:

- **all in one**: the run's own config (every task in one hard-sharing network);
- **grouped**: one network per chosen group: the main tasks it serves are its main
  tasks, its other members (auxiliary tasks, and main tasks that only help there) are
  its auxiliary tasks, each at the weight and label budget it had (a main task keeps
  weight 1 and is never shuffled); a group of one task is that task's single-task run;
- **single task**: each main task alone (``studies.baselines.single_task_baselines``).

Each main task is measured by its test metric at its validation-selected epoch, in the
network that serves it; arms are paired by (seed, data_seed), so differences come with
paired t-intervals (``analysis/stats.py``). Completed identical stored runs are reused.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from mtl_core.analysis.affinity_groups import Network, Selection
from mtl_core.analysis.stats import PairedDifference, paired_difference
from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import Progress
from mtl_core.store.schema import Status
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.replicates import seed_configs
from mtl_core.written import counted

ALL_IN_ONE, GROUPED, SINGLE = "all in one", "grouped", "single task"
COLUMNS = ["arm", "network", "task", "seed", "data_seed", "run_id", "status", "test"]


def network_config(config: RunConfig, network: Network) -> RunConfig:
    """The hard-sharing run of one chosen group (see the module docstring)."""
    serves = [t for t in config.tasks if t in network.serves]
    helpers = [t for t in network.tasks if t not in serves]
    if len(network.tasks) == 1:
        (baseline,) = [c for c in single_task_baselines(config) if c.tasks == (serves[0],)]
        return baseline
    weights = {t: config.weight_of(t) for t in helpers}
    shuffles = {t: config.shuffle_of(t) for t in helpers}
    return config.replace(
        tasks=serves,
        aux=helpers,
        sharing="hard",
        task_sizes={t: n for t, n in config.task_sizes.items() if t in network.tasks},
        aux_weights={t: w for t, w in weights.items() if w != config.aux_weight},
        aux_shuffle={t: f for t, f in shuffles.items() if f != config.shuffle_aux},
    )


def keeps_the_run(config: RunConfig, selection: Selection) -> bool:
    """Whether the grouping is the run's own setup: one network of every task the run
    trains. Compared with all-in-one it is the same runs twice (the page said "grouped
    0.971, all in one 0.971" from one run), so there is nothing to train."""
    return len(selection.networks) == 1 and set(selection.networks[0].tasks) == set(
        config.all_tasks
    )


def plan(config: RunConfig, selection: Selection, k: int, vary_data: bool) -> list[tuple]:
    """(arm, network label, config) of every run, seed by seed."""
    if config.sharing != "hard" or len(config.all_tasks) < 2:
        raise ConfigError("sharing", "a grouping is compared with a hard-sharing run of 2+ tasks")
    arms = [(ALL_IN_ONE, " + ".join(config.all_tasks), config)]
    arms += [(GROUPED, " + ".join(n.tasks), network_config(config, n)) for n in selection.networks]
    arms += [(SINGLE, c.tasks[0], c) for c in single_task_baselines(config)]
    return [(arm, label, c) for arm, label, base in arms for c in seed_configs(base, k, vary_data)]


@dataclass(frozen=True)
class GroupingStudy:
    runs: pd.DataFrame  # COLUMNS: one row per run and main task it serves
    results: list
    reused: list[int]

    def table(self) -> pd.DataFrame:
        """Mean test metric per main task (rows) and arm (columns), each column named with
        the number of seeds its means are over (``single task · 3 seeds``): while a
        comparison fills in, its arms stand on different numbers of finished seeds, and a
        mean of one seed read like a mean of three."""
        done = self.runs[self.runs.status == Status.COMPLETED]
        table = done.pivot_table(index="task", columns="arm", values="test", aggfunc="mean")
        seeds = done.drop_duplicates(["arm", "seed", "data_seed"]).arm.value_counts()
        arms = [a for a in (SINGLE, ALL_IN_ONE, GROUPED) if a in table.columns]
        named = {a: f"{a} · {counted(seeds[a], 'seed')}" for a in arms}
        return table[arms].rename(columns=named).rename_axis(columns=None)

    def difference(self, task: str, arm: str, other: str) -> PairedDifference | None:
        """``arm − other`` for ``task``, paired by (seed, data_seed); None under 2 pairs."""
        part = self.runs[(self.runs.task == task) & (self.runs.status == Status.COMPLETED)]
        by = {
            a: dict(zip(zip(p.seed, p.data_seed, strict=True), p.test, strict=True))
            for a, p in part.groupby("arm")
        }
        keys = sorted(set(by.get(arm, {})) & set(by.get(other, {})))
        if len(keys) < 2:
            return None
        return paired_difference([by[arm][key] for key in keys], [by[other][key] for key in keys])


def train_grouping(
    config: RunConfig,
    selection: Selection,
    k: int = 3,
    *,
    vary_data: bool = True,
    workers: int = 2,
    store_path: str | None = None,
    owner: str = "",
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> GroupingStudy:
    """Train (or reuse) every run of ``plan`` and tabulate each main task per arm."""
    jobs = plan(config, selection, k, vary_data)
    prefix = f"{name}: " if name else ""
    results, reused = train_or_reuse(
        [c for *_, c in jobs],
        [True] * len(jobs),
        workers=workers,
        store_path=store_path,
        names=[f"{prefix}{arm}: {label} (seed {c.seed})" for arm, label, c in jobs],
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    outcomes = [(r.run_id, r.status, r.summary) for r in results]
    return GroupingStudy(grouping_rows(jobs, outcomes), results, reused)


def grouping_rows(jobs: list[tuple], outcomes: list[tuple[int, str, dict]]) -> pd.DataFrame:
    """One row per run of ``plan`` and main task it serves, from each run's (id, status,
    summary): what ``train_grouping`` returns, and what the page reads from the store."""
    rows = []
    for (arm, label, c), (run_id, status, summary) in zip(jobs, outcomes, strict=True):
        for task in c.tasks:
            main = (summary or {}).get("main", {}).get(task, {})
            rows.append(
                {
                    "arm": arm,
                    "network": label,
                    "task": task,
                    "seed": c.seed,
                    "data_seed": c.data_seed,
                    "run_id": run_id,
                    "status": status,
                    "test": main.get("test_metric", math.nan),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
