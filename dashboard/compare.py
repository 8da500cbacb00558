"""Comparing runs: overlay any stored runs, coloured by run, dashed for validation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.overview import short_config
from mtl_core.store import LIVE
from mtl_core.summary import best_epoch
from mtl_core.tasks import get_task

from .charts import curves_figure
from .live import POLL_SECONDS, cached_metrics
from .plot import chart
from .runs import RunManager
from .state import K


def summary_table(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for run in runs.itertuples():
        for task, s in run.summary.get("main", {}).items():
            rows.append({"run": run.name, "config": short_config(run.config), "task": task,
                         "best epoch": s["best_epoch"], "best val loss": round(s["best_val_loss"], 4),
                         f"test {s['metric']}": round(s["test_metric"], 4),
                         "gap": round(s["gap"], 4)})  # fmt: skip
    return pd.DataFrame(rows)


def compare_view(manager: RunManager, options: dict) -> None:
    runs = manager.store.runs()
    if runs.empty:
        st.info("No runs yet.")
        return
    names = dict(zip(runs.id, runs.name, strict=True))
    st.session_state[K.compare] = [i for i in st.session_state.get(K.compare, []) if i in names]
    chosen = st.multiselect("Runs to overlay", list(names), key=K.compare,
                            format_func=lambda i: f"{names[i]} (#{i})")  # fmt: skip
    if not chosen:
        st.caption("Pick runs here, or select them in History and press Compare.")
        return
    live = runs[runs.id.isin(chosen)].status.isin(LIVE).any()

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def panel() -> None:
        now = manager.store.runs()
        now = now[now.id.isin(chosen)]
        frame = pd.concat([cached_metrics(manager, i, refresh=True) for i in chosen],
                          ignore_index=True)  # fmt: skip
        tasks = list(dict.fromkeys(t for cfg in now.config for t in cfg["tasks"]))
        best = {}
        for run_id in chosen:
            for task in tasks:
                val = frame[(frame.run_id == run_id) & (frame.task == task) & (frame.split == "val")
                            & (frame.metric == "loss")].sort_values("epoch")  # fmt: skip
                if len(val):
                    best[(run_id, task)] = int(val.epoch.iloc[best_epoch(val.value.tolist())])
        fig = curves_figure(frame, tasks=tasks, metric_of={t: get_task(t).metric for t in tasks},
                            run_names=names, best=best, **options)  # fmt: skip
        chart(fig, key="compare_chart")
        st.caption("Solid: training; dashed: validation; stars: best validation epoch.")
        table = summary_table(now)
        if len(table):
            st.dataframe(table, hide_index=True, width="stretch")
        if live and not now.status.isin(LIVE).any():
            st.rerun(scope="app")

    panel()
