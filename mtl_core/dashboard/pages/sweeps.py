"""Sweeps: a grid of configurations × seeds, run from the CLI and read back from the store.

``python -m mtl_core sweep FILE`` stores every run of its grid tagged with the sweep's id
(``runs.sweep``); the sweep's spec (name, base, axes, seeds, vary_data) is stored with it.
This view picks a sweep (newest first, with how many of its runs have finished), draws
the best validation metric of the main task against one axis of the grid, one line per
value of another axis, as mean ± sd over seeds, and lists the runs so that any of them
can be opened in Live or Insights.

While a sweep has queued or training runs, a fragment redraws every 2 s and re-reads
only what can have changed: the runs of sweeps that are still live (or gained or lost
runs), and the metrics of runs that finished since the last tick; a finished run's best
validation metric is read once per session. With nothing live, a second, tiny fragment
checks every 10 s whether a sweep was started (one small query), so a sweep launched in
a terminal appears without a click.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.dashboard.figures.studies import sweep_figure
from mtl_core.dashboard.figures.style import CUT_NOTE
from mtl_core.dashboard.pages.sweep_table import (
    AVERAGED,
    AXIS,
    SweepCache,
    axis_order,
    axis_positions,
    best_vals,
    chart_points,
    grid_size,
    picker_label,
    sweep_frame,
    sweep_runs,
    wants_log,
)
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.presets import data_table
from mtl_core.data.tasks import get_task
from mtl_core.store.runs import LIVE, RunStore
from mtl_core.written import counted

SWEEP_POLL_SECONDS = 2.0
IDLE_POLL_SECONDS = 10.0
NO_COLOUR = "(one line)"
EXAMPLE = """\
name: aux-by-size
axes: {train_size: [100, 300, 1000], aux: [[], [parity, magnitude]]}
seeds: [0, 1, 2]"""
EMPTY = (
    "No sweeps yet. Start one from a terminal with `python -m mtl_core sweep sweep.yaml`; "
    "a sweep file looks like this (every combination of the axes, once per seed):"
)

FEW_SEEDS = 3  # fewer seeds a point: the caption says the band is no interval


def session_cache() -> SweepCache:
    return st.session_state.setdefault(K.sweep_cache, SweepCache())


def _open(run_id: int, view: str) -> None:
    st.session_state[K.focus] = int(run_id)
    st.session_state[K.pending_view] = view  # applied by app.py before the view control
    st.rerun(scope="app")


def _caption(
    spec: dict,
    frame: pd.DataFrame,
    chosen: pd.DataFrame,
    points: pd.DataFrame,
    held: dict[str, str],
    metric: str,
) -> str:
    fixed = [f"{n} = {v}" for n, v in held.items() if v != AVERAGED]
    pooled = [n for n, v in held.items() if v == AVERAGED]
    text = (
        f"Each line is the mean of the best validation {metric} (over epochs) of the runs "
        "at that point, the band ± one standard deviation, each faint dot one run. " + CUT_NOTE
    )
    if fixed:
        text += f" Held at {', '.join(fixed)}."
    if pooled:
        text += (
            f" Averaged over {', '.join(pooled)}: their runs are pooled with the seeds, "
            "so the band spans both."
        )
    seeds = len(spec.get("seeds") or [0])
    if seeds < FEW_SEEDS and not pooled:  # 2 seeds drew a band from 0.77 to 0.93
        text += (
            f" With {counted(seeds, 'seed')} a point, the band is only their spread and "
            f"no interval: train {FEW_SEEDS} or more seeds before reading a difference "
            "between points."
        )
    text += f" {len(points)} of the sweep's {len(frame)} runs are in the picture"
    pending = chosen[chosen.best_val.isna()]
    live = int(pending.status.isin(LIVE).sum())
    notes = [f"{live} still queued or training"] if live else []
    if len(pending) > live:
        notes.append(f"{len(pending) - live} ended without a result")
    if notes:
        text += f"; at these values, {' and '.join(notes)}"
    return text + "."


def _controls(sweep_id: int, spec: dict, frame: pd.DataFrame) -> tuple[str, str | None, dict]:
    """x-axis, colour-by and the values the other axes are held at (or AVERAGED)."""
    names = list(spec["axes"])
    numeric = [n for n in names if axis_positions(spec["axes"][n]) and len(spec["axes"][n]) > 1]
    a, b = st.columns(2)
    x = a.selectbox(
        "x-axis",
        names,
        index=names.index(numeric[0]) if numeric else 0,
        key=f"sw_x_{sweep_id}",
        help="any axis of the sweep",
    )
    others = [n for n in names if n != x]
    colour = b.selectbox(
        "Colour by",
        [NO_COLOUR, *others],
        index=1 if others else 0,
        key=f"sw_colour_{sweep_id}",
        help="one line per value of this axis",
    )
    rest = [n for n in others if n != colour]
    held = {}
    for name, column in zip(rest, st.columns(len(rest)) if rest else [], strict=True):
        options = [AVERAGED, *axis_order(spec, frame, name)]
        held[name] = column.selectbox(
            name,
            options,
            index=1,
            key=f"sw_hold_{sweep_id}_{name}",
            help="draw only the runs at this value, or pool them all",
        )
    return x, None if colour == NO_COLOUR else colour, held


def _table(frame: pd.DataFrame, spec: dict, metric: str) -> None:
    table = pd.DataFrame({"run": frame.run_id})
    for name in spec["axes"]:
        table[name] = frame[AXIS + name]
    table["seed"] = frame.seed
    if spec.get("vary_data"):
        table["data seed"] = frame.data_seed
    table["status"] = frame.status
    if frame.task.nunique() > 1:
        table["task"] = frame.task
    table[f"best val {metric}"] = frame.best_val
    table[f"test {metric}"] = frame.test
    data_table(table, four_places=(f"best val {metric}", f"test {metric}"))


def _opener(sweep_id: int, frame: pd.DataFrame, spec: dict) -> None:
    names = list(spec["axes"])
    rows = frame.set_index("run_id")

    def describe(run_id: int) -> str:
        row = rows.loc[run_id]
        values = " · ".join(f"{n} {row[AXIS + n]}" for n in names)
        return f"#{run_id} · {values} · seed {row.seed} · {row.status}"

    a, b, c = st.columns([6, 1, 1], vertical_alignment="bottom")
    run_id = a.selectbox(
        "Open a run",
        list(frame.run_id),
        format_func=describe,
        key=f"sw_open_{sweep_id}",
        help="its curves in Live, or Insights",
    )
    if b.button("Curves", key="sw_live", help="open the run in Live", width="stretch"):
        _open(run_id, V.live)
    if c.button("Insights", key="sw_insights", help="open the run in Insights", width="stretch"):
        _open(run_id, V.insights)


def sweep_panel(
    store: RunStore, sweep_id: int, spec: dict, runs: pd.DataFrame, cache: SweepCache, large: bool
) -> None:
    """One sweep: what it is, the chart, the table of runs and the run opener."""
    spec = {**spec, "axes": dict(spec.get("axes") or {})}
    axes = " × ".join(f"{n} ({len(v)})" for n, v in spec["axes"].items()) or "no axes"
    seeds = len(spec.get("seeds") or [0])
    varied = ", data seed varied with the seed" if spec.get("vary_data") else ""
    grid = grid_size(spec)
    stored = "" if len(runs) == grid else f", {len(runs)} of them stored"
    st.caption(f"{axes} × {counted(seeds, 'seed')}{varied} = {grid} runs in the grid{stored}.")
    if runs.empty:
        st.info("None of this sweep's runs is stored yet: they appear as the sweep queues them.")
        return
    frame = sweep_frame(runs, spec, best_vals(store, runs, cache))
    tasks = list(dict.fromkeys(frame.task))
    task = tasks[0]
    if len(tasks) > 1:
        task = st.selectbox(
            "Main task",
            tasks,
            key=f"sw_task_{sweep_id}",
            help="the sweep's runs differ in their main task",
        )
    spec_task = get_task(task)
    if spec["axes"]:
        x, colour, held = _controls(sweep_id, spec, frame[frame.task == task])
        chosen, points = chart_points(frame[frame.task == task], x, colour, held)
        if points.empty:
            st.info("No run at these values has finished yet: points appear as runs finish.")
        else:
            positions = axis_positions(spec["axes"][x])
            order = axis_order(spec, frame, x)
            if positions is not None and not set(order) <= set(positions):
                positions = None  # a run with a value outside the file: draw categories
            colours = axis_order(spec, frame, colour) if colour else ["all runs"]
            rank = {c: i for i, c in enumerate(colours)}
            points = points.sort_values("colour", key=lambda s: s.map(rank), kind="stable")
            fig = sweep_figure(
                points,
                x_axis=x,
                x_order=order,
                metric=spec_task.metric,
                colour_by=colour or "",
                x_values=positions,
                log_x=wants_log(positions),
                large_fonts=large,
            )
            chart(fig, key=f"sweep_chart_{sweep_id}")
        st.caption(_caption(spec, frame, chosen, points, held, spec_task.metric))
    _table(frame, spec, spec_task.metric)
    _opener(sweep_id, frame, spec)


def _signature(sweeps: pd.DataFrame) -> list[tuple[int, int]]:
    return [(int(i), int(n)) for i, n in zip(sweeps.id, sweeps.runs, strict=True)]


def _watch(store: RunStore, seen: list[tuple[int, int]]) -> None:
    """With nothing live: every 10 s, one small query; a full rerun when a sweep (or a run
    of one) appeared or was deleted."""

    @st.fragment(run_every=IDLE_POLL_SECONDS)
    def watch() -> None:
        if _signature(store.sweeps()) != seen:
            st.rerun(scope="app")

    watch()


def sweeps_view(manager: RunManager) -> None:
    store = manager.store
    sweeps = store.sweeps()
    if sweeps.empty:
        st.info(EMPTY)
        st.code(EXAMPLE, language="yaml")
        _watch(store, [])
        return
    cache = session_cache()
    live = any(r.status.isin(LIVE).any() for r in sweep_runs(store, sweeps, cache).values())
    large = bool(st.session_state.get(K.large, False))

    def panel() -> bool:
        now = store.sweeps()
        runs = sweep_runs(store, now, cache)
        labels = {
            int(i): picker_label(n, int(i), runs[int(i)])
            for i, n in zip(now.id, now.name, strict=True)
        }
        sweep_id = st.selectbox(
            "Sweep",
            list(labels),
            format_func=labels.get,
            key=K.sweep,
            help="newest first; the counts follow the sweep as it runs",
        )
        spec = now.spec[now.id == sweep_id].iloc[0]
        sweep_panel(store, sweep_id, spec, runs[sweep_id], cache, large)
        return any(r.status.isin(LIVE).any() for r in runs.values())

    live_panel(panel, SWEEP_POLL_SECONDS if live else None)
    if not live:
        _watch(store, _signature(sweeps))
