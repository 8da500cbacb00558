"""Is it just regularisation? A single-task baseline with its regularisation tuned.

An auxiliary task often helps a small training set the way weight decay or dropout
would: by keeping the trunk from memorising. To tell "the tasks help" from "any
regulariser helps", the single-task baseline gets a fair chance: a small grid of
weight decay × dropout, each cell trained over the same K seeds, and the cell with the
best mean best-validation metric wins. The choice looks at validation only; the test
set is used once, to compare the chosen baseline (its K runs from the grid) with the
multi-task arm in ``mtl_core.studies.comparison``.

Every run of the grid is a baseline: one stored already, identical in every respect
(``mtl_core.execution.identity``), is reused rather than trained again (``TunedBaseline.reused``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from mtl_core.analysis.summary import best_value
from mtl_core.config import RunConfig
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError, MtlError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import Progress
from mtl_core.store.schema import Status
from mtl_core.studies.baselines import single_task_baselines
from mtl_core.studies.replicates import seed_configs, seed_name
from mtl_core.training.results import RunResult

DEFAULT_GRID: dict[str, tuple[float, ...]] = {
    "weight_decay": (0.0, 1e-4, 1e-3),
    "dropout": (0.0, 0.25, 0.5),
}


def baseline_config(config: RunConfig, task: str | None = None) -> RunConfig:
    """The matched single-task baseline of ``task`` (default: the first main task)."""
    task = task or config.tasks[0]
    if task not in config.tasks:
        raise ConfigError("tasks", f"{task!r} is not a main task of this config")
    baselines = single_task_baselines(config)
    if not baselines:
        raise ConfigError(
            "aux",
            "this config is already single-task: add an auxiliary task "
            "(e.g. --aux parity) to compare it with its baseline",
        )
    return baselines[config.tasks.index(task)]


def best_val_metric(result: RunResult, task: str) -> float:
    """The best validation metric of ``task`` over the run's epochs (NaN if none)."""
    spec = get_task(task)
    return best_value(result.curve(task, "val", spec.metric), spec.higher_is_better)


def grid_cells(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """Every combination, in grid order (the first values first)."""
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise ConfigError("grid", "give at least one value for every tuned field")
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def validation_table(
    cells: Sequence[dict[str, float]], values: Sequence[Sequence[float]]
) -> pd.DataFrame:
    """One row per cell: its fields, and the mean, sd and n of its runs' best validation
    metric. A cell with a failed run (NaN) gets a NaN mean and cannot be chosen."""
    rows = []
    for cell, vals in zip(cells, values, strict=True):
        series = pd.Series(list(vals), dtype=float)
        rows.append(
            {
                **cell,
                "val_mean": series.mean(skipna=False),
                "val_sd": series.std(ddof=1, skipna=False),
                "n": len(series),
            }
        )
    return pd.DataFrame(rows)


def select_cell(table: pd.DataFrame, higher_is_better: bool) -> dict[str, float]:
    """The cell with the best ``val_mean`` (ties: the earlier row, i.e. less tuning).

    The cell's fields are the columns before ``val_mean`` (as ``validation_table`` lays
    them out). Only those and ``val_mean`` are read: whatever else the table holds (a
    test column, say) cannot influence the choice.
    """
    fields = list(table.columns[: table.columns.get_loc("val_mean")])
    means = table["val_mean"].astype(float)
    if means.isna().all():
        raise MtlError("every cell of the grid has a failed run: nothing to choose from")
    best = means.max() if higher_is_better else means.min()
    row = table[means == best].iloc[0]
    return {name: float(row[name]) for name in fields}


@dataclass
class TunedBaseline:
    """The chosen cell, the grid's validation table, and the chosen cell's K runs."""

    task: str
    cell: dict[str, float]
    table: pd.DataFrame
    configs: list[RunConfig]
    results: list[RunResult]
    reused: list[int] = field(default_factory=list)  # ids of stored grid runs reused

    def arm(self) -> list[tuple[RunConfig, dict]]:
        """(config, summary) pairs, as ``comparison.compare_arms`` takes them."""
        return [(c, r.summary) for c, r in zip(self.configs, self.results, strict=True)]

    def cell_text(self) -> str:
        """E.g. "weight decay 0.0001, dropout 0.25"."""
        return ", ".join(f"{_short(k)} {v:g}" for k, v in self.cell.items())

    def label(self) -> str:
        return f"the tuned single-task baseline ({self.cell_text()})"


def _short(name: str) -> str:
    return {"weight_decay": "weight decay"}.get(name, name)


def tune_baseline(
    config: RunConfig,
    k: int = 5,
    *,
    vary_data: bool = False,
    grid: Mapping[str, Sequence[float]] | None = None,
    task: str | None = None,
    workers: int = 2,
    store_path: str | None = None,
    owner: str = "",
    name: str = "",
    progress: Callable[[Progress], None] | None = None,
    data_dir: str | None = None,
) -> TunedBaseline:
    """Train the single-task baseline of ``config`` over the grid × K seeds (the seeds of
    ``seed_configs(config, k, vary_data)``), reusing completed identical runs of the
    store, and choose the cell on validation."""
    base = baseline_config(config, task)
    task = base.tasks[0]
    cells = grid_cells(DEFAULT_GRID if grid is None else grid)
    seeded = seed_configs(base, k, vary_data)  # checks k
    configs = [[c.replace(**cell) for c in seeded] for cell in cells]
    flat = [c for row in configs for c in row]
    names = [
        seed_name(
            " ".join(filter(None, [name, "tuned single task", _cell_text(cell)])), c, vary_data
        )
        for cell, row in zip(cells, configs, strict=True)
        for c in row
    ]
    results, reused = train_or_reuse(
        flat,
        [True] * len(flat),
        workers=workers,
        store_path=store_path,
        names=names,
        owner=owner,
        progress=progress,
        data_dir=data_dir,
    )
    per_cell = [results[i * k : (i + 1) * k] for i in range(len(cells))]
    values = [
        [best_val_metric(r, task) if r.status != Status.FAILED else math.nan for r in row]
        for row in per_cell
    ]
    table = validation_table(cells, values)
    chosen = select_cell(table, get_task(task).higher_is_better)
    index = next(
        i for i, cell in enumerate(cells) if {n: float(v) for n, v in cell.items()} == chosen
    )
    return TunedBaseline(task, chosen, table, configs[index], per_cell[index], reused)


def _cell_text(cell: Mapping[str, float]) -> str:
    return " ".join(f"{'wd' if k == 'weight_decay' else k}={v:g}" for k, v in cell.items())
