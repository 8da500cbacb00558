"""Learning curves in scikit-learn's sense: score against the number of training images.

Multi-task learning is said to help most when labels are scarce. A learning curve
checks where: for each train size, the single-task baseline and the multi-task config
are trained over K seeds (which, by default, also draw other training images: a curve
over one fixed draw would mix the size with the luck of that draw). Each run gives its
best validation metric and its test metric at the validation-selected epoch; the table
holds mean ± sd per (size, arm), and both arms of a size are paired by seed.

A baseline run that is stored already, identical in every respect
(``mtl_core.execution.identity``), is reused rather than trained again (``LearningCurve.reused``);
the multi-task arm, the curve's subject, is always trained.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.config import RunConfig
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import Progress
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.comparison import Comparison, compare_arms
from mtl_core.studies.replicates import seed_configs, seed_name
from mtl_core.studies.tuned_baseline import best_val_metric
from mtl_core.training.results import RunResult

MAX_SIZES = 12
SINGLE = "single task"
SHARING_LABELS = {
    "hard": "hard sharing",
    "soft": "soft sharing",
    "cross-stitch": "cross-stitch",
    "single": "separate trunks",
}


def parse_sizes(text: str) -> list[int]:
    """``"100,300,1000"`` -> [100, 300, 1000] (sorted, without repeats)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise ConfigError(
            "sizes", f"expected comma-separated whole numbers such as 100,300,1000, got {text!r}"
        )
    sizes = sorted({int(p) for p in parts})
    if len(sizes) > MAX_SIZES:
        raise ConfigError("sizes", f"at most {MAX_SIZES} sizes, got {len(sizes)}")
    return sizes


def sized(config: RunConfig, size: int, task: str | None = None) -> RunConfig:
    """``config`` with ``size`` labelled training images for the main task; auxiliary
    tasks with a label budget of their own keep it. Invalid sizes name ``train_size``."""
    task = task or config.tasks[0]
    sizes = {name: n for name, n in config.task_sizes.items() if name != task}
    return config.replace(train_size=size, task_sizes=sizes)


def curve_arms(config: RunConfig, task: str | None = None) -> dict[str, RunConfig]:
    """The arms of the curve: the single-task baseline and the config itself (only the
    config when it is single-task already)."""
    task = task or config.tasks[0]
    baselines = single_task_baselines(config)
    if not baselines:
        return {SINGLE: config}
    label = SHARING_LABELS.get(config.sharing, config.sharing)
    return {SINGLE: baselines[config.tasks.index(task)], label: config}


def curve_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd and n of ``best_val`` and ``test`` per (size, arm), sizes ascending and
    arms in the order they first appear."""
    arms = list(dict.fromkeys(runs["arm"]))
    grouped = runs.groupby(["size", "arm"], sort=False)
    table = grouped.agg(
        n=("test", "count"),
        val_mean=("best_val", "mean"),
        val_sd=("best_val", "std"),
        test_mean=("test", "mean"),
        test_sd=("test", "std"),
    ).reset_index()
    table["order"] = table["arm"].map(arms.index)
    return table.sort_values(["size", "order"]).drop(columns="order").reset_index(drop=True)


@dataclass
class LearningCurve:
    """Every run of the curve (``runs``: one row each) and what they say (``table``)."""

    task: str
    metric: str
    runs: pd.DataFrame  # size, arm, seed, data_seed, run_id, status, best_val, test, reused
    configs: list[RunConfig]
    results: list[RunResult]
    reused: list[int] = field(default_factory=list)  # ids of stored baseline runs reused

    def table(self) -> pd.DataFrame:
        return curve_table(self.runs)

    def comparisons(self) -> dict[int, Comparison]:
        """Per size, the multi-task arm against single task, paired by seed (when there
        are two arms and at least two seeds)."""
        arms = list(dict.fromkeys(self.runs["arm"]))
        if len(arms) != 2 or self.runs.groupby(["size", "arm"]).size().min() < 2:
            return {}
        out = {}
        for size in sorted(set(self.runs["size"])):
            pick = {
                arm: [
                    (self.configs[i], self.results[i].summary)
                    for i in self.runs.index[self.runs["size"].eq(size) & self.runs["arm"].eq(arm)]
                ]
                for arm in arms
            }
            out[size] = compare_arms(
                pick[arms[1]], pick[arms[0]], task=self.task, label_a=arms[1], label_b=arms[0]
            )
        return out


def learning_curve(
    config: RunConfig,
    sizes: Sequence[int],
    k: int = 3,
    *,
    vary_data: bool = True,
    task: str | None = None,
    workers: int = 2,
    store_path: str | None = None,
    owner: str = "",
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> LearningCurve:
    """Train every (size, arm, seed) through ``parallel.run_configs`` and tabulate; a
    baseline run with a completed identical run in the store is reused instead."""
    if not sizes:
        raise ConfigError("sizes", "give at least one train size")
    task = task or config.tasks[0]
    jobs: list[tuple[int, str, RunConfig, bool]] = []
    for size in sizes:
        subject = sized(config, size, task)
        for arm, arm_config in curve_arms(subject, task).items():
            baseline = arm_config != subject
            jobs += [(size, arm, c, baseline) for c in seed_configs(arm_config, k, vary_data)]
    names = [
        seed_name(" ".join(filter(None, [name, f"{arm}, {size} images"])), c, vary_data)
        for size, arm, c, _ in jobs
    ]
    configs = [c for _, _, c, _ in jobs]
    results, reused = train_or_reuse(
        configs,
        [b for *_, b in jobs],
        workers=workers,
        store_path=store_path,
        names=names,
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    rows = []
    for (size, arm, c, _), result in zip(jobs, results, strict=True):
        main = result.summary.get("main", {}).get(task, {})
        rows.append(
            {
                "size": size,
                "arm": arm,
                "seed": c.seed,
                "data_seed": c.data_seed,
                "run_id": result.run_id,
                "status": result.status,
                "best_val": best_val_metric(result, task),
                "test": main.get("test_metric", float("nan")),
                "reused": result.run_id in reused,
            }
        )
    return LearningCurve(task, get_task(task).metric, pd.DataFrame(rows), configs, results, reused)
