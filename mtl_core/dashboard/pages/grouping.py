"""Insights: train the grouping TAG suggests, in one click, and compare it over seeds.

Under the affinity panel of a hard-sharing run: the networks TAG's selection picks from
the run's mean affinities (``analysis/affinity_groups.py``), a button that starts every
run of the comparison not stored yet (the grouping as separate hard-sharing networks,
the run's own all-in-one setup, and single-task, each over the chosen seeds:
``studies/grouping.py``), and, as the runs finish, each main task's mean test metric per
arm with paired differences. The runs are ordinary runs of the store (History lists them).

With one main task there is one network to choose, and when TAG's choice is the run
itself or the main task alone, the only comparison left is with single-task: the panel
is then one line and Live's *Compare with single-task* button, not a form that cannot
train anything.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.analysis.affinity import mean_affinity
from mtl_core.analysis.affinity_groups import Selection, select_networks
from mtl_core.config import RunConfig, from_dict
from mtl_core.dashboard.pages.live import BASELINE_HELP, poll_every, start_baselines
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.errors import MtlError
from mtl_core.store.schema import Status
from mtl_core.studies.grouping import (
    ALL_IN_ONE,
    GROUPED,
    SINGLE,
    GroupingStudy,
    grouping_rows,
    keeps_the_run,
    plan,
)

CAPTION = (
    "TAG's choice: each main task scored by the best chosen group it belongs to (the mean "
    "affinity it receives from its group-mates); auxiliary tasks join only where they help."
)


def _progress(manager: RunManager, jobs: list[tuple]) -> tuple[pd.DataFrame, int] | None:
    """The study's rows from the stored runs identical to ``jobs`` (None if none is
    stored yet), and how many runs are still missing or live."""
    found = manager.identical([c for *_, c in jobs])
    if all(i is None for i in found):
        return None
    outcomes, pending = [], 0
    for run_id in found:
        run = manager.store.get_run(run_id) if run_id is not None else None
        if run is None or run["status"] != Status.COMPLETED:
            pending += 1
        outcomes.append((run_id, run["status"], run["summary"]) if run else (None, "missing", {}))
    return grouping_rows(jobs, outcomes), pending


def grouping_panel(manager: RunManager, owner: str, run_id: int) -> None:
    """Drawn below the Insights fragment: its results poll on their own while runs train."""
    run = manager.store.get_run(run_id)
    config_dict = run["config"]
    mains = list(config_dict["tasks"])
    tasks = mains + list(config_dict.get("aux", []))
    if config_dict.get("sharing") != "hard" or len(tasks) < 2 or run["status"] != Status.COMPLETED:
        return
    matrix = mean_affinity(manager.store.metrics(run_id), tasks)
    if matrix.empty or len(tasks) > 8:
        return
    affinity = matrix.to_dict(orient="index")
    if len(mains) == 1:  # one network to choose: no Networks input
        selection = select_networks(affinity, tasks, mains, 1)
        if only_single_task_left(from_dict(config_dict), selection):
            single_task_note(manager, owner, run, selection)
            return
        st.markdown("###### Train the suggested grouping")
        seeds = st.columns(2)[0].number_input("Seeds", 2, 10, 3, key="grp_seeds")
    else:
        st.markdown("###### Train the suggested grouping")
        a, b = st.columns(2)
        groups = a.number_input("Networks", 1, len(mains), min(2, len(mains)), key="grp_n")
        seeds = b.number_input("Seeds", 2, 10, 3, key="grp_seeds")
        selection = select_networks(affinity, tasks, mains, int(groups))
    st.markdown(" · ".join(f"**{' + '.join(n.tasks)}**" for n in selection.networks))
    st.caption(CAPTION)
    if keeps_the_run(from_dict(config_dict), selection):  # several main tasks, one network
        st.info(
            "With this many networks, TAG keeps every task of this run together: the "
            "grouping is this run's own setup, so there is nothing to compare it with. "
            "Ask for more networks, or compare with single-task from the Live view."
        )
        return
    jobs = plan(from_dict(config_dict), selection, int(seeds), True)
    if st.button(
        f"Train it against all-in-one and single-task ({len(jobs)} runs)",
        key=f"grp_train_{run_id}",
        help="starts only the runs not stored yet; each seed also draws other training images",
    ):
        try:
            names = [f"grouping of run {run_id}: {arm}: {label}" for arm, label, _ in jobs]
            manager.start_missing([c for *_, c in jobs], owner=owner, names=names)
        except MtlError as exc:
            st.error(str(exc))
            return
    found = _progress(manager, jobs)
    polling = poll_every(manager) if found is not None and found[1] else None

    def results() -> bool:
        found = _progress(manager, jobs)
        if found is None:
            return False
        rows, pending = found
        if pending:
            st.caption(f"{len(jobs) - pending} of {len(jobs)} runs done; the table fills in.")
        _results_table(GroupingStudy(rows, [], []), mains)
        return bool(pending)

    live_panel(results, polling)


def only_single_task_left(config: RunConfig, selection: Selection) -> bool:
    """Whether, for a run of one main task, TAG's network adds no arm of its own: it is the
    run itself (every auxiliary task kept) or the main task alone (its single-task run).
    The comparison left is the run against single-task."""
    if len(config.tasks) != 1:
        return False
    return keeps_the_run(config, selection) or selection.networks[0].tasks == config.tasks


def single_task_note(manager: RunManager, owner: str, run: dict, selection: Selection) -> None:
    """One line in place of the grouping form, and Live's *Compare with single-task*."""
    (main,) = run["config"]["tasks"]
    kept = selection.networks[0].tasks
    choice = (
        f"**{main}** alone, its single-task run"
        if kept == (main,)
        else f"this run itself (**{' + '.join(kept)}**)"
    )
    mine = run["owner"] == owner  # as in Live: only the run's own session starts runs for it
    action = (
        "compare this run with single-task instead."
        if mine
        else "the browser session that trained this run can compare it with single-task in Live."
    )
    st.markdown(f"With one main task, TAG's suggested grouping is {choice}: {action}")
    if mine and st.button(
        "Compare with single-task",
        key=f"grp_single_{run['id']}",
        help=BASELINE_HELP,
    ):
        try:
            start_baselines(manager, run["id"], owner)
        except MtlError as exc:  # a server limit
            st.error(str(exc))
        else:
            st.rerun()


def _results_table(study: GroupingStudy, mains: list[str]) -> None:
    if not (study.runs.status == Status.COMPLETED).any():
        return
    st.caption(
        "Each main task's test metric at its best validation epoch, mean over the seeds "
        "(grouped: in the network that serves it); differences are paired by seed."
    )
    st.dataframe(study.table().round(4))
    lines = []
    for task in mains:
        for other in (ALL_IN_ONE, SINGLE):
            diff = study.difference(task, GROUPED, other)
            if diff is not None:
                lines.append(
                    f"- {task}: grouped − {other} = {diff.mean:+.4f} (95% CI {diff.low:+.4f} "
                    f"to {diff.high:+.4f}, {diff.n} paired seeds)"
                )
    st.markdown("\n".join(lines))
