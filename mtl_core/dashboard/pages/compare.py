"""Comparing runs: overlay any stored runs, coloured by run, dashed for validation.

Runs whose configs differ only in their seeds are drawn as one group: the mean curve with
a ± one standard deviation band. Two such groups get a paired comparison in one sentence
(``mtl_core.studies.comparison``); a group of multi-task seeds offers its follow-ups (studies.py).
The summary table leads with each run's status and epochs run, and a note counts the runs
still training or ended early, so a half-trained run never passes for a finished one.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import streamlit as st

from mtl_core.analysis.overview import short_config
from mtl_core.analysis.summary import best_epoch, still_improving
from mtl_core.dashboard.figures.curves import curves_figure
from mtl_core.dashboard.figures.style import CUT_NOTE, LINE_KEY, colour
from mtl_core.dashboard.groups import (
    arm_labels,
    band_frames,
    live_ids,
    paired_comparison,
    seed_groups,
)
from mtl_core.dashboard.pages.live import cached_metrics, poll_every
from mtl_core.dashboard.pages.studies import follow_ups
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.presets import data_table
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.store.runs import LIVE
from mtl_core.store.schema import Status


def epochs_run(frame: pd.DataFrame, run_id: int) -> int:
    """Epochs a run has finished so far (epoch 0 is the evaluation before training)."""
    done = frame[(frame.run_id == run_id) & (frame.split != "test")].epoch
    return int(done.max()) if len(done) else 0


def _so_far(frame: pd.DataFrame, run_id: int, task: str) -> dict:
    """Best validation loss so far of a run that has no summary yet (live, or ended
    before its first epoch was scored): its epoch, value and train/val gap there."""
    rows = frame[(frame.run_id == run_id) & (frame.task == task) & (frame.metric == "loss")]
    val = rows[rows.split == "val"].sort_values("epoch")
    if not len(val):
        return {}
    best = int(val.epoch.iloc[best_epoch(val.value.tolist())])
    train = rows[(rows.split == "train") & (rows.epoch == best)].value
    loss = float(val[val.epoch == best].value.iloc[0])
    gap = round(loss - float(train.iloc[0]), 4) if len(train) else None
    return {"best_epoch": best, "best_val_loss": loss, "gap": gap}


def summary_table(runs: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """One row per run and main task: how far it got, then its numbers, then its names.
    A run still training shows its best epoch so far; its test metric comes at the end."""
    rows = []
    for run in runs.itertuples():
        summary = run.summary.get("main", {})
        planned = int(run.config.get("epochs", 0))
        done = run.summary.get("epochs_run", epochs_run(frame, run.id))
        for task in run.config.get("tasks", []):
            s = summary.get(task)
            metric = get_task(task).metric
            row = {"status": run.status, "epochs run": f"{done}/{planned}", "task": task}
            if s is not None:
                row.update(
                    {
                        f"test {metric}": round(s["test_metric"], 4),
                        "best val loss": round(s["best_val_loss"], 4),
                        "best epoch": s["best_epoch"],
                        "gap": round(s["gap"], 4),
                    }
                )
            else:
                part = _so_far(frame, run.id, task)
                row.update(
                    {
                        f"test {metric}": None,
                        "best val loss": round(part["best_val_loss"], 4) if part else None,
                        "best epoch": part.get("best_epoch"),
                        "gap": part.get("gap"),
                    }
                )
            row.update({"run": run.name, "config": short_config(run.config)})
            rows.append(row)
    table = pd.DataFrame(rows)
    tests = [c for c in table.columns if c.startswith("test ")]
    first, last = (
        ["status", "epochs run", "task"],
        ["best val loss", "best epoch", "gap", "run", "config"],
    )
    return table[first + tests + last] if len(table) else table


def progress_note(runs: pd.DataFrame) -> str:
    """E.g. "2 of 3 runs still training": a live or cut-short run must not pass for done."""
    total = len(runs)
    live = int(runs.status.isin(LIVE).sum())
    ended = runs[~runs.status.isin(LIVE) & (runs.status != Status.COMPLETED)]
    runs_word = "run" if total == 1 else "runs"
    parts = []
    if live:
        parts.append(
            f"{live} of {total} {runs_word} still training (or queued, or paused): "
            "their rows show the best epoch so far; the test metric comes when "
            "they finish."
        )
    if len(ended):
        states = ", ".join(sorted(set(ended.status)))
        parts.append(
            f"{len(ended)} of {total} {runs_word} ended before their last epoch ({states}): "
            "their numbers cover only the epochs they ran."
        )
    return " ".join(parts)


def caveats(runs: pd.DataFrame, frame: pd.DataFrame, groups: list[list[int]]) -> list[str]:
    """What the table's numbers cannot carry, in words: ended runs whose validation loss
    was lowest at their last epoch (``summary.still_improving``: their scores are of
    unfinished networks), and, when no setup has two seeds, that one seed per setup has
    no interval (a class read a 13-point difference between two single runs)."""
    ended = runs[~runs.status.isin(LIVE)]
    unfinished = []
    for run in ended.itertuples():
        mine = frame[(frame.run_id == run.id) & (frame.split == "val") & (frame.metric == "loss")]
        for task in run.config.get("tasks", []):
            val = mine[mine.task == task].sort_values("epoch").value.tolist()
            if still_improving(val):
                unfinished.append(int(run.id))
                break
    out = []
    if unfinished:
        shown = ", ".join(f"#{i}" for i in unfinished)
        out.append(
            f"Still improving at their last epoch: {shown} (their validation loss was lowest "
            "there). Their scores are of networks that had not finished learning: with more "
            "epochs the comparison may change."
        )
    if len(ended) >= 2 and groups and all(len(ids) == 1 for ids in groups):
        out.append(
            "One seed per setup: a difference between these runs may come from the draw "
            "(the initial weights, the split) alone, and one run per setup gives no interval. "
            "Set Seeds to 3 or more in the sidebar and train again: the runs of each setup "
            "then form a band, and two setups' seeds are compared with an interval."
        )
    return out


def curve_names(
    now: pd.DataFrame, groups: list[list[int]], names: dict[int, str], banded: bool
) -> dict[int, str]:
    """The legend's name of every curve, all different: each group's label (its own name,
    or what sets its setup apart), then "(mean of K seeds)" for a band, or the seed for
    a run drawn alone. A run's curve named otherwise than its run ends in its number, as
    the run's chip above the chart does ("run 1 (#1)"): the legend said "digit
    +parity · hard" with nothing to tie it to a chip."""
    own = dict(names)
    names = dict(names)
    seeds = dict(zip(now.id, (c.get("seed", 0) for c in now.config), strict=True))
    for ids, label in zip(groups, arm_labels(now, groups), strict=True):
        if banded and len(ids) >= 2:
            names[ids[0]] = f"{label} (mean of {len(ids)} seeds)"
            continue
        for i in ids:
            name = label if len(ids) == 1 else f"{label}, seed {seeds[i]}"
            names[i] = name if name == own.get(i) else f"{name} (#{i})"
    return names


