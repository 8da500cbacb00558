"""One row per stored run, for the CLI's ``list`` and the dashboard's history table.

A finished run's best validation loss comes from its summary; a run still training has
none yet, so it shows its best so far (``best_so_far``, from its stored epochs): a table
that left it empty hid the one number a teacher looks at while a class trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from mtl_core.store.schema import LIVE
from mtl_core.written import as_written

if TYPE_CHECKING:
    from mtl_core.store.runs import RunStore


def short_config(config: dict) -> str:
    """E.g. ``mnist-5k/plain · digit +parity,magnitude · hard · 200 imgs``: ``config_parts``."""
    return " · ".join(config_parts(config))


def config_parts(config: dict, trunk: bool = False, true_labels: bool = False) -> list[str]:
    """Dataset and variant, tasks, sharing and training images, then what sets a run
    apart that its numbers depend on and those four do not say: a trunk other than the
    default MLP (``maxout trunk``), shuffled auxiliary labels (``aux labels shuffled``,
    Caruana's control) and main-task weights other than 1 (``weights digit 0.25, parity
    0.75``: a Trade-off study's runs read alike in History without them). Without them the control's row in History read the same as the
    hard-sharing run it controls, and a maxout run the same as an MLP one. ``trunk`` and
    ``true_labels`` name the defaults too (``mlp trunk``, ``true aux labels``), for labels
    that set configs apart where some differ in them (dashboard/groups.py)."""
    tasks = ",".join(config.get("tasks", []))
    if config.get("aux"):
        tasks += " +" + ",".join(config["aux"])
    parts = [
        f"{config.get('dataset')}/{config.get('variant')}",
        tasks,
        str(config.get("sharing")),
        f"{config.get('train_size')} imgs",
    ]
    backbone = config.get("backbone") or "mlp"
    if trunk or backbone != "mlp":
        parts.append(f"{backbone} trunk")
    shuffled = shuffled_part(config)
    if shuffled or (true_labels and config.get("aux")):
        parts.append(shuffled or "true aux labels")
    weights = {t: w for t, w in (config.get("task_weights") or {}).items() if t in tasks_of(config)}
    if any(w != 1.0 for w in weights.values()):  # the Trade-off's runs differ in these alone
        parts.append("weights " + ", ".join(f"{t} {w:g}" for t, w in weights.items()))
    return parts


def tasks_of(config: dict) -> list[str]:
    return list(config.get("tasks", []))


def shuffled_part(config: dict) -> str:
    """How much of each auxiliary task's labels is shuffled, in words, or "" for none:
    ``aux labels shuffled`` (all of every one), ``aux labels 50% shuffled``, or per task
    ``parity labels shuffled, magnitude labels 50% shuffled``."""
    per_task = config.get("aux_shuffle") or {}
    fractions = {
        task: float(per_task.get(task, config.get("shuffle_aux") or 0.0))
        for task in config.get("aux", [])
    }
    if not any(fractions.values()):
        return ""

    def words(fraction: float) -> str:
        return "shuffled" if fraction == 1 else f"{fraction:.0%} shuffled"

    if len(set(fractions.values())) == 1:
        return f"aux labels {words(next(iter(fractions.values())))}"
    return ", ".join(f"{t} labels {words(f)}" for t, f in fractions.items() if f)


def best_so_far(runs: pd.DataFrame, losses: pd.DataFrame) -> dict[int, float]:
    """Run id -> the lowest validation loss of its first main task in ``losses`` (a
    ``RunStore.metrics(..., metric="loss")`` frame), for the runs of ``runs`` it has."""
    val = losses[losses.split == "val"]
    lowest = val.groupby(["run_id", "task"]).value.min()
    out = {}
    for run in runs.itertuples():
        main = (run.config.get("tasks") or [None])[0]
        if (run.id, main) in lowest.index:
            out[int(run.id)] = float(lowest[(run.id, main)])
    return out


def runs_table(store: RunStore, runs: pd.DataFrame) -> pd.DataFrame:
    """``runs_overview`` of ``runs`` (read from ``store``), with the best validation loss so
    far of those still queued, training or paused (their losses only are read)."""
    live = runs[runs.status.isin(LIVE)]
    if live.empty:
        return runs_overview(runs)
    return runs_overview(runs, best_so_far(live, store.metrics(live.id, metric="loss")))


def runs_overview(runs: pd.DataFrame, so_far: dict[int, float] | None = None) -> pd.DataFrame:
    """From ``RunStore.runs()``: id, name, status, the main task whose numbers follow (the
    first, when there are several), best val loss, test metric, time and config; a run without a summary shows its ``so_far`` best val loss (``best_so_far``).
    The results come before the two wide columns: after them, a page's table showed them
    only to a reader who scrolled it sideways (lesson runs' names are long)."""
    so_far = so_far or {}
    rows = []
    for run in runs.itertuples():
        main = run.summary.get("main", {})
        first = next(iter(main.values()), None)
        tasks = tasks_of(run.config)
        rows.append(
            {
                "id": run.id,
                "name": run.name,
                # whose numbers the next two columns are: a run of two main tasks showed
                # its first task's, unnamed
                "task": f"{tasks[0]} (first of {len(tasks)})" if len(tasks) > 1 else "".join(tasks),
                "created": pd.Timestamp(run.created, unit="s").strftime("%Y-%m-%d %H:%M"),
                "config": short_config(run.config),
                "status": run.status,
                "best val loss": round(first["best_val_loss"], 4)
                if first
                else _rounded(so_far.get(int(run.id))),
                "test metric": round(first["test_metric"], 4) if first else None,
            }
        )
    columns = ["id", "name", "status", "task", "best val loss", "test metric", "created", "config"]
    return pd.DataFrame(rows, columns=columns)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def model_and_training(config: dict) -> str:
    """What the folded Model and Training sections hold, in one line: "mlp trunk, width 32,
    depth 2 · 5 epochs, adam, lr 0.01, batch 32, seed 0". A link's ``epochs=5`` went into a
    folded section: a class opening the link could not see that its runs last 5 epochs."""
    model = [
        f"{config.get('backbone') or 'mlp'} trunk",
        f"width {config.get('width')}",
        f"depth {config.get('depth')}",
    ]
    if config.get("dropout"):
        model.append(f"dropout {as_written(config['dropout'])}")
    training = [
        f"{config.get('epochs')} epochs",
        str(config.get("optimizer")),
        f"lr {as_written(config.get('lr'))}",
        f"batch {config.get('batch_size')}",
    ]
    if config.get("weight_decay"):
        training.append(f"weight decay {as_written(config['weight_decay'])}")
    if config.get("early_stop"):
        training.append(f"early stopping after {config['early_stop']}")
    training.append(f"seed {config.get('seed')}")
    return f"{', '.join(model)} · {', '.join(training)}"
