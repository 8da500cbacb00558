"""The single-task baseline of a multi-task run, matched so the comparison is fair.

Same data split and seed, same label budget for the main task, same backbone and
optimiser, and (because an epoch is one pass over the main task's labelled images) the
same number of optimiser steps on the same main-task sub-batches.
"""

from __future__ import annotations

from .config import RunConfig


def single_task_baselines(config: RunConfig) -> list[RunConfig]:
    """One single-task run per main task; empty if ``config`` is already single-task."""
    if len(config.all_tasks) == 1 or (config.sharing == "single" and not config.aux):
        return []
    out = []
    for task in config.tasks:
        sizes = {task: config.task_size(task)} if task in config.task_sizes else {}
        out.append(config.replace(tasks=[task], aux=[], aux_weights={}, aux_shuffle={},
                                  task_sizes=sizes, sharing="single", weighting="fixed"))  # fmt: skip
    return out