def _bands(
    frame: pd.DataFrame, now: pd.DataFrame, groups: list[list[int]]
) -> tuple[pd.DataFrame, dict]:
    """Replace each group of seeds by its mean curves; return the frame and the bands."""
    bands = {}
    for ids in [ids for ids in groups if len(ids) >= 2]:
        mean, stats = band_frames(frame, ids, live=bool(live_ids(now, ids)))
        frame = pd.concat([frame[~frame.run_id.isin(ids)], mean], ignore_index=True)
        bands[ids[0]] = stats
    return frame, bands


def run_colours(run_ids: Iterable[int]) -> dict[int, str]:
    """Each curve's colour, in the order of run ids: the same runs keep their colours
    whatever order they were picked in (a run was blue after "Compare with single-task"
    and orange after "Compare selected" in History, which picks them newest first). One
    run alone is coloured by task, as in Live (none fixed here)."""
    ids = sorted({int(r) for r in run_ids})
    return {r: colour(k) for k, r in enumerate(ids)} if len(ids) > 1 else {}


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
        st.info(
            "No runs yet: nothing to overlay. Press **Train** in the sidebar (each press "
            "stores a run), or open a lesson from **Lessons**, which trains its arms on "
            "several seeds; then pick the runs here or in **History**."
        )
        return
    names = dict(zip(runs.id, runs.name, strict=True))
    if K.pending_compare in st.session_state:
        st.session_state[K.compare] = st.session_state.pop(K.pending_compare)
    st.session_state[K.compare] = [i for i in st.session_state.get(K.compare, []) if i in names]
    chosen = st.multiselect(
        "Runs to overlay", list(names), key=K.compare, format_func=lambda i: f"{names[i]} (#{i})"
    )
    if not chosen:
        st.caption("Pick runs here, or select them in History and press Compare.")
        return
    bands_on = st.toggle(
        "Seed bands",
        value=True,
        key="seed_bands",
        help="runs whose configs differ only in their seeds are drawn as one "
        "mean line with a ± one standard deviation band",
    )
    live = runs[runs.id.isin(chosen)].status.isin(LIVE).any()

    def panel() -> bool:
        now = manager.store.runs(ids=chosen)
        now = now.set_index("id").loc[[i for i in chosen if i in set(now.id)]].reset_index()
        going = set(now.id[now.status.isin(LIVE)])
        frame = pd.concat(
            [cached_metrics(manager, i, live=i in going) for i in chosen], ignore_index=True
        )
        tasks = list(dict.fromkeys(t for cfg in now.config for t in cfg["tasks"]))
        groups = seed_groups(now)
        drawn, bands = _bands(frame, now, groups) if bands_on else (frame, {})
        labels = curve_names(now, groups, names, bands_on)
        best = {}
        for run_id in dict.fromkeys(drawn.run_id):
            for task in tasks:
                val = drawn[
                    (drawn.run_id == run_id)
                    & (drawn.task == task)
                    & (drawn.split == "val")
                    & (drawn.metric == "loss")
                ].sort_values("epoch")
                if len(val):
                    best[(run_id, task)] = int(val.epoch.iloc[best_epoch(val.value.tolist())])
        fig = curves_figure(
            drawn,
            tasks=tasks,
            metric_of={t: get_task(t).metric for t in tasks},
            run_names=labels,
            best=best,
            bands=bands,
            colours=run_colours(drawn.run_id),
            # the epochs the runs train, from the start: fitted to the points, runs without
            # an epoch yet drew Plotly's default axis, -1 to 6
            planned=max((int(c.get("epochs", 0)) for c in now.config), default=0) or None,
            **options,
        )
        note = progress_note(now)
        if note:
            st.info(note)
        chart(fig, key="compare_chart")
        caption = f"{LINE_KEY}; stars: best validation epoch."
        if bands:
            caption += (
                " Shaded: ± one standard deviation over the seeds (mean line in the middle). "
                + CUT_NOTE
            )
        st.caption(caption)
        comparison_line(now, groups)
        table = summary_table(now, frame)
        if len(table):
            # one precision a column: "0.75" stood beside "0.6167"
            scores = [c for c in table.columns if c.startswith("test ")]
            data_table(table, four_places=(*scores, "best val loss", "gap"))
        for line in caveats(now, frame, groups):
            st.caption(line)
        return bool(now.status.isin(LIVE).any())

    live_panel(panel, poll_every(manager) if live else None)
    groups = seed_groups(runs.set_index("id").loc[chosen].reset_index())
    follow_ups(manager, owner, runs, [ids for ids in groups if len(ids) >= 2])
