"""The trade-off between two main tasks: a Pareto front by linear scalarisation.

Two main tasks sharing a network compete for it. Weighting their losses w and 1 − w
(``task_weights``, fixed weighting) and sweeping w traces how much of one task's score
is given up for the other's. The study trains, over the same seeds:

- one arm per ratio, w = 1/(n+1), ..., n/(n+1) (n = 9 by default: w = 0.1, ..., 0.9),
  with weights (w, 1 − w). The ends w = 0 and w = 1 are left out: a task weighing 0 is
  not trained at all (its head keeps its initial weights), so its score says nothing;
- the two single-task runs (``studies.baselines.single_task_baselines``), the score each
  task reaches alone, drawn as reference lines (a single-task run has no score for the
  other task, so it is no point of the plane);
- optionally one arm per gradient aggregator (MGDA and the torchjd aggregators of
  ``methods/catalog.py``), at equal weights: the methods that claim better trade-offs,
  placed on the same plane.

**One checkpoint per run.** A run's point is one epoch of it: the epoch with the lowest
summed validation loss of the two tasks (unweighted, so every arm is chosen by the same
rule; the first such epoch on ties), and both tasks' validation metrics are read at that
epoch. Two tasks' best epochs are never mixed: such a point is no network that existed.
An arm's point is the mean over seeds of its runs' points, with the half-width of the
95% t-interval of each coordinate (``sharing_depth.mean_interval``).

**Dominance.** A point is dominated if another point is at least as good on both metrics
and better on one, in each task's direction (accuracy: higher is better; error: lower).
It is decided on the means, among the arms that have both coordinates (ratios and
methods), so a dominated mark says "on average over these seeds", not "clearly".

Runs go through ``execution.identity.train_or_reuse`` (``parallel.run_configs`` on the
worker slots), reusing completed identical stored runs, as the other studies do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.config import RunConfig
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import Progress
from mtl_core.methods import catalog
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.replicates import seed_configs, seed_name
from mtl_core.studies.sharing_depth import mean_interval
from mtl_core.training.results import RunResult

DEFAULT_RATIOS = 9
MAX_RATIOS = 99
RATIO, SINGLE, METHOD = "ratio", "single task", "method"
METHODS = tuple(m for m in catalog.AGGREGATORS if m != "none")  # placeable on the plot
RUN_COLUMNS = ["arm", "kind", "w", "seed", "data_seed", "run_id", "status", "epoch", "m1", "m2"]
TABLE_COLUMNS = [
    "arm",
    "kind",
    "w",
    "n",
    "m1_mean",
    "m1_half",
    "m2_mean",
    "m2_half",
    "dominated",
]


def check_pareto(config: RunConfig) -> tuple[str, str]:
    """The two main tasks of ``config``, or one ``ConfigError`` line saying why its
    trade-off cannot be studied."""
    if len(config.tasks) != 2:
        raise ConfigError(
            "tasks",
            f"the trade-off is between two main tasks, got {len(config.tasks)} "
            f"({', '.join(config.tasks)}): name two, e.g. --tasks digit,parity "
            "(left,right on the multi variant)",
        )
    if config.sharing == "single":
        raise ConfigError(
            "sharing",
            "single sharing trains each task alone, so no weight trades one for the other: "
            "use hard, soft or cross-stitch sharing",
        )
    if config.weighting != "fixed" or config.aggregator != "none":
        raise ConfigError(
            "weighting" if config.weighting != "fixed" else "aggregator",
            "the study sweeps fixed task weights: use weighting=fixed and aggregator=none "
            "(place aggregators on the plot with --methods)",
        )
    return config.tasks[0], config.tasks[1]


def check_ratios(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_RATIOS:
        raise ConfigError(
            "ratios",
            f"the number of ratios must be a whole number from 1 to {MAX_RATIOS}, got {n!r}",
        )
    return n


def check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    methods = tuple(dict.fromkeys(m.strip() for m in methods if m.strip()))
    for m in methods:
        if m not in METHODS:
            raise ConfigError("methods", f"unknown aggregator {m!r}; allowed: {', '.join(METHODS)}")
    return methods


def ratio_weights(n: int = DEFAULT_RATIOS) -> list[float]:
    """The task-1 weights w of the sweep: 1/(n+1), ..., n/(n+1); task 2 weighs 1 − w."""
    check_ratios(n)
    return [round(i / (n + 1), 6) for i in range(1, n + 1)]


def pareto_arms(
    config: RunConfig, ratios: int = DEFAULT_RATIOS, methods: Sequence[str] = ()
) -> list[tuple[str, str, float, RunConfig]]:
    """(arm label, kind, task-1 weight, config before seeds) of every arm: the ratios, the
    two single tasks, then the methods (weight NaN where none is swept)."""
    t1, t2 = check_pareto(config)
    base = config.replace(task_weights={})
    arms = []
    for w in ratio_weights(ratios):
        weights = {t1: w, t2: round(1 - w, 6)}
        arms.append((f"w = {w:.3g}", RATIO, w, base.replace(task_weights=weights)))
    for single in single_task_baselines(base):
        arms.append((f"{single.tasks[0]} alone", SINGLE, math.nan, single))
    for m in check_methods(methods):
        arms.append((m, METHOD, math.nan, base.replace(aggregator=m)))
    return arms


def pareto_jobs(
    config: RunConfig,
    k: int,
    ratios: int = DEFAULT_RATIOS,
    methods: Sequence[str] = (),
    vary_data: bool = True,
    name: str = "",
) -> list[tuple[str, str, float, str, RunConfig]]:
    """(arm, kind, w, run name, config) of every run of the study, arms in order, seeds
    within."""
    jobs = []
    for arm, kind, w, base in pareto_arms(config, ratios, methods):
        label = " ".join(filter(None, [name, f"pareto {arm}"]))
        for c in seed_configs(base, k, vary_data):
            jobs.append((arm, kind, w, seed_name(label, c, vary_data), c))
    return jobs


def checkpoint(
    rows: Iterable[tuple[int, str, str, str, float]], tasks: Sequence[str]
) -> tuple[int, dict[str, float]]:
    """The one epoch of a run that is its point, and each of ``tasks``' validation metric
    there: the epoch of the lowest summed validation loss over ``tasks`` (among the
    epochs where every one of them has a finite loss; the first on ties). ``rows`` are
    (epoch, task, split, metric, value) as a result or the store holds them. (-1, NaN
    metrics) when no epoch qualifies."""
    wanted = {t: get_task(t).metric for t in tasks}
    loss: dict[int, dict[str, float]] = {}
    score: dict[int, dict[str, float]] = {}
    for epoch, task, split, metric, value in rows:
        if task not in wanted or split != "val" or value is None:
            continue
        if metric == "loss":
            loss.setdefault(int(epoch), {})[task] = float(value)
        if metric == wanted[task]:
            score.setdefault(int(epoch), {})[task] = float(value)
    sums = {
        e: sum(v.values())
        for e, v in loss.items()
        if len(v) == len(wanted) and all(math.isfinite(x) for x in v.values())
    }
    if not sums:
        return -1, dict.fromkeys(tasks, math.nan)
    epoch = min(sums, key=lambda e: (sums[e], e))
    return epoch, {t: score.get(epoch, {}).get(t, math.nan) for t in tasks}


def dominated(points: Sequence[tuple[float, float]], higher: tuple[bool, bool]) -> list[bool]:
    """For each point, whether another point is at least as good on both coordinates and
    strictly better on one (``higher[i]``: is a larger coordinate i better). A point with
    a NaN coordinate is never dominated and dominates nothing."""
    signs = [1.0 if h else -1.0 for h in higher]
    oriented = [(p[0] * signs[0], p[1] * signs[1]) for p in points]  # larger is better
    ok = [not (math.isnan(a) or math.isnan(b)) for a, b in oriented]
    out = []
    for i, (a, b) in enumerate(oriented):
        beaten = ok[i] and any(
            ok[j] and j != i and c >= a and d >= b and (c > a or d > b)
            for j, (c, d) in enumerate(oriented)
        )
        out.append(beaten)
    return out


def run_row(
    arm: str, kind: str, w: float, config: RunConfig, result: RunResult, tasks: Sequence[str]
) -> dict:
    """One run's point: its checkpoint epoch and the two tasks' metrics there (a single-
    task run has only its own task's)."""
    present = [t for t in tasks if t in config.tasks]
    epoch, values = checkpoint(result.rows, present)
    return {
        "arm": arm,
        "kind": kind,
        "w": w,
        "seed": config.seed,
        "data_seed": config.data_seed,
        "run_id": result.run_id,
        "status": result.status,
        "epoch": epoch,
        "m1": values.get(tasks[0], math.nan),
        "m2": values.get(tasks[1], math.nan),
    }


def pareto_table(runs: pd.DataFrame, tasks: Sequence[str]) -> pd.DataFrame:
    """One row per arm, in the order of ``runs``: its weight, n finished seeds, each
    metric's mean and t-interval half-width, and whether its mean point is dominated."""
    rows = []
    for arm, part in runs.groupby("arm", sort=False):
        row = {"arm": arm, "kind": part["kind"].iloc[0], "w": float(part["w"].iloc[0])}
        finite = part[part["epoch"] >= 0]
        row["n"] = len(finite)
        for col in ("m1", "m2"):
            mean, low, high = mean_interval(list(finite[col]))
            row[f"{col}_mean"] = mean
            row[f"{col}_half"] = (high - low) / 2 if not math.isnan(low) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS[:-1])
    higher = (get_task(tasks[0]).higher_is_better, get_task(tasks[1]).higher_is_better)
    table["dominated"] = dominated(
        list(zip(table["m1_mean"], table["m2_mean"], strict=True)), higher
    )
    return table


