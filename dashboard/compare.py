"""Comparing runs: overlay any stored runs, coloured by run, dashed for validation.

Runs whose configs differ only in their seeds are drawn as one group: the mean curve with
a ± one standard deviation band. Two such groups get a paired comparison in one sentence
(``mtl_core.comparison``); a group of multi-task seeds offers its follow-ups (studies.py).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.errors import MtlError
from mtl_core.overview import short_config
from mtl_core.store import LIVE
from mtl_core.summary import best_epoch
from mtl_core.tasks import get_task

from .charts import curves_figure
from .groups import (
    band_frames,
    distinct_labels,
    group_label,
    live_ids,
    paired_comparison,
    seed_groups,
)
from .live import POLL_SECONDS, cached_metrics
from .plot import chart
from .runs import RunManager
from .state import K
from .studies import follow_ups


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run in runs.itertuples():
        for task, s in run.summary.get("main", {}).items():
            rows.append({"run": run.name, "config": short_config(run.config), "task": task,
                         "best epoch": s["best_epoch"], "best val loss": round(s["best_val_loss"], 4),
                         f"test {s['metric']}": round(s["test_metric"], 4),
                         "gap": round(s["gap"], 4)})  # fmt: skip
    return pd.DataFrame(rows)


def _bands(frame: pd.DataFrame, now: pd.DataFrame, groups: list[list[int]],
           names: dict[int, str]) -> tuple[pd.DataFrame, dict, dict]:  # fmt: skip
    """Replace each group of seeds by its mean curves; return the frame, bands and names."""
    bands, names = {}, dict(names)
    seeded = [ids for ids in groups if len(ids) >= 2]
    labels = distinct_labels([group_label(now, ids) for ids in seeded])
    for ids, label in zip(seeded, labels, strict=True):
        mean, stats = band_frames(frame, ids, live=bool(live_ids(now, ids)))
        frame = pd.concat([frame[~frame.run_id.isin(ids)], mean], ignore_index=True)
        bands[ids[0]] = stats
        names[ids[0]] = f"{label} (mean of {len(ids)} seeds)"
    return frame, bands, names


def comparison_line(now: pd.DataFrame, groups: list[list[int]]) -> None:
    """For exactly two groups of seeds: the paired comparison, in one sentence."""
    seeded = [ids for ids in groups if len(ids) >= 2]
    if len(seeded) != 2:
        return
    if live_ids(now, seeded[0] + seeded[1]):
        st.caption("The paired comparison of the two groups appears when their runs finish.")
        return
    try:
        st.markdown(f"**{paired_comparison(now, *seeded).sentence()}**")
    except MtlError as exc:  # unpaired seeds, failed runs, fewer than two pairs
        st.caption(f"No paired comparison: {exc}")


def compare_view(manager: RunManager, options: dict, owner: str = "") -> None:
    runs = manager.store.runs()
    if runs.empty:
        st.info("No runs yet.")
        return
    names = dict(zip(runs.id, runs.name, strict=True))
    if K.pending_compare in st.session_state:
        st.session_state[K.compare] = st.session_state.pop(K.pending_compare)
    st.session_state[K.compare] = [i for i in st.session_state.get(K.compare, []) if i in names]
    chosen = st.multiselect("Runs to overlay", list(names), key=K.compare,
                            format_func=lambda i: f"{names[i]} (#{i})")  # fmt: skip
    if not chosen:
        st.caption("Pick runs here, or select them in History and press Compare.")
        return
    bands_on = st.toggle("Seed bands", value=True, key="seed_bands",
                         help="runs whose configs differ only in their seeds are drawn as one "
                         "mean line with a ± one standard deviation band")  # fmt: skip
    live = runs[runs.id.isin(chosen)].status.isin(LIVE).any()

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def panel() -> None:
        now = manager.store.runs()
        now = now.set_index("id").loc[[i for i in chosen if i in set(now.id)]].reset_index()
        frame = pd.concat([cached_metrics(manager, i, refresh=True) for i in chosen],
                          ignore_index=True)  # fmt: skip
        tasks = list(dict.fromkeys(t for cfg in now.config for t in cfg["tasks"]))
        groups = seed_groups(now)
        drawn, bands, labels = frame, {}, names
        if bands_on:
            drawn, bands, labels = _bands(frame, now, groups, names)
        best = {}
        for run_id in dict.fromkeys(drawn.run_id):
            for task in tasks:
                val = drawn[(drawn.run_id == run_id) & (drawn.task == task) & (drawn.split == "val")
                            & (drawn.metric == "loss")].sort_values("epoch")  # fmt: skip
                if len(val):
                    best[(run_id, task)] = int(val.epoch.iloc[best_epoch(val.value.tolist())])
        fig = curves_figure(drawn, tasks=tasks, metric_of={t: get_task(t).metric for t in tasks},
                            run_names=labels, best=best, bands=bands, **options)  # fmt: skip
        chart(fig, key="compare_chart")
        caption = "Solid: training; dashed: validation; stars: best validation epoch."
        if bands:
            caption += " Shaded: ± one standard deviation over the seeds (mean line in the middle)."
        st.caption(caption)
        comparison_line(now, groups)
        table = summary_table(now)
        if len(table):
            st.dataframe(table, hide_index=True, width="stretch")
        if live and not now.status.isin(LIVE).any():
            st.rerun(scope="app")

    panel()
    groups = seed_groups(runs.set_index("id").loc[chosen].reset_index())
    follow_ups(manager, owner, runs, [ids for ids in groups if len(ids) >= 2])
