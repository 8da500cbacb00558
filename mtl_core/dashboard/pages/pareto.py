"""Trade-off: task 1's validation metric against task 2's, over task-weight ratios.

For the sidebar's setup with two main tasks: the arms of ``mtl_core.studies.pareto``
(task weights w and 1 − w, the two single tasks, any chosen gradient aggregators), each
over the same seeds, drawn as mean points with 95% t-intervals on both axes, dominated
arms marked. A run's point is its one checkpoint: the epoch of the lowest summed
validation loss of the two tasks. The form trains the missing (arm, seed) runs through
the run manager, which queues them within the server's limits; every stored run of an
arm counts, whatever its seeds. Identical runs (``mtl_core.execution.identity``) count
once; of an arm's runs with the same seeds, the oldest finished one counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.dashboard.batch import TRADEOFF_SEEDS, TRADEOFF_VARY
from mtl_core.dashboard.figures.pareto import pareto_figure
from mtl_core.dashboard.figures.style import CUT_NOTE
from mtl_core.dashboard.groups import FINISHED
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
from mtl_core.studies.pareto import (
    DEFAULT_RATIOS,
    METHODS,
    RUN_COLUMNS,
    SINGLE,
    check_pareto,
    pareto_arms,
    pareto_jobs,
    pareto_table,
    run_row,
)
from mtl_core.studies.replicates import MAX_SEEDS, band_key
from mtl_core.training.results import RunResult

CAPTION = (
    "Each filled point is the mean over seeds of the runs' points, with the 95% t-interval "
    "of each coordinate as bars; a run's point is the one epoch with its lowest summed "
    "validation loss of the two tasks (never two best epochs mixed). Hollow points are "
    "dominated: another arm is at least as good on both tasks and better on one. The dashed "
    "lines are the single-task runs' scores. " + CUT_NOTE
)
ENOUGH_SEEDS = 3  # fewer, and the caption says why the bars are wide (few_seeds_line)
SAID = "pf_said:"  # + the setup: the form's line on the runs it reused
RATIOS_KEY, METHODS_KEY = "pf_ratios", "pf_methods"

# Why a setup has no trade-off, in the sidebar's words (check_pareto's lines name CLI flags).
SIDEBAR_WORDS = {
    "tasks": "the study weighs two main tasks against each other: pick exactly two under "
    "Main tasks in the sidebar (digit and parity on MNIST, say)",
    "sharing": "single sharing trains each task alone, so no weight trades one for the "
    "other: pick hard, soft or cross-stitch under Sharing mode in the sidebar",
}


def few_seeds_line(table: pd.DataFrame) -> str | None:
    """One line when an arm has fewer than ``ENOUGH_SEEDS`` seeds: its bars are that wide
    because of the seeds (a 95% t-interval over 2 seeds is the mean ± 12.7 standard
    errors), and a mark of "dominated", which compares means alone, may not hold."""
    few = table[table["n"] < ENOUGH_SEEDS]
    if few.empty:
        return None
    from scipy import stats  # here, not at the top: the page's server loads it on use

    t = {n: stats.t.ppf(0.975, n - 1) for n in (2, 3, 5)}
    lead = "Every arm has" if len(few) == len(table) else f"{len(few)} of {len(table)} arms have"
    one = " and one seed gives no interval at all" if (few["n"] < 2).any() else ""
    return (
        f"{lead} fewer than {ENOUGH_SEEDS} seeds: a 95% t-interval over 2 seeds is the mean "
        f"± {t[2]:.1f} standard errors (over 3 seeds ± {t[3]:.1f}, over 5 ± {t[5]:.1f}){one}, "
        "so these bars are wide because of the few seeds, and a hollow (dominated) point "
        "compares means that more seeds may reorder. Train 3 to 5 seeds per arm."
    )


def study_base(config: RunConfig) -> RunConfig:
    """The sidebar's setup as the study trains it: fixed weighting, no aggregator."""
    return config.replace(weighting="fixed", aggregator="none", task_weights={})


def pareto_members(runs: pd.DataFrame, base: RunConfig, ratios: int, methods) -> pd.DataFrame:
    """The stored runs of the study's arms: arm, kind, w, seed, data_seed, run_id, status,
    config; identical runs once, per (arm, seeds) the oldest finished, else live, else any."""
    keys = {band_key(c): (arm, kind, w) for arm, kind, w, c in pareto_arms(base, ratios, methods)}
    rows = []
    for run in dedupe(runs).sort_values("id").itertuples():
        found = keys.get(band_key(run.config))
        if found is not None:
            rows.append(
                {
                    "arm": found[0],
                    "kind": found[1],
                    "w": found[2],
                    "seed": run.config.get("seed", 0),
                    "data_seed": run.config.get("data_seed", 0),
                    "run_id": int(run.id),
                    "status": run.status,
                    "config": RunConfig.from_dict({**run.config}),
                }
            )
    columns = ["arm", "kind", "w", "seed", "data_seed", "run_id", "status", "config"]
    members = pd.DataFrame(rows, columns=columns)
    rank = np.where(members.status.isin(FINISHED), 0, np.where(members.status.isin(LIVE), 1, 2))
    members = members.assign(rank=rank).sort_values(["rank", "run_id"], kind="stable")
    members = members.drop_duplicates(["arm", "seed", "data_seed"]).drop(columns="rank")
    order = {arm: i for i, (arm, *_) in enumerate(pareto_arms(base, ratios, methods))}
    members = members.assign(order=members.arm.map(order))
    return members.sort_values(["order", "run_id"]).drop(columns="order").reset_index(drop=True)


