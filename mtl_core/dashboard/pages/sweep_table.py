"""A sweep as a table: one row per run, read from the store incrementally.

Why apart from the view (pages/sweeps.py): everything here works on the store and its
rows alone, with no ``st.*``, so the incremental reads and the chart's points are
tested without a page (tests/test_sweeps_view.py). The cache holds what one session has
read: a sweep's runs are re-read only while some of them are live or their number
changed, and a finished run's best validation metric is read once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mtl_core.dashboard.groups import best_val_metrics
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.store.schema import Status

AVERAGED = "all (averaged)"
AXIS = "axis:"  # prefix of the axis columns of ``sweep_frame``, so "seed" can be an axis
LOG_SPAN = 10.0  # a positive numeric axis spanning this ratio or more is drawn on log x


# -- values and counts -----------------------------------------------------------------


def value_label(value: Any) -> str:
    """How an axis value reads: lists as "parity,magnitude" (empty: "none"), numbers short."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def config_value(config: dict, name: str) -> Any:
    """A run's value on an axis: its config's field (a dotted name reads a nested field)."""
    value: Any = config
    for part in name.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def axis_positions(values: list) -> dict[str, float] | None:
    """Label -> number for an axis whose values are all numbers; None for any other axis."""
    if not values or not all(_is_number(v) for v in values):
        return None
    return {value_label(v): float(v) for v in values}


def wants_log(positions: dict[str, float] | None) -> bool:
    """Log x for a positive numeric axis spanning ``LOG_SPAN``× or more (100 to 1,000)."""
    if not positions:
        return False
    low, high = min(positions.values()), max(positions.values())
    return low > 0 and high / low >= LOG_SPAN


def grid_size(spec: dict) -> int:
    """Runs in the sweep's grid: the product of the axes' lengths, times the seeds."""
    axes = spec.get("axes") or {}
    return math.prod(len(v) for v in axes.values()) * max(1, len(spec.get("seeds") or [0]))


def status_counts(runs: pd.DataFrame) -> dict[str, int]:
    """completed, running (paused counts as running), failed, queued; then any others."""
    status = runs.status.replace({Status.PAUSED: Status.RUNNING})
    counts = {
        s: int((status == s).sum())
        for s in (Status.COMPLETED, Status.RUNNING, Status.FAILED, Status.QUEUED)
    }
    for name, n in status.value_counts().items():
        counts.setdefault(str(name), int(n))
    return counts


def picker_label(name: str, sweep_id: int, runs: pd.DataFrame) -> str:
    """E.g. "aux-by-size (#3) · 18 runs: 6 completed, 2 running, 0 failed, 10 queued"."""
    counts = ", ".join(f"{n} {s}" for s, n in status_counts(runs).items())
    return f"{name} (#{sweep_id}) · {len(runs)} runs: {counts}"


# -- reading the store, incrementally --------------------------------------------------


@dataclass
class SweepCache:
    """What this session has read: runs per sweep, and final results per finished run."""

    runs: dict[int, tuple[int, pd.DataFrame]] = field(default_factory=dict)  # id -> (n, runs)
    results: dict[int, float] = field(default_factory=dict)  # run id -> best val metric


def sweep_runs(store: RunStore, sweeps: pd.DataFrame, cache: SweepCache) -> dict[int, pd.DataFrame]:
    """The runs of every sweep. A sweep's runs are re-read only when its number of runs
    changed or some of them were still queued or training at the last read."""
    out = {}
    for sweep_id, count in zip(sweeps.id, sweeps.runs, strict=True):
        held = cache.runs.get(int(sweep_id))
        if held is None or held[0] != int(count) or held[1].status.isin(LIVE).any():
            held = (int(count), store.runs(sweep=int(sweep_id)))
            cache.runs[int(sweep_id)] = held
        out[int(sweep_id)] = held[1]
    return out


def main_task(config: dict) -> str:
    return (config.get("tasks") or ["digit"])[0]


def has_result(summary: dict, task: str) -> bool:
    return task in summary.get("main", {})


def best_vals(store: RunStore, runs: pd.DataFrame, cache: SweepCache) -> dict[int, float]:
    """The best validation metric of each run that has a summary (a finished run's never
    changes, so it is read from the store once: only the newly finished runs' metrics)."""
    tasks = runs.config.map(main_task)
    done = runs[
        pd.Series(
            [has_result(s, t) for s, t in zip(runs.summary, tasks, strict=True)],
            index=runs.index,
            dtype=bool,
        )
    ]
    new = done[~done.id.isin(list(cache.results))]
    if len(new):
        metrics = store.metrics(list(new.id))
        for task in dict.fromkeys(new.config.map(main_task)):
            mine = new[new.config.map(main_task) == task]
            cache.results.update(best_val_metrics(metrics, mine, task))
    return {int(i): cache.results[int(i)] for i in done.id}


def sweep_frame(runs: pd.DataFrame, spec: dict, best: dict[int, float]) -> pd.DataFrame:
    """One row per run, ids ascending: run_id, ``axis:<name>`` (value labels), seed,
    data_seed, status, task, best_val and test (NaN until the run has a summary)."""
    rows = []
    for run in runs.sort_values("id").itertuples():
        task = main_task(run.config)
        test = run.summary.get("main", {}).get(task, {}).get("test_metric", math.nan)
        rows.append(
            {
                "run_id": int(run.id),
                **{
                    AXIS + name: value_label(config_value(run.config, name))
                    for name in spec["axes"]
                },
                "seed": run.config.get("seed", 0),
                "data_seed": run.config.get("data_seed", 0),
                "status": run.status,
                "task": task,
                "best_val": best.get(int(run.id), math.nan),
                "test": test,
            }
        )
    columns = [
        "run_id",
        *(AXIS + n for n in spec["axes"]),
        "seed",
        "data_seed",
        "status",
        "task",
        "best_val",
        "test",
    ]
    return pd.DataFrame(rows, columns=columns)


def axis_order(spec: dict, frame: pd.DataFrame, name: str) -> list[str]:
    """An axis's value labels in the sweep file's order (values only runs have: after)."""
    labels = [value_label(v) for v in spec["axes"][name]]
    extra = sorted(set(frame[AXIS + name]) - set(labels))
    return list(dict.fromkeys(labels + extra))


def chart_points(
    frame: pd.DataFrame, x: str, colour: str | None, held: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs at the held values, those of them with a result as x, colour, best_val,
    run_id, seed). Axes held at ``AVERAGED`` are not filtered: their runs are pooled."""
    chosen = frame
    for name, value in held.items():
        if value != AVERAGED:
            chosen = chosen[chosen[AXIS + name] == value]
    done = chosen[chosen.best_val.notna()]
    points = pd.DataFrame(
        {
            "x": done[AXIS + x],
            "colour": done[AXIS + colour] if colour else "all runs",
            "best_val": done.best_val,
            "run_id": done.run_id,
            "seed": done.seed,
        }
    )
    return chosen, points
