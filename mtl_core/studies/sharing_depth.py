"""Sharing depth: the best validation metric against K, the number of shared layers.

Hard sharing can stop after the first K layers of the trunk and branch per task from
there (``shared_layers``, docs/methods.md). How deep should the tasks share? The study
trains every K from 0 to all of the trunk's layers (``trunk_layers``: the dense layers,
and the cnn's two conv blocks), each over the same seeds, and reports per K and main
task the mean best validation metric with its 95% t-interval and the number of seeds.

K = 0 is the matched single-task baseline of each main task
(``studies.baselines.single_task_baselines``): at K = 0 nothing is shared, and under
fixed or equal loss weighting hard sharing then trains each main task bit for bit like
its baseline (tests/test_sharing_depth.py checks both; a weighting that moves the main
task's weight over training need not agree). The baseline is valid whatever the setup
combines (GradNorm and the aggregators need a shared layer), and a stored identical
baseline (a learning curve's, a comparison's) counts. K = all is trained as
``shared_layers = -1``, today's hard sharing, so the sidebar's hard-sharing runs are its
runs too. Every run is reused when a completed identical one is stored
(``mtl_core.execution.identity``): identical runs count once.

The best K is chosen by the mean best validation metric (the test set plays no part in
choosing, as for the epoch). Whether it differs from K = 0 is judged on the test metric at
each run's validation-selected epoch, the measure of Compare, the learning curve and the
lessons (``mtl_core.studies.comparison``), so two views never judge the same runs by two
measures. It is a paired question: the runs of two arms with the same (seed, data_seed)
saw the same data and batch order, so the interval is the paired t-interval of their
difference (``mtl_core.analysis.stats``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.analysis.stats import PairedDifference, paired_difference
from mtl_core.config import RunConfig
from mtl_core.data.tasks import Task, get_task
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import Progress
from mtl_core.models.counting import param_count, trunk_layers
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.replicates import seed_configs, seed_name
from mtl_core.studies.tuned_baseline import best_val_metric
from mtl_core.training.results import RunResult
from mtl_core.written import bound, counted

SINGLE = "single task"
ALL_SHARED = "all shared"
COLUMNS = ["k", "task", "seed", "data_seed", "run_id", "status", "best_val", "test"]
# Why a mode cannot be studied, one line each (the CLI and the page say it as it is).
NOT_STUDIED = {
    "single": "single sharing shares no layer (it is the study's K = 0); use hard sharing",
    "soft": "sharing depth applies to hard sharing only: soft sharing ties every layer of the "
    "task trunks (tying only the first K is not done); use hard sharing",
    "cross-stitch": "sharing depth applies to hard sharing only: cross-stitch mixes the task "
    "trunks after every layer (mixing only the first K is not done); use hard sharing",
}


def check_depth(config: RunConfig) -> int:
    """The largest K of ``config``'s trunk, or one ``ConfigError`` line saying why its
    sharing depth cannot be studied."""
    if len(config.all_tasks) < 2:
        raise ConfigError(
            "tasks",
            "a single task has nothing to share: add an auxiliary task (such as parity) "
            "or a second main task",
        )
    if config.sharing in NOT_STUDIED:
        raise ConfigError("sharing", NOT_STUDIED[config.sharing])
    return trunk_layers(config.backbone, config.depth)


def depth_label(k: int, max_k: int) -> str:
    """How K is named: "single task" at 0, "all shared" at the trunk's layer count."""
    return SINGLE if k == 0 else ALL_SHARED if k == max_k else f"{k} shared"


def depth_arms(config: RunConfig) -> dict[int, list[RunConfig]]:
    """K -> the configs of that arm (before seeds): the single-task baselines at 0, the
    config with ``shared_layers = K`` in between, and with -1 (all) at the top."""
    max_k = check_depth(config)
    arms: dict[int, list[RunConfig]] = {0: single_task_baselines(config)}
    for k in range(1, max_k + 1):
        arms[k] = [config.replace(shared_layers=-1 if k == max_k else k)]
    return arms


def depth_params(config: RunConfig) -> dict[tuple[int, str], int]:
    """(K, main task) -> trainable parameters of the runs that table row counts, from the
    arm's own config: at K = 0 the task's single-task baseline (its one network), above it
    the model with K shared layers (every task's branches and heads, auxiliary included).

    Not the hard-sharing model of K = 0 (every task's network together): that model trains
    the main task like its baseline, but the K = 0 row counts the baseline's runs."""
    return {
        (k, task): param_count(c)
        for k, arm in depth_arms(config).items()
        for c in arm
        for task in c.tasks
    }