@dataclass
class ParetoStudy:
    """Every run's point (``runs``: RUN_COLUMNS plus reused) and the table of arms."""

    tasks: tuple[str, str]
    runs: pd.DataFrame
    configs: list[RunConfig]
    results: list[RunResult]
    reused: list[int] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pareto_table(self.runs, self.tasks)


def pareto(
    config: RunConfig,
    k: int = 3,
    *,
    ratios: int = DEFAULT_RATIOS,
    methods: Sequence[str] = (),
    vary_data: bool = True,
    workers: int = 2,
    store_path: str | None = None,
    owner: str = "",
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> ParetoStudy:
    """Train every (arm, seed) through ``parallel.run_configs`` on the worker slots,
    reusing completed identical stored runs, and read each run's one checkpoint."""
    tasks = check_pareto(config)
    jobs = pareto_jobs(config, k, ratios, methods, vary_data, name)
    configs = [c for *_, c in jobs]
    results, reused = train_or_reuse(
        configs,
        [True] * len(configs),
        workers=workers,
        store_path=store_path,
        names=[n for _, _, _, n, _ in jobs],
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    rows = [
        {**run_row(arm, kind, w, c, r, tasks), "reused": r.run_id in reused}
        for (arm, kind, w, _, c), r in zip(jobs, results, strict=True)
    ]
    return ParetoStudy(
        tasks, pd.DataFrame(rows, columns=[*RUN_COLUMNS, "reused"]), configs, results, reused
    )
