"""Sharing depth: the best validation metric against K, the number of shared layers.

For the sidebar's setup (hard sharing, two or more tasks): K = 0 (each main task's
single-task baseline) to K = all of the trunk's layers, the arms of
``mtl_core.studies.sharing_depth``, drawn as the mean over seeds with its 95% t-interval,
and said in words: which K was best (on validation), which depth's test metric is set
against K = 0 (that K, or the best shared depth when K = 0 won) and whether their
difference is clear (the measure of Compare and the learning curve); the table's headings
name the metric.
Every stored run of an arm counts, whatever its seeds (so hard-sharing runs trained from
the sidebar are the "all shared" point); the form trains the missing (K, seed) runs
through the run manager, which queues them within the server's limits.

Identical runs (``mtl_core.execution.identity``) count once; of an arm's runs with the same
seeds, the oldest counts (``shared_layers`` -1 and the trunk's layer count are one arm,
as they train bit for bit alike): a second copy of a seed would narrow the interval with
no new information.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.dashboard.batch import DEPTH_SEEDS, DEPTH_VARY
from mtl_core.dashboard.figures.studies import sharing_depth_figure
from mtl_core.dashboard.figures.style import CUT_NOTE
from mtl_core.dashboard.groups import FINISHED, best_val_metrics
from mtl_core.dashboard.pages.live import poll_every
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.open_compare import open_in_compare
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.presets import data_table
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError, MtlError
from mtl_core.execution.identity import config_text, dedupe, reuse_line
from mtl_core.store.runs import LIVE
from mtl_core.studies.replicates import MAX_SEEDS, band_key
from mtl_core.studies.sharing_depth import (
    ALL_SHARED,
    COLUMNS,
    SINGLE,
    check_depth,
    depth_arms,
    depth_jobs,
    depth_params,
    depth_table,
    depth_verdict,
    normalised,
)
from mtl_core.written import counted

SAID = "sd_said:"  # + the setup: the form's line on the runs it reused


def metric_name(tasks: Iterable[str]) -> str:
    """The main tasks' metric, each once in task order ("accuracy", "accuracy / mae")."""
    return " / ".join(dict.fromkeys(get_task(t).metric for t in tasks))


def caption(config: RunConfig) -> str:
    """What the chart and the sentences under it measure, the metric named: the chart the
    best validation score, the verdict the test score (``sharing_depth.depth_verdict``)."""
    metric = metric_name(config.tasks)
    return (
        f"Each point is the mean over seeds of the best validation {metric} a run reached; "
        "the bars are its 95% t-interval, the faint dots the runs. K = 0 trains each main "
        "task alone (its single-task baseline); K = all is hard sharing. The sentences below "
        f"pick the best K by that validation {metric} and set it (or, when K = 0 wins, the "
        f"best shared K) against K = 0 by the test {metric} at each run's validation-selected "
        "epoch (the table's test column), as Compare, Learning curve and the lessons do. "
        + CUT_NOTE
    )