def depth_jobs(config: RunConfig, k: int, vary_data: bool, name: str = "") -> list[tuple]:
    """(K, run name, config) of every run of the study, K ascending, seeds within."""
    max_k = check_depth(config)
    jobs = []
    for depth, arm in depth_arms(config).items():
        label = " ".join(filter(None, [name, f"{depth_label(depth, max_k)} (K = {depth})"]))
        for base in arm:
            jobs += [
                (depth, seed_name(label, c, vary_data), c) for c in seed_configs(base, k, vary_data)
            ]
    return jobs


def normalised(config: dict, max_k: int) -> dict:
    """A stored config with ``shared_layers = max_k`` written as -1: both share every layer
    and train bit for bit alike (tests/test_branching.py), so they are one arm."""
    if config.get("sharing", "hard") == "hard" and config.get("shared_layers", -1) == max_k:
        return {**config, "shared_layers": -1}
    return config


def mean_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and t-interval of ``values`` (NaN bounds for fewer than two): the interval of a
    mean is the paired interval of the values against zeros, computed in one place."""
    values = [float(v) for v in values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan, math.nan
    if len(values) == 1:
        return values[0], math.nan, math.nan
    d = paired_difference(values, [0.0] * len(values), level)
    return d.mean, d.low, d.high


def depth_table(runs: pd.DataFrame, params: dict[tuple[int, str], int]) -> pd.DataFrame:
    """Per (K, task): the parameters of its runs (``depth_params``), n seeds, mean best
    validation metric and its 95% t-interval (low, high), and the mean test metric; K
    ascending, tasks in order."""
    rows = []
    tasks = list(dict.fromkeys(runs["task"]))
    for (k, task), part in runs.groupby(["k", "task"], sort=False):
        values = [v for v in part["best_val"] if not math.isnan(v)]
        mean, low, high = mean_interval(values)
        rows.append(
            {
                "k": int(k),
                "task": task,
                "params": params[int(k), task],
                "n": len(values),
                "val_mean": mean,
                "val_low": low,
                "val_high": high,
                "test_mean": float(part["test"].mean()),
            }
        )
    table = pd.DataFrame(
        rows, columns=["k", "task", "params", "n", "val_mean", "val_low", "val_high", "test_mean"]
    )
    table["order"] = table["task"].map(tasks.index)
    return table.sort_values(["k", "order"]).drop(columns="order").reset_index(drop=True)


@dataclass(frozen=True)
class DepthVerdict:
    """The best K of a task (by validation), and the depth set against K = 0 in the test
    metric, paired by seed: the best K itself, or the best K > 0 when single task won."""

    task: str
    best_k: int
    best_mean: float  # mean best validation metric of best_k
    best_n: int
    shared_k: int  # the best K > 0: the best K itself unless single task won
    diff: PairedDifference | None  # test metric, shared_k − K = 0; None for < 2 pairs
    pairs: int
    depths: int = 2  # the Ks with a finished run: with one, no K can be called best
    single: bool = True  # K = 0 has a finished run

    def sentence(self, max_k: int) -> str:
        """What validation chose, then which two depths the test metric compares and how
        they differ, both named: "K = 0 was best; the best shared depth's test accuracy
        differs clearly" left the reader to guess which depth, and in which direction."""
        spec = get_task(self.task)
        best = f"K = {self.best_k} ({depth_label(self.best_k, max_k)})"
        score = (
            f"mean best validation {spec.metric} {self.best_mean:.3f} over "
            f"{counted(self.best_n, 'seed')}"
        )
        if self.depths < 2:  # it said "K = 2 was best" of the one K with a run
            return (
                f"{self.task}: only {best} has finished runs so far ({score}): no other "
                "depth to compare it with yet."
            )
        text = f"{self.task}: {best} was best on validation ({score})"
        shared = f"K = {self.shared_k}"
        if self.best_k == 0:
            text += (
                f"; of the shared depths, {shared} ({depth_label(self.shared_k, max_k)}) was best"
            )
        if not self.single:
            return text + (
                f". Single task (K = 0) has no finished run yet: nothing to set {shared} against."
            )
        if self.diff is None:
            seeds = counted(self.pairs, "paired seed")
            return text + (
                f". Test {spec.metric}, {shared} against single task (K = 0): {seeds} so far "
                "(the same seed and data seed in both), and a paired interval needs 2 or more."
            )
        return text + self._difference(spec, shared)

    def _difference(self, spec: Task, shared: str) -> str:
        """The paired difference, shared_k minus K = 0, and which of the two it favours."""
        scale, unit = (100.0, " points") if spec.is_classification else (1.0, spec.metric_unit)
        digits = 1 if scale >= 10 else 3
        d = self.diff
        low, high = (bound(x * scale, digits) for x in (d.low, d.high))
        text = (
            f". Test {spec.metric} at each run's validation-selected epoch, {shared} minus "
            f"single task (K = 0), paired by seed: {d.mean * scale:+.{digits}f}{unit}, 95% CI "
            f"{low} to {high}{unit} (paired t-interval over {d.n} seeds)"
        )
        if not d.excludes_zero:
            return text + (
                ": the interval includes 0, so these seeds show no clear difference between "
                f"{shared} and single task on test."
            )
        better = (d.mean > 0) == spec.higher_is_better
        text += (
            f": the interval excludes 0, so {shared} is clearly "
            f"{'better' if better else 'worse'} than single task on test"
        )
        if better and self.best_k == 0:
            return text + ", though validation ranked single task first."
        if not better and self.best_k > 0:
            return text + ", though validation ranked it first."
        return text + "."


