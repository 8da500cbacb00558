"""Replicates: one config over K seeds, and the band (mean ± sd per epoch) of its curves.

One run's curve mixes the effect of a setting with the luck of its seed. Repeating the
run with K seeds shows how much of a difference is luck. ``seed`` moves the initial
weights, dropout masks and batch order; ``data_seed`` moves the data itself (the
train/validation/test split and so which training images are drawn), so varying it too
asks the wider question "would this hold on other data of the same size?".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from mtl_core.config import DEFAULT, RunConfig
from mtl_core.errors import ConfigError

MAX_SEEDS = 10
SEED_FIELDS = ("seed", "data_seed")


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_SEEDS:
        raise ConfigError(
            "k", f"number of seeds must be a whole number from 1 to {MAX_SEEDS}, got {k!r}"
        )
    return k


def seed_configs(config: RunConfig, k: int, vary_data: bool = False) -> list[RunConfig]:
    """K copies of ``config`` with seed = config.seed + i and, with ``vary_data``,
    data_seed = config.data_seed + i; every other field is unchanged."""
    check_k(k)
    out = []
    for i in range(k):
        changes: dict[str, Any] = {"seed": config.seed + i}
        if vary_data:
            changes["data_seed"] = config.data_seed + i
        out.append(config.replace(**changes))
    return out


def band_key(config: RunConfig | Mapping[str, Any]) -> str:
    """Equal for runs whose configs differ only in ``seed`` and ``data_seed``.

    Stored configs written before a field existed get its default, so old and new runs of
    the same setup still group together.
    """
    data = config.to_dict() if isinstance(config, RunConfig) else dict(config)
    full = {**DEFAULT.to_dict(), **data}
    for name in SEED_FIELDS:
        full.pop(name, None)
    return json.dumps(full, sort_keys=True, default=list)


def group_runs(configs: Mapping[int, RunConfig | Mapping[str, Any]]) -> dict[str, list[int]]:
    """Run ids (from ``{run_id: config}``) grouped by ``band_key``, ids ascending."""
    groups: dict[str, list[int]] = {}
    for run_id in sorted(configs):
        groups.setdefault(band_key(configs[run_id]), []).append(run_id)
    return groups


def seed_band(
    metrics: pd.DataFrame, task: str, split: str, metric: str, run_ids: Iterable[int] | None = None
) -> pd.DataFrame:
    """Per epoch: mean, sample sd (ddof 1; NaN for a single run) and n of the runs' values.

    ``metrics`` is long-form, as ``RunStore.metrics`` returns it (run_id, epoch, task,
    split, metric, value). An epoch some runs did not reach (early stopping) has a
    smaller n.
    """
    rows = metrics[
        metrics["task"].eq(task) & metrics["split"].eq(split) & metrics["metric"].eq(metric)
    ]
    if run_ids is not None:
        rows = rows[rows["run_id"].isin(list(run_ids))]
    grouped = rows.groupby("epoch")["value"]
    band = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1), "n": grouped.count()})
    return band.reset_index().astype({"epoch": int, "n": int})


def seed_name(label: str, config: RunConfig, vary_data: bool = False) -> str:
    """A run name for the store and dashboard, e.g. "single task, seed 3, data seed 3"."""
    seeds = f"seed {config.seed}" + (f", data seed {config.data_seed}" if vary_data else "")
    return f"{label}, {seeds}" if label else seeds
