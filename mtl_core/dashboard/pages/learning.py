"""The learning curve: best validation metric against the number of training images.

For the sidebar's setup, single task against multi-task (the arms of
``mtl_core.studies.learning_curve.curve_arms``), each size over seeds, drawn as mean ± sd. Every
stored run of either arm counts, whatever its size and seeds (so runs trained from the
sidebar join the curve); the form trains the missing (size, arm, seed) runs through the
run manager, which queues them within the server's limits.

Identical runs (``mtl_core.execution.identity``: same config and seeds, data, threads, device and
code version) count once: a second copy of a seed would narrow the band and the paired
interval with no new information. The form reuses stored identical runs, and says so;
a run the curve drew that its owner deletes is named in a note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.dashboard.batch import CURVE_SEEDS, CURVE_VARY
from mtl_core.dashboard.figures.studies import learning_curve_figure
from mtl_core.dashboard.figures.style import CUT_NOTE
from mtl_core.dashboard.groups import FINISHED, arm, best_val_metrics
from mtl_core.dashboard.pages.live import poll_every
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.open_compare import open_in_compare
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.presets import data_table
from mtl_core.data.datasets import get_dataset
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.execution.identity import config_text, dedupe, deleted_notes, reuse_line
from mtl_core.store.runs import LIVE
from mtl_core.studies.comparison import compare_arms
from mtl_core.studies.learning_curve import SINGLE, curve_arms, curve_table, parse_sizes, sized
from mtl_core.studies.replicates import MAX_SEEDS, band_key, seed_configs, seed_name

CAPTION = (
    "Each point is the mean over seeds of the best validation score a run reached; "
    "the band is ± one standard deviation. Where the lines part, the extra tasks "
    "matter; MTL is said to help most on the left, where labels are scarce. " + CUT_NOTE
)


def curve_key(config: dict, task: str) -> str:
    """Equal for runs of one arm at any train size and seeds."""
    sizes = {t: n for t, n in config.get("task_sizes", {}).items() if t != task}
    return band_key({**config, "train_size": 0, "task_sizes": sizes})


def curve_runs(runs: pd.DataFrame, config: RunConfig) -> pd.DataFrame:
    """The stored runs of the curve's arms: size, arm, seed, data_seed, run_id, status;
    of identical completed runs only the oldest (``mtl_core.execution.identity.dedupe``)."""
    task = config.tasks[0]
    keys = {curve_key(c.to_dict(), task): label for label, c in curve_arms(config, task).items()}
    rows = []
    for run in dedupe(runs).itertuples():
        label = keys.get(curve_key(run.config, task))
        if label is not None:
            rows.append(
                {
                    "size": int(run.config["train_size"]),
                    "arm": label,
                    "seed": run.config.get("seed", 0),
                    "data_seed": run.config.get("data_seed", 0),
                    "run_id": int(run.id),
                    "status": run.status,
                }
            )
    columns = ["size", "arm", "seed", "data_seed", "run_id", "status"]
    return pd.DataFrame(rows, columns=columns)


def curve_points(
    runs: pd.DataFrame, members: pd.DataFrame, metrics: pd.DataFrame, task: str
) -> pd.DataFrame:
    """``curve_table`` of the finished members (best validation metric and test metric)."""
    done = members[members.status.isin(FINISHED)].copy()
    if done.empty:
        return pd.DataFrame()
    best = best_val_metrics(metrics, runs[runs.id.isin(done.run_id)], task)
    summary = runs.set_index("id").summary
    done["best_val"] = done.run_id.map(best)
    done["test"] = [
        summary[i].get("main", {}).get(task, {}).get("test_metric", np.nan) for i in done.run_id
    ]
    arms = list(dict.fromkeys([SINGLE, *done.arm]))
    done["order"] = done.arm.map(arms.index)  # single task first, in the legend too
    return curve_table(done.sort_values(["order", "size"]).drop(columns="order"))


def size_sentences(runs: pd.DataFrame, members: pd.DataFrame, task: str) -> list[str]:
    """Per size whose runs have all ended, with both arms over two or more paired seeds:
    the paired comparison."""
    done = members[members.status.isin(FINISHED)]
    labels = [a for a in dict.fromkeys(done.arm) if a != SINGLE]
    waiting = set(members["size"][members.status.isin(LIVE)])
    lines = []
    for size in sorted(set(done["size"]) - waiting):
        here = done[done["size"] == size]
        single, multi = here[here.arm == SINGLE], here[here.arm.isin(labels)]
        if len(single) < 2 or len(multi) < 2:
            continue
        try:
            lines.append(
                compare_arms(
                    arm(runs, multi.run_id),
                    arm(runs, single.run_id),
                    task=task,
                    label_a=multi.arm.iloc[0],
                    label_b=SINGLE,
                ).sentence()
            )
        except MtlError as exc:  # unpaired seeds at this size
            lines.append(f"{size} images: no paired comparison ({exc}).")
    return lines


def curve_jobs(
    config: RunConfig, sizes: list[int], k: int, vary: bool
) -> list[tuple[str, RunConfig]]:
    """(name, config) of every run of the curve, as ``mtl_core.studies.learning_curve`` trains it."""
    task = config.tasks[0]
    jobs = []
    for size in sizes:
        for label, arm_config in curve_arms(sized(config, size, task), task).items():
            jobs += [
                (seed_name(f"{label}, {size} images", c, vary), c)
                for c in seed_configs(arm_config, k, vary)
            ]
    return jobs


def _default_sizes(config: RunConfig) -> str:
    capacity = get_dataset(config.dataset).train_capacity
    sizes = [s for s in (100, 300, 1000) if s < capacity] or [capacity]
    return ",".join(map(str, sizes))


def _start_form(manager: RunManager, owner: str, config: RunConfig) -> None:
    with st.form("learning_curve"):
        a, b, c = st.columns([3, 1, 2], vertical_alignment="bottom")
        text = a.text_input(
            "Train sizes",
            _default_sizes(config),
            key="lc_sizes",
            help="labelled training images of the main task, comma-separated",
        )
        k = b.number_input(
            "Seeds per size",
            1,
            MAX_SEEDS,
            key=control_state.view_control(CURVE_SEEDS),
            help="each arm trains once per seed at every train size (the sidebar's Seeds is "
            "Train's own)",
        )
        vary = c.checkbox(
            "also vary the data seed",
            key=control_state.view_control(CURVE_VARY),
            help="each seed also draws other training images: a curve over one "
            "fixed draw mixes the size with the luck of that draw",
        )
        if not st.form_submit_button("Train the missing runs of this curve"):
            return
    try:
        jobs = curve_jobs(config, parse_sizes(text), int(k), bool(vary))
        _, reused = manager.start_missing(
            [c for _, c in jobs], owner=owner, names=[n for n, _ in jobs]
        )
    except MtlError as exc:
        st.error(str(exc))
        return
    st.session_state[SAID + config_text(config)] = reuse_line(reused, "run")
    st.rerun()


SAID = "lc_said:"  # + the setup: the form's line on the runs it reused
USED = "lc_used:"  # + the setup: run id -> (size, arm, seed, data_seed) of runs drawn


def deleted_lines(key: str, now: pd.DataFrame, existing: pd.Series) -> list[str]:
    """Notes on runs the curve drew that are gone (their owner deleted them) while no
    run has taken their place; then remember the finished runs drawn now (under
    ``USED + key``)."""
    used: dict[int, tuple] = st.session_state.get(USED + key, {})
    done = now[now.status.isin(FINISHED)]
    filled = set(zip(done["size"], done.arm, done.seed, done.data_seed, strict=True))
    present = {int(i) for i in existing}
    gone = [i for i, slot in used.items() if slot not in filled and i not in present]
    lines = deleted_notes(gone, present, "this learning curve")
    kept = {i: used[i] for i in gone}  # noted until a run takes their place
    for row in done.itertuples():
        kept[int(row.run_id)] = (row.size, row.arm, row.seed, row.data_seed)
    st.session_state[USED + key] = kept
    return lines


def curve_caption(config: RunConfig, task: str, arms: list[str]) -> str:
    """What each point trains, in words: it read "digit labels only on the training images
    counted on the x-axis", and a teacher could not tell whether the auxiliary tasks'
    labels shrank with the size too (they do, unless a task has a budget of its own)."""
    aux = list(config.aux)
    own = {a: config.task_sizes[a] for a in aux if config.task_sizes.get(a)}
    same = [a for a in aux if a not in own]
    parts = []
    if same:
        parts.append(f"{', '.join(same)} labelled on the same N images")
    if own:
        parts.append(", ".join(f"{a} on {n:,} images (its label budget)" for a, n in own.items()))
    tail = f"; auxiliary tasks: {'; '.join(parts)}" if parts else ""
    return (
        f"For the sidebar's setup, at each train size N (the x-axis): {' vs '.join(arms)}, "
        f"trained on N images labelled with {task}{tail}."
    )


def learning_view(manager: RunManager, owner: str, config: RunConfig | None) -> None:
    if config is None:
        st.info("Fix the setup in the sidebar first: the learning curve is drawn for it.")
        return
    task = config.tasks[0]
    arms = curve_arms(config, task)
    st.caption(curve_caption(config, task, list(arms)))
    _start_form(manager, owner, config)
    if st.session_state.get(SAID + config_text(config)):
        st.caption(st.session_state[SAID + config_text(config)])
    members = curve_runs(manager.store.runs(), config)
    live = bool(members.status.isin(LIVE).any())
    large = bool(st.session_state.get(K.large, False))

    def panel() -> bool:
        # the curve's runs (and those it drew before) alone, read every second while they
        # train: not the whole store (store/select.py says why); a run started elsewhere
        # joins at the next full rerun
        drawn = st.session_state.get(USED + config_text(config), {})
        runs = manager.store.runs(ids=[*members.run_id, *drawn])
        now = curve_runs(runs, config)
        for line in deleted_lines(config_text(config), now, runs.id):
            st.warning(
                f"{line[0].upper()}{line[1:]}: its owner removed it, so its point "
                "has one seed fewer (train the missing runs again above)."
            )
        if now.empty:
            st.info(
                "No stored runs of this setup or its single-task baseline yet: train the "
                "curve above (or press Train at a few sizes)."
            )
            return False
        running = int(now.status.isin(LIVE).sum())
        if running:
            st.caption(
                f"{running} run(s) of the curve queued or training; points appear as they finish."
            )
        metrics = manager.store.metrics(list(now.run_id[now.status.isin(FINISHED)]))
        table = curve_points(runs, now, metrics, task)
        if table.empty:
            return bool(running)
        metric = get_task(task).metric
        chart(
            learning_curve_figure(table, metric=metric, task=task, large_fonts=large),
            key="learning_curve",
        )
        st.caption(CAPTION)
        for line in size_sentences(runs, now, task):
            st.markdown(f"- {line}")
        data_table(table.rename(columns=table_headings(metric)))
        return bool(running)

    live_panel(panel, poll_every(manager) if live else None)
    if len(members):
        open_in_compare(list(members.run_id), key="lc_compare", what="the curve's runs")


def table_headings(metric: str) -> dict[str, str]:
    """The curve table's columns in words (it showed ``val_mean``, ``test_sd``)."""
    return {
        "size": "training images",
        "n": "seeds",
        "val_mean": f"best validation {metric}: mean",
        "val_sd": "validation sd",
        "test_mean": f"test {metric}: mean",
        "test_sd": "test sd",
    }