def depth_verdict(runs: pd.DataFrame, task: str) -> DepthVerdict | None:
    """The best K of ``task`` by mean best validation metric, and the best K > 0 against
    K = 0 in the test metric over the (seed, data_seed) pairs both have; None without any
    finished value.

    K is chosen on validation, as the epoch and the tuned baseline's setting are, so the
    test set plays no part in the choice; the difference is judged on the test metric at
    each run's validation-selected epoch, as Compare, the learning curve and the lessons
    judge theirs (``studies.comparison``), so the views agree on the same runs."""
    mine = runs[(runs["task"] == task) & runs["best_val"].notna()]
    if mine.empty:
        return None
    higher = get_task(task).higher_is_better
    means = mine.groupby("k")["best_val"].mean()
    best_k = int(means.idxmax() if higher else means.idxmin())
    n = int((mine["k"] == best_k).sum())
    shared = means.drop(index=0, errors="ignore")
    if shared.empty or 0 not in means.index:
        return DepthVerdict(
            task, best_k, float(means[best_k]), n, best_k, None, 0, len(means), 0 in means.index
        )
    shared_k = best_k if best_k > 0 else int(shared.idxmax() if higher else shared.idxmin())
    tested = mine[mine["test"].notna()]

    def by_seed(k: int) -> dict:
        part = tested[tested["k"] == k]
        return dict(
            zip(zip(part["seed"], part["data_seed"], strict=True), part["test"], strict=True)
        )

    a, b = by_seed(shared_k), by_seed(0)
    keys = sorted(set(a) & set(b))
    diff = paired_difference([a[p] for p in keys], [b[p] for p in keys]) if len(keys) >= 2 else None
    return DepthVerdict(
        task, best_k, float(means[best_k]), n, shared_k, diff, len(keys), len(means)
    )


@dataclass
class SharingDepth:
    """Every run of the study (``runs``: one row per run and main task) and what they say."""

    tasks: tuple[str, ...]
    max_k: int
    params: dict[tuple[int, str], int]  # (K, main task): see depth_params
    runs: pd.DataFrame  # COLUMNS, plus reused
    configs: list[RunConfig]
    results: list[RunResult]
    reused: list[int] = field(default_factory=list)  # ids of stored identical runs reused

    def table(self) -> pd.DataFrame:
        return depth_table(self.runs, self.params)

    def verdicts(self) -> list[DepthVerdict]:
        found = [depth_verdict(self.runs, task) for task in self.tasks]
        return [v for v in found if v is not None]


def result_rows(k: int, config: RunConfig, result: RunResult) -> list[dict]:
    """One row per main task of the run: its best validation and test metric."""
    rows = []
    for task in config.tasks:
        main = result.summary.get("main", {}).get(task, {})
        rows.append(
            {
                "k": k,
                "task": task,
                "seed": config.seed,
                "data_seed": config.data_seed,
                "run_id": result.run_id,
                "status": result.status,
                "best_val": best_val_metric(result, task),
                "test": main.get("test_metric", math.nan),
            }
        )
    return rows


def sharing_depth(
    config: RunConfig,
    k: int = 3,
    *,
    vary_data: bool = True,
    workers: int = 2,
    store_path: str | None = None,
    owner: str = "",
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> SharingDepth:
    """Train every (K, seed) through ``parallel.run_configs`` (seeds in parallel on the
    worker slots) and tabulate; a completed identical stored run is reused instead."""
    max_k = check_depth(config)
    jobs = depth_jobs(config, k, vary_data, name)
    configs = [c for _, _, c in jobs]
    results, reused = train_or_reuse(
        configs,
        [True] * len(configs),
        workers=workers,
        store_path=store_path,
        names=[n for _, n, _ in jobs],
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    rows = []
    for (depth, _, c), result in zip(jobs, results, strict=True):
        rows += [
            {**row, "reused": result.run_id in reused} for row in result_rows(depth, c, result)
        ]
    return SharingDepth(
        config.tasks,
        max_k,
        depth_params(config),
        pd.DataFrame(rows, columns=[*COLUMNS, "reused"]),
        configs,
        results,
        reused,
    )
