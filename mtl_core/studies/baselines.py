"""The single-task baseline of a multi-task run, matched so the comparison is fair.

Same data split and seed, same label budget for the main task, same backbone and
optimiser, and (because an epoch is one pass over the main task's labelled images) the
same number of optimiser steps on the same main-task sub-batches. (With several main
tasks of different label budgets, a multi-task epoch is one pass over the largest main
pool, so the baseline of a main task with a smaller budget takes fewer steps.)

Everything that only means something with two or more tasks is dropped: the auxiliary
tasks and their weights, shuffles and label budgets, the sharing mode (the baseline is
``single``) with its soft-sharing and cross-stitch settings, the loss weighting with its
hyperparameters, and the gradient aggregator. Those fields go back to their defaults, so
the baseline validates whatever the run combined, and runs that differ only in them share
one baseline (the same config, the same stored run).
"""

from __future__ import annotations

from mtl_core.config import DEFAULT, RunConfig
from mtl_core.methods import catalog

# Fields of a multi-task run that a single-task run does not use; the baseline gets
# ``DEFAULT``'s value. ``tasks`` and ``task_sizes`` are set per baseline below. The method
# choices and every hyperparameter they declare (mtl_core/methods/catalog.py) are among
# them, so a method added later is dropped too; the backbone's own (maxout pieces) is kept.
MULTI_TASK_FIELDS = (
    "aux",
    "aux_weight",
    "aux_weights",
    "task_weights",
    "shuffle_aux",
    "aux_shuffle",
    "sharing",
    "soft_penalty",
    "weighting",
    "aggregator",
    "affinity_every",  # a measurement between tasks: a single-task run has none
    *(
        param.field
        for table in (catalog.SHARING, catalog.PENALTIES, catalog.WEIGHTINGS, catalog.AGGREGATORS)
        for method in table.values()
        for param in method.params
    ),
)


def single_task_baselines(config: RunConfig) -> list[RunConfig]:
    """One single-task run per main task; empty if ``config`` is already single-task."""
    if len(config.all_tasks) == 1 or (config.sharing == "single" and not config.aux):
        return []
    dropped = {name: getattr(DEFAULT, name) for name in MULTI_TASK_FIELDS}
    dropped["sharing"] = "single"
    out = []
    for task in config.tasks:
        sizes = {task: config.task_size(task)} if task in config.task_sizes else {}
        out.append(config.replace(**dropped, tasks=[task], task_sizes=sizes))
    return out
