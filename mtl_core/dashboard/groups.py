"""Runs that differ only in their seeds, taken together: bands, pairs, lookups.

Pure functions over the run store's frames (``RunStore.runs()`` and ``metrics()``), so the
Compare view, the learning curve and the tests share them. Grouping is
``mtl_core.studies.replicates.band_key``: two runs belong together when their configs differ
only in ``seed`` and ``data_seed``. Identical runs (``mtl_core.execution.identity``) count once in
a group and in a comparison.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

from mtl_core.analysis.overview import config_parts, short_config, shuffled_part
from mtl_core.analysis.summary import best_value
from mtl_core.config import from_dict
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.execution.identity import dedupe
from mtl_core.store.runs import LIVE
from mtl_core.store.schema import Status
from mtl_core.studies.comparison import Comparison, compare_arms
from mtl_core.studies.learning_curve import SHARING_LABELS
from mtl_core.studies.replicates import band_key

FINISHED = (Status.COMPLETED,)  # runs whose summary holds a test result at the selected epoch
SEED_SUFFIX = re.compile(r"[\s,·-]*seed \d+(, data seed \d+)?\s*$")


def config_key(config: dict) -> str:
    """Equal for identical configs (old stored configs get the new fields' defaults)."""
    return f"{band_key(config)}|{config.get('seed', 0)}|{config.get('data_seed', 0)}"


def seed_groups(runs: pd.DataFrame) -> list[list[int]]:
    """Run ids grouped by everything but the seeds, in the order of ``runs``; of identical
    completed runs only the oldest joins (the others are drawn on their own)."""
    groups: dict[str, list[int]] = {}
    runs = dedupe(runs)
    for run_id, config in zip(runs.id, runs.config, strict=True):
        groups.setdefault(band_key(config), []).append(int(run_id))
    return list(groups.values())


def is_single_task(config: dict) -> bool:
    return len(config.get("tasks", [])) + len(config.get("aux", [])) == 1


def group_name(runs: pd.DataFrame, ids: list[int]) -> str | None:
    """The runs' common name without its seed part; None when they share none that says
    something (no name, "run 12", or only a seed)."""
    names = [SEED_SUFFIX.sub("", str(n)) for n in runs.set_index("id").loc[ids, "name"]]
    if len(set(names)) == 1 and names[0] and not re.fullmatch(r"run \d+", names[0]):
        return names[0]
    return None


def group_label(runs: pd.DataFrame, ids: list[int]) -> str:
    """The runs' common name without its seed part, or their config in short."""
    return group_name(runs, ids) or short_config(runs.set_index("id").loc[ids[0], "config"])


# Fields short_config shows, and the seeds (what a group's runs differ in).
_SHOWN = {
    *("dataset", "variant", "tasks", "aux", "sharing", "train_size", "backbone"),
    *("shuffle_aux", "aux_shuffle", "task_weights", "seed", "data_seed"),
}


def _full(config: dict) -> dict:
    """The config with today's defaults filled in, so an old stored config does not seem
    to differ from a new one in a field it predates."""
    try:
        return from_dict(config).to_dict()
    except MtlError:
        return config


def _parts(config: dict, trunk: bool = False, true_labels: bool = False) -> list[str]:
    """``config_parts`` (the defaults named as asked), with "single task" for a run of
    one task (whose sharing field means nothing)."""
    parts = config_parts(config, trunk, true_labels)
    if is_single_task(config):
        parts[2] = "single task"
    return parts


def _per_task(config: dict, field: str, tasks: set[str]):
    """A field's value, a per-task one (``task_sizes``, ``aux_weights``, ...) only for
    ``tasks``: the entries of tasks some config does not train differ with its task list,
    which the label already shows."""
    value = config.get(field)
    if isinstance(value, dict):
        return {task: v for task, v in sorted(value.items()) if task in tasks}
    return value


def _field(name: str, value) -> str:
    """``lr=0.003``; a per-task field as ``task_sizes: parity 300, magnitude 1000``."""
    if isinstance(value, dict):
        return f"{name}: " + (", ".join(f"{t} {v}" for t, v in value.items()) or "none")
    return f"{name}={value}"


def config_labels(configs: list[dict]) -> list[str]:
    """What sets each config apart from the others, in short: the parts of
    ``short_config`` they do not all share, then every other field that differs
    (``lr=0.003``). E.g. "digit +parity · hard · lr=0.003" beside "digit · single task"."""
    full = [_full(c) for c in configs]
    fields = sorted({k for c in full for k in c} - _SHOWN)
    tasks = set.intersection(*({*c.get("tasks", []), *c.get("aux", [])} for c in full))
    differ = [k for k in fields if len({repr(_per_task(c, k, tasks)) for c in full}) > 1]
    # the default trunk or true labels named only beside a config that differs in them
    trunk = len({c.get("backbone") or "mlp" for c in full}) > 1
    true_labels = any(shuffled_part(c) for c in full)
    parts = [
        _parts(c, trunk, true_labels) + [_field(k, _per_task(c, k, tasks)) for k in differ]
        for c in full
    ]
    common = set(parts[0]).intersection(*parts[1:]) if len(parts) > 1 else set()
    short = [" · ".join(p for p in label if p not in common) for label in parts]
    return [s or " · ".join(p) for s, p in zip(short, parts, strict=True)]


def arm_labels(runs: pd.DataFrame, groups: list[list[int]]) -> list[str]:
    """One label per group of runs drawn together, all different: the groups' own names
    when each has one of its own, else what sets each group's config apart. A run's
    name is not enough when another group's name hides a different setup (a batch named
    "seed 2" beside "hard sharing, seed 2")."""
    names = [group_name(runs, ids) for ids in groups]
    if all(names) and len(set(names)) == len(names):
        return names
    by_id = runs.set_index("id")
    return config_labels([by_id.loc[ids[0], "config"] for ids in groups])


def band_frames(
    frame: pd.DataFrame, ids: list[int], live: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The group's mean curves (as run ``ids[0]``) and their sample sd per epoch.

    Same statistics as ``mtl_core.studies.replicates.seed_band``. While some run of the group
    still trains, only the epochs every run has reached are drawn, so the mean does not
    jump as runs join it.
    """
    rows = frame[frame.run_id.isin(ids)]
    grouped = rows.groupby(["epoch", "task", "split", "metric"])["value"]
    stats = grouped.agg(value="mean", sd="std", n="count").reset_index()
    if live:
        reached = rows.groupby("run_id").epoch.max()
        last = int(reached.min()) if len(reached) == len(ids) else -1
        stats = stats[stats.epoch <= last]
    stats = stats.assign(run_id=ids[0], sd=stats.sd.fillna(0.0))
    return stats[["run_id", "epoch", "task", "split", "metric", "value"]], stats


def arm_label(config: dict, other: dict) -> str:
    """How a group reads in a sentence, next to the group it is compared with."""
    if is_single_task(config):
        return "single task"
    if is_single_task(other) or config.get("aux") != other.get("aux"):
        sharing = SHARING_LABELS.get(config.get("sharing"), config.get("sharing"))
        aux = config.get("aux") or []
        return (
            f"{sharing} with {', '.join(aux)}"
            if aux
            else f"{sharing} of {len(config['tasks'])} tasks"
        )
    diffs = [
        name
        for name in sorted(config)
        if name not in ("seed", "data_seed") and config.get(name) != other.get(name)
    ]
    if not diffs:
        return "this setup"
    return ", ".join(f"{name}={config[name]}" for name in diffs[:3])


def arm(runs: pd.DataFrame, ids: Iterable[int]) -> list[tuple]:
    """(RunConfig, summary) of each finished run, identical runs once, as ``compare_arms``
    takes them."""
    chosen = dedupe(runs[runs.id.isin(list(ids)) & runs.status.isin(FINISHED)])
    return [(from_dict(c), s) for c, s in zip(chosen.config, chosen.summary, strict=True)]


def paired_comparison(runs: pd.DataFrame, a: list[int], b: list[int]) -> Comparison:
    """Group ``a`` against group ``b``, paired by seed (single task always second)."""
    config_a = runs.set_index("id").loc[a[0], "config"]
    config_b = runs.set_index("id").loc[b[0], "config"]
    if is_single_task(config_a) and not is_single_task(config_b):
        a, b, config_a, config_b = b, a, config_b, config_a
    tasks = [t for t in config_a["tasks"] if t in config_b["tasks"]]
    if not tasks:
        raise MtlError("the two groups share no main task to compare")
    return compare_arms(
        arm(runs, a),
        arm(runs, b),
        task=tasks[0],
        label_a=arm_label(config_a, config_b),
        label_b=arm_label(config_b, config_a),
    )


def live_ids(runs: pd.DataFrame, ids: Iterable[int]) -> list[int]:
    picked = runs[runs.id.isin(list(ids))]
    return [int(i) for i in picked.id[picked.status.isin(LIVE)]]


def stored_index(runs: pd.DataFrame) -> dict[str, int]:
    """Exact config -> the id of a stored run that trained it (or is training it), newest
    first; failed, stopped and interrupted runs do not count."""
    usable = runs[
        ~runs.status.isin((Status.FAILED, Status.STOPPED, Status.INTERRUPTED, Status.DIVERGED))
    ]
    index: dict[str, int] = {}
    for run_id, config in zip(usable.id, usable.config, strict=True):
        index.setdefault(config_key(config), int(run_id))
    return index


def best_val_metrics(metrics: pd.DataFrame, runs: pd.DataFrame, task: str) -> dict[int, float]:
    """Each run's best validation metric of ``task`` over its epochs (NaN if none)."""
    spec = get_task(task)
    rows = metrics[
        (metrics.task == task) & (metrics.split == "val") & (metrics.metric == spec.metric)
    ]
    out = {}
    for run_id in runs.id:
        values = rows.value[rows.run_id == run_id].to_numpy(dtype=float)
        out[int(run_id)] = (
            best_value(list(values), spec.higher_is_better) if len(values) else np.nan
        )
    return out
