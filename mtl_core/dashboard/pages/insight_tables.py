"""The Insights view's data: one run's stored special rows (gradient cosines, task
weights, cross-stitch mixing) as tables, and what its representation map is coloured by.

Pure pandas and numpy (no ``st.*``), so the tables are tested without a page.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from mtl_core.analysis.conflict_text import parse_pair


def wide(frame: pd.DataFrame, task: str, prefix: str = "") -> pd.DataFrame:
    """One pseudo-task's training rows as a table: index epoch, one column per metric."""
    sel = frame[(frame.task == task) & (frame.split == "train")]
    if prefix:
        sel = sel[sel.metric.str.startswith(prefix)]
    if sel.empty:
        return pd.DataFrame()
    return sel.pivot_table(index="epoch", columns="metric", values="value", aggfunc="last")


def conflict_table(frame: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """Cosines with one row per pair (``cos:a|b``, in the tasks' order), one column per epoch."""
    table = wide(frame, "_conflict", "cos:")
    if table.empty:
        return table
    order = {pair: i for i, pair in enumerate(itertools.combinations(tasks, 2))}
    columns = sorted(table.columns, key=lambda m: order.get(parse_pair(m), len(order)))
    return table[columns].T


def towards(table: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """The columns ``source → target`` of an affinity evolution whose target is one of
    ``targets`` (the main tasks: who helps them is the question)."""
    return table[[c for c in table.columns if c.split(" → ")[1] in targets]]


def pair_label(metric: str) -> str:
    return " ↔ ".join(parse_pair(metric))


def weight_table(frame: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """The weight each task trained with: index epoch, one column per task."""
    sel = frame[(frame.metric == "weight") & (frame.split == "train") & frame.task.isin(tasks)]
    if sel.empty:
        return pd.DataFrame()
    table = sel.pivot_table(index="epoch", columns="task", values="value", aggfunc="last")
    return table[[t for t in tasks if t in table.columns]]


def stitch_table(frame: pd.DataFrame, tasks: list[str]) -> pd.DataFrame:
    """Cross-stitch coefficients ``alpha:unit:to:from``, ordered by unit, then task order."""
    table = wide(frame, "_stitch", "alpha:")
    if table.empty:
        return table
    rank = {t: i for i, t in enumerate(tasks)}

    def order(name: str) -> tuple[int, int, int]:
        unit, to, src = name.split(":")[1:]
        return int(unit), rank.get(to, len(rank)), rank.get(src, len(rank))

    return table[sorted(table.columns, key=order)]


def colour_values(labels: np.ndarray, classes: list[str], task: str) -> tuple[np.ndarray, str]:
    """What to colour the map by: class codes, or one number per image for regression
    (the mean of the target's values when it has several, e.g. a bounding box)."""
    if classes:
        return labels.astype(int), task
    flat = labels.reshape(len(labels), -1)
    if flat.shape[1] == 1:
        return flat[:, 0], task
    return flat.mean(1), f"{task} (mean of its {flat.shape[1]} values)"
