"""Follow-ups of a group of multi-task seeds, in the Compare view.

- *Compare with single-task over K seeds*: the matched single-task baseline
  (``mtl_core.studies.baselines``) of every run of the group, with the same seed and data seed,
  so the two groups pair up seed by seed.
- *Is it just regularisation?*: a single-task baseline whose weight decay and dropout
  are tuned on validation (``mtl_core.studies.tuned_baseline``: its grid, cell choice and label),
  over the same seeds; then the multi-task group against the chosen cell.

Both are found again in the store as runs identical to the ones wanted
(``mtl_core.execution.identity``: same config and seeds, data, threads, device and code version),
so a reload shows the same result: runs already trained or training (by anyone) are
reused, and one line says so; only missing ones are started. A reused run stays its
starter's: if they delete it, the comparison says "run N used by this comparison was
deleted" (the ids a comparison used are remembered in the session for that).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.analysis.overview import short_config
from mtl_core.config import RunConfig, from_dict
from mtl_core.dashboard.groups import (
    FINISHED,
    arm,
    arm_label,
    best_val_metrics,
    group_label,
    is_single_task,
)
from mtl_core.dashboard.pages.live import poll_every
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.identical import reuse_notes
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.execution.identity import deleted_notes, reuse_line
from mtl_core.store.runs import LIVE
from mtl_core.studies.comparison import compare_arms
from mtl_core.studies.replicates import seed_name
from mtl_core.studies.tuned_baseline import (
    DEFAULT_GRID,
    TunedBaseline,
    baseline_config,
    grid_cells,
    select_cell,
    validation_table,
)


def _configs(runs: pd.DataFrame, ids: list[int]) -> list[RunConfig]:
    by_id = runs.set_index("id")
    return [from_dict(by_id.loc[i, "config"]) for i in ids]


def _vary_data(configs: list[RunConfig]) -> bool:
    return len({c.data_seed for c in configs}) > 1


def _start_missing(
    manager: RunManager, owner: str, wanted: list[RunConfig], suffix: str, vary: bool
) -> tuple[list[int], list[int]]:
    """Ids of the runs of ``wanted``, reusing identical stored ones and starting the others
    (named by their own config, e.g. "mnist-5k/plain · digit · single · 300 imgs, seed
    2"); and the ids reused."""
    names = [
        seed_name(" · ".join(filter(None, [short_config(c.to_dict()), suffix])), c, vary)
        for c in wanted
    ]
    return manager.start_missing(wanted, owner=owner, names=names)


def _said(key: str) -> None:
    """The line a follow-up left for this run of the page (which runs it reused)."""
    line = st.session_state.get(key)
    if line:
        st.caption(line)


def _deleted(key: str, said: str, ids: list[int | None], existing: pd.Series) -> None:
    """Say which runs this comparison used are gone (and drop the line ``said`` on what
    it reused: it no longer holds); remember the ids it uses now (once it has them all
    again, the note goes)."""
    notes = deleted_notes(st.session_state.get(key, []), existing)
    for note in notes:
        st.warning(
            f"{note[0].upper()}{note[1:]} by its owner; the button below trains "
            "the missing run again."
        )
    if notes:
        st.session_state.pop(said, None)
    if ids and all(i is not None for i in ids):
        st.session_state[key] = [int(i) for i in ids]


def _cell_text(config: RunConfig) -> str:
    return " ".join(
        f"{'wd' if k == 'weight_decay' else k}={getattr(config, k):g}" for k in DEFAULT_GRID
    )


def _add_to_compare(ids: list[int]) -> None:
    """On the next run (the run selector is drawn already in this one)."""
    shown = st.session_state.get(K.compare, [])
    st.session_state[K.pending_compare] = list(dict.fromkeys([*shown, *ids]))


def baseline_configs(configs: list[RunConfig]) -> list[RunConfig]:
    """The matched single-task baseline (first main task) of each seed's config."""
    return [baseline_config(c) for c in configs]


def grid_configs(configs: list[RunConfig]) -> list[list[RunConfig]]:
    """Per cell of the tuned baseline's grid: the baseline of each seed with that cell."""
    return [
        [baseline_config(c).replace(**cell) for c in configs] for cell in grid_cells(DEFAULT_GRID)
    ]


def tuned_result(
    runs: pd.DataFrame, metrics: pd.DataFrame, group: list[int], cells_ids: list[list[int]]
) -> tuple[TunedBaseline, str]:
    """Choose the grid cell on validation (mean best validation metric over the seeds)
    and compare the group with that cell's runs, paired by seed: (baseline, sentence)."""
    cells = grid_cells(DEFAULT_GRID)
    first = runs.set_index("id").loc[group[0], "config"]
    task = first["tasks"][0]
    best = best_val_metrics(
        metrics, runs[runs.id.isin([i for ids in cells_ids for i in ids])], task
    )
    table = validation_table(cells, [[best[i] for i in ids] for ids in cells_ids])
    cell = select_cell(table, get_task(task).higher_is_better)
    chosen = cells_ids[
        next(i for i, c in enumerate(cells) if {k: float(v) for k, v in c.items()} == cell)
    ]
    tuned = TunedBaseline(task, cell, table, _configs(runs, chosen), [])
    other = runs.set_index("id").loc[chosen[0], "config"]
    comparison = compare_arms(
        arm(runs, group),
        arm(runs, chosen),
        task=task,
        label_a=arm_label(first, other),
        label_b=tuned.label(),
    )
    return tuned, comparison.sentence()


def _regularisation(
    manager: RunManager, owner: str, group: list[int], configs: list[RunConfig]
) -> None:
    grid = grid_configs(configs)
    total = sum(len(row) for row in grid)
    runs = manager.store.runs()
    found_flat = manager.identical([c for row in grid for c in row])
    found = [found_flat[i * len(configs) : (i + 1) * len(configs)] for i in range(len(grid))]
    _deleted(f"tuned_used_{group[0]}", f"tuned_said_{group[0]}", found_flat, runs.id)
    _said(f"tuned_said_{group[0]}")
    if any(i is None for row in found for i in row):
        cells = len(grid)
        if st.button(
            f"Is it just regularisation? ({cells} weight decay × dropout settings × "
            f"{len(configs)} seeds, single task)",
            key=f"tuned_{group[0]}",
            help="tune a single-task baseline's weight decay and dropout on validation "
            "(the same seeds), then compare the multi-task runs with the best setting",
        ):
            try:
                vary = _vary_data(configs)
                reused = []
                for row in grid:
                    reused += _start_missing(manager, owner, row, _cell_text(row[0]), vary)[1]
            except MtlError as exc:
                st.error(str(exc))
            else:
                st.session_state[f"tuned_said_{group[0]}"] = reuse_line(reused, "single-task run")
            st.rerun()
        return
    ids = [i for row in found for i in row]
    live = bool(runs[runs.id.isin(ids)].status.isin(LIVE).any())

    def result() -> bool:
        now = manager.store.runs(ids=[*ids, *group])  # every run it reads, not the store
        mine = now[now.id.isin(ids)]
        done = int(mine.status.isin(FINISHED).sum())
        if mine.status.isin(LIVE).any():
            st.progress(
                done / total, text=f"Tuned single-task baseline: {done} of {total} runs finished"
            )
            return True
        try:
            tuned, sentence = tuned_result(now, manager.store.metrics(ids), group, found)
        except (MtlError, ValueError) as exc:
            st.caption(f"No tuned comparison: {exc}")
        else:
            st.markdown(f"**Is it just regularisation?** {sentence}")
            st.caption(
                f"The baseline's weight decay and dropout were chosen on validation "
                f"({tuned.cell_text()}: the best mean best-validation {get_task(tuned.task).metric} "
                "over the seeds); the test set was used only for this comparison."
            )
        return False

    live_panel(result, poll_every(manager) if live else None)


def follow_ups(
    manager: RunManager, owner: str, runs: pd.DataFrame, groups: list[list[int]]
) -> None:
    """For each group of multi-task seeds: the single-task and regularisation follow-ups
    (and, first, what Live's *Compare with single-task* reused, see ``identical``)."""
    line, gone = reuse_notes(st.session_state.get(K.compare, []), list(runs.id))
    if line:
        st.caption(line)
    for note in gone:
        st.warning(f"{note[0].upper()}{note[1:]} by its owner.")
    for group in groups:
        first = runs.set_index("id").loc[group[0], "config"]
        if is_single_task(first):
            continue
        try:
            configs = _configs(runs, group)
            baselines = baseline_configs(configs)
        except MtlError:  # a config an older version stored, no longer valid
            continue
        label = group_label(runs, group)
        with st.container(border=True):
            st.markdown(f"**{label}** ({len(group)} seeds)")
            stored = manager.identical(baselines)
            _deleted(f"single_used_{group[0]}", f"single_said_{group[0]}", stored, runs.id)
            _said(f"single_said_{group[0]}")
            shown = set(st.session_state.get(K.compare, []))
            ready = all(i is not None and i in shown for i in stored)
            if not ready and st.button(
                f"Compare with single-task over {len(group)} seeds",
                key=f"single_{group[0]}",
                help="the matched single-task run of every seed (same "
                "split, seed, label budget and optimiser steps), paired "
                "seed by seed",
            ):
                try:
                    ids, reused = _start_missing(manager, owner, baselines, "", _vary_data(configs))
                except MtlError as exc:
                    st.error(str(exc))
                else:
                    st.session_state[f"single_said_{group[0]}"] = reuse_line(
                        reused, "single-task run"
                    )
                    _add_to_compare(ids)
                    st.rerun()
            _regularisation(manager, owner, group, configs)