def depth_members(runs: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """The stored runs of the study's arms: k, task (the baseline's task at K = 0, else
    empty), seed, data_seed, run_id, status; identical runs once, and per (K, task,
    seeds) one: the oldest finished, else the oldest live, else the oldest."""
    max_k = check_depth(config)
    keys: dict[str, tuple[int, str]] = {}
    for k, arm in depth_arms(config).items():
        for c in arm:
            keys[band_key(normalised(c.to_dict(), max_k))] = (k, c.tasks[0] if k == 0 else "")
    rows = []
    for run in dedupe(runs).sort_values("id").itertuples():
        found = keys.get(band_key(normalised(run.config, max_k)))
        if found is not None:
            rows.append(
                {
                    "k": found[0],
                    "task": found[1],
                    "seed": run.config.get("seed", 0),
                    "data_seed": run.config.get("data_seed", 0),
                    "run_id": int(run.id),
                    "status": run.status,
                }
            )
    columns = ["k", "task", "seed", "data_seed", "run_id", "status"]
    members = pd.DataFrame(rows, columns=columns)
    # a finished run first, then a live one: a failed copy never hides a finished one
    rank = np.where(members.status.isin(FINISHED), 0, np.where(members.status.isin(LIVE), 1, 2))
    members = members.assign(rank=rank).sort_values(["rank", "run_id"], kind="stable")
    members = members.drop_duplicates(["k", "task", "seed", "data_seed"]).drop(columns="rank")
    return members.sort_values("run_id").reset_index(drop=True)


def depth_points(
    runs: pd.DataFrame, members: pd.DataFrame, metrics: pd.DataFrame, config: RunConfig
) -> pd.DataFrame:
    """One row per finished member and main task (``sharing_depth.COLUMNS``): its best
    validation metric (from the stored curve) and its test metric."""
    done = members[members.status.isin(FINISHED)]
    summary = runs.set_index("id").summary
    rows = []
    for task in config.tasks:
        mine = done[done.task.isin(["", task])]
        best = best_val_metrics(metrics, runs[runs.id.isin(mine.run_id)], task)
        for m in mine.itertuples():
            main = summary[m.run_id].get("main", {}).get(task, {})
            rows.append(
                {
                    "k": int(m.k),
                    "task": task,
                    "seed": m.seed,
                    "data_seed": m.data_seed,
                    "run_id": int(m.run_id),
                    "status": m.status,
                    "best_val": best.get(int(m.run_id), np.nan),
                    "test": main.get("test_metric", np.nan),
                }
            )
    points = pd.DataFrame(rows, columns=COLUMNS)
    return points.sort_values(["k", "run_id"], kind="stable").reset_index(drop=True)


def shown_table(table: pd.DataFrame, max_k: int) -> pd.DataFrame:
    """The study's table as the page shows it (columns in words, the metric named in the
    headings, parameter counts with thousands separators: each row's are those of the runs
    it counts, ``depth_params``). Its last four columns are numbers."""
    names = {0: SINGLE, max_k: ALL_SHARED}
    metric = metric_name(table["task"])
    return pd.DataFrame(
        {
            "K": table["k"],
            "shared": [names.get(k, f"{k} shared") for k in table["k"]],
            "task": table["task"],
            "parameters": [f"{int(n):,}" for n in table["params"]],
            "seeds": table["n"],
            f"best val {metric} (mean)": table["val_mean"],
            "95% CI low": table["val_low"],
            "95% CI high": table["val_high"],
            f"test {metric} (mean)": table["test_mean"],
        }
    )


def _start_form(manager: RunManager, owner: str, config: RunConfig) -> None:
    with st.form("sharing_depth"):
        a, b = st.columns([1, 2], vertical_alignment="bottom")
        k = a.number_input("Seeds", 1, MAX_SEEDS, key=control_state.view_control(DEPTH_SEEDS))
        vary = b.checkbox(
            "also vary the data seed",
            key=control_state.view_control(DEPTH_VARY),
            help="each seed also draws other training images, so the interval covers "
            "the luck of the draw as well as of the initial weights",
        )
        if not st.form_submit_button("Train the missing runs of this study"):
            return
    try:
        jobs = depth_jobs(config, int(k), bool(vary))
        _, reused = manager.start_missing(
            [c for _, _, c in jobs], owner=owner, names=[n for _, n, _ in jobs]
        )
    except MtlError as exc:
        st.error(str(exc))
        return
    st.session_state[SAID + config_text(config)] = reuse_line(reused, "run")
    st.rerun()


def depth_view(manager: RunManager, owner: str, config: RunConfig | None) -> None:
    if config is None:
        st.info("Fix the setup in the sidebar first: the sharing depth is studied for it.")
        return
    try:
        max_k = check_depth(config)
    except ConfigError as exc:  # one line, without the field's name: the sidebar names none
        reason = str(exc).removeprefix(f"{exc.field}: ")
        st.info(f"No sharing depth to study for this setup: {reason}.")
        return
    layers = counted(max_k, "layer")
    st.caption(
        f"For the sidebar's setup ({', '.join(config.all_tasks)}, {config.backbone} trunk of "
        f"{layers}): hard sharing of the first K layers, K = 0 (single task) to {max_k} "
        "(all shared). The form trains every K over the same seeds; each point counts every "
        "stored run of its K (so the seeds column may differ), and a difference from K = 0 is "
        "paired over the seeds both share. The sidebar's shared layers are not used here."
    )
    _start_form(manager, owner, config)
    if st.session_state.get(SAID + config_text(config)):
        st.caption(st.session_state[SAID + config_text(config)])
    members = depth_members(manager.store.runs(), config)
    live = bool(members.status.isin(LIVE).any())
    large = bool(st.session_state.get(K.large, False))

    def panel() -> bool:
        # the study's runs alone, read every second while they train: not the whole store
        # (store/select.py says why); a run started elsewhere joins at the next full rerun
        runs = manager.store.runs(ids=members.run_id)
        now = depth_members(runs, config)
        if now.empty:
            st.info("No stored runs of this study yet: train its runs above.")
            return False
        running = int(now.status.isin(LIVE).sum())
        if running:
            st.caption(
                f"{running} run(s) of the study queued or training; points appear as they finish."
            )
        metrics = manager.store.metrics(list(now.run_id[now.status.isin(FINISHED)]))
        points = depth_points(runs, now, metrics, config)
        if points.empty:
            return bool(running)
        table = depth_table(points, depth_params(config))
        chart(
            sharing_depth_figure(
                table,
                points,
                max_k=max_k,
                labels={0: SINGLE, max_k: ALL_SHARED},
                metrics={t: get_task(t).metric for t in config.tasks},
                large_fonts=large,
            ),
            key="sharing_depth",
        )
        st.caption(caption(config))
        if running:
            st.caption("Which K is best is said once every run of the study has finished.")
        else:
            for task in config.tasks:
                verdict = depth_verdict(points, task)
                if verdict is not None:
                    st.markdown(f"- {verdict.sentence(max_k)}")
        shown = shown_table(table, max_k)
        data_table(shown, tuple(shown.columns[-4:]))  # the mean, its interval, the test mean
        return bool(running)

    live_panel(panel, poll_every(manager) if live else None)
    if len(members):
        open_in_compare(list(members.run_id), key="sd_compare", what="the study's runs")