def pareto_points(members: pd.DataFrame, metrics: pd.DataFrame, tasks) -> pd.DataFrame:
    """One row per finished member (``studies.pareto.RUN_COLUMNS``): its checkpoint."""
    rows = []
    cols = ["epoch", "task", "split", "metric", "value"]
    for m in members[members.status.isin(FINISHED)].itertuples():
        mine = metrics[metrics.run_id == m.run_id][cols].itertuples(index=False, name=None)
        result = RunResult(m.run_id, m.status, "", {}, list(mine))
        rows.append(run_row(m.arm, m.kind, m.w, m.config, result, tasks))
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def shown_table(table: pd.DataFrame, tasks) -> pd.DataFrame:
    """The study's table as the page shows it (columns in words)."""
    return pd.DataFrame(
        {
            "arm": table["arm"],
            f"{tasks[0]} weight": table["w"],
            f"{tasks[0]} (mean)": table["m1_mean"],
            f"{tasks[0]} ± 95% CI": table["m1_half"],
            f"{tasks[1]} (mean)": table["m2_mean"],
            f"{tasks[1]} ± 95% CI": table["m2_half"],
            "seeds": table["n"],
            "dominated": [
                "—" if k == SINGLE else ("yes" if d else "no")
                for k, d in zip(table["kind"], table["dominated"], strict=True)
            ],
        }
    )


def _start_form(manager: RunManager, owner: str, base: RunConfig) -> None:
    with st.form("pareto"):
        a, b, c = st.columns([1, 1, 2], vertical_alignment="bottom")
        k = a.number_input("Seeds", 1, MAX_SEEDS, key=control_state.view_control(TRADEOFF_SEEDS))
        b.number_input(
            "Ratios",
            1,
            19,
            DEFAULT_RATIOS,
            key=RATIOS_KEY,
            help="task 1 weighs w = 1/(n+1) .. n/(n+1), task 2 weighs 1 − w",
        )
        vary = c.checkbox("also vary the data seed", key=control_state.view_control(TRADEOFF_VARY))
        st.multiselect(
            "Aggregators to place on the plot (at equal weights)", METHODS, key=METHODS_KEY
        )
        if not st.form_submit_button("Run the trade-off study"):
            return
    try:
        ratios, methods = _choice()
        jobs = pareto_jobs(base, int(k), ratios, methods, bool(vary))
        _, reused = manager.start_missing(
            [c for *_, c in jobs], owner=owner, names=[n for _, _, _, n, _ in jobs]
        )
    except MtlError as exc:
        st.error(str(exc))
        return
    st.session_state[SAID + config_text(base)] = reuse_line(reused, "run")
    st.rerun()


def _choice() -> tuple[int, list[str]]:
    ratios = int(st.session_state.get(RATIOS_KEY, DEFAULT_RATIOS))
    return ratios, list(st.session_state.get(METHODS_KEY, []))


def pareto_view(manager: RunManager, owner: str, config: RunConfig | None) -> None:
    if config is None:
        st.info("Fix the setup in the sidebar first: its trade-off is studied.")
        return
    base = study_base(config)
    try:
        tasks = check_pareto(base)
    except ConfigError as exc:  # one line, in the sidebar's words (the CLI's name flags)
        reason = SIDEBAR_WORDS.get(exc.field) or str(exc).removeprefix(f"{exc.field}: ")
        st.info(f"No trade-off to study for this setup: {reason}.")
        return
    unused = (
        ""
        if config.weighting == "fixed" and config.aggregator == "none"
        else (" The sidebar's loss weighting and aggregator are not used here.")
    )
    st.caption(
        f"For the sidebar's setup ({', '.join(config.all_tasks)}, {config.sharing} sharing): "
        f"{tasks[0]} weighs w and {tasks[1]} 1 − w (fixed weighting), beside each task "
        "trained alone. The form trains every arm over the same seeds; each point counts "
        f"every stored run of its arm, so the seeds column may differ.{unused}"
    )
    _start_form(manager, owner, base)
    if st.session_state.get(SAID + config_text(base)):
        st.caption(st.session_state[SAID + config_text(base)])
    ratios, methods = _choice()
    members = pareto_members(manager.store.runs(), base, ratios, methods)
    live = bool(members.status.isin(LIVE).any())
    large = bool(st.session_state.get(K.large, False))

    def panel() -> bool:
        # the study's runs alone, read every second while they train: not the whole store
        # (store/select.py says why); a run started elsewhere joins at the next full rerun
        now = pareto_members(manager.store.runs(ids=members.run_id), base, ratios, methods)
        if now.empty:
            st.info("No stored runs of this study yet: run it above.")
            return False
        running = int(now.status.isin(LIVE).sum())
        if running:
            st.caption(f"{running} run(s) queued or training; points appear as they finish.")
        metrics = manager.store.metrics(list(now.run_id[now.status.isin(FINISHED)]))
        points = pareto_points(now, metrics, tasks)
        if points.empty:
            return bool(running)
        table = pareto_table(points, tasks)
        names = (get_task(tasks[0]).metric, get_task(tasks[1]).metric)
        chart(
            pareto_figure(table, points, tasks=tasks, metrics=names, large_fonts=large),
            key="pareto",
        )
        st.caption(CAPTION)
        if few := few_seeds_line(table):
            st.caption(few)
        data_table(
            shown_table(table, tasks),
            tuple(c for c in shown_table(table, tasks).columns if "(mean)" in c or "CI" in c),
        )
        return bool(running)

    live_panel(panel, poll_every(manager) if live else None)
    if len(members):
        open_in_compare(list(members.run_id), key="pf_compare", what="the study's runs")
