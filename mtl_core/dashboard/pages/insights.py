"""Insights: what happens inside one run: gradient conflict, inter-task affinity, task
weights, trunks, features.

The view shows one run (by default the one this session trained or opened last; any
stored run can be chosen). Like every view it reads the run store: while the run trains,
a fragment redraws the per-epoch panels about once a second, fetching only new epochs;
the map of the representation appears when the run has finished, because the trainer
stores the trunk features (best and last epoch) at its end.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from mtl_core.analysis.affinity import affinity_sentences, evolution, mean_affinity
from mtl_core.analysis.conflict_text import conflict_sentences, parse_pair
from mtl_core.analysis.overview import short_config
from mtl_core.analysis.projection import project
from mtl_core.dashboard.figures.insights import (
    affinity_heatmap,
    affinity_lines,
    conflict_heatmap,
    conflict_lines,
    lines_figure,
    projection_figure,
    stitch_figure,
)
from mtl_core.dashboard.pages.grouping import grouping_panel
from mtl_core.dashboard.pages.insight_tables import (
    colour_values,
    conflict_table,
    pair_label,
    stitch_table,
    towards,
    weight_table,
    wide,
)
from mtl_core.dashboard.pages.live import cached_metrics, poll_every
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.execution import offload
from mtl_core.methods import catalog
from mtl_core.store.runs import LIVE, RunStore

SELECT = "insight_select"  # the run selectbox (its value is mirrored in K.insight)
NO_SHARED_TRUNK = (
    "Gradient conflict is measured on a shared trunk (hard sharing): in this "
    "run every task has its own trunk, so the tasks' gradients never meet."
)
CAPTIONS = {
    "heatmap": "Each row is a pair of tasks, each column an epoch: blue means their gradients on "
    "the shared trunk point the same way (a step for one helps the other), red means they pull "
    "against each other, white means unrelated.",
    "affinity": "Each cell: how much one step on the row task's gradient alone lowers (blue, "
    "Z > 0) or raises (red) the column task's loss on the same batch, Z = 1 − loss after / "
    "loss before (Fifty et al. 2021), averaged over the epochs. Read a column to see who "
    "helps a task; the diagonal, in brackets, is a task's own step.",
    "affinity_lines": "How the affinity towards each main task changes as training goes on.",
    "lines": "The same cosines as lines: above the dotted zero line the two tasks agree, below "
    "it a step that helps one hurts the other.",
    "distance": "The mean distance between the tasks' trunk weights: soft sharing's penalty "
    "holds it down; independent trunks drift apart as each learns its own task.",
    "stitch": "One panel per cross-stitch unit: solid lines are a column's weight on itself, "
    "dashed lines what it takes from another task's column; dashed lines that grow mean the "
    "tasks share features.",
    "pca": "Each dot is a validation image, placed along the two directions in which the "
    "trunk's features vary most: separate clusters of one colour mean the features already "
    "tell those labels apart.",
    "pca_regression": "Each dot is a validation image, placed along the two directions in "
    "which the trunk's features vary most: a smooth colour gradient means the features "
    "encode that quantity.",
    "tsne": "t-SNE keeps each image next to its nearest neighbours but distorts distances: "
    "trust the clusters, not the gaps between them.",
}
AGGREGATOR_CAPTION = (
    "The weight the aggregator gave each task's gradient on the shared trunk, averaged "
    "over the epoch's steps: a task near 0 was mostly overruled."
)


@st.cache_data(max_entries=32, show_spinner=False)
def projection(_store: RunStore, path: str, run_id: int, name: str, method: str) -> np.ndarray:
    """The 2-D map of one stored features array (cached per store, run, array and method)."""
    features, _ = _store.get_array(run_id, name)
    # In the helper process: scikit-learn stays out of the server (one BLAS thread there).
    return offload.call(project, features, method, 0)


# -- panels ------------------------------------------------------------------------------


def _tasks(config: dict) -> list[str]:
    return list(config.get("tasks", [])) + list(config.get("aux", []))


def conflict_panel(run: dict, frame: pd.DataFrame, large: bool) -> None:
    st.markdown("##### Gradient conflict")
    config, tasks = run["config"], _tasks(run["config"])
    if config.get("sharing") != "hard":
        st.caption(NO_SHARED_TRUNK)
        return
    if len(tasks) < 2:
        st.caption("Gradient conflict compares two tasks' gradients: add an auxiliary task.")
        return
    table = conflict_table(frame, tasks)
    if table.empty:
        st.caption("No epochs yet.")
        return
    labelled = table.rename(index=pair_label)
    left, right = st.columns(2)
    with left:
        chart(conflict_heatmap(labelled, large_fonts=large), key=f"ins_conflict_{run['id']}")
        st.caption(CAPTIONS["heatmap"])
    with right:
        chart(conflict_lines(labelled, large_fonts=large), key=f"ins_conflict_lines_{run['id']}")
        st.caption(CAPTIONS["lines"])
    epochs = [int(e) for e in table.columns]
    cosines = {parse_pair(m): [float(v) for v in row] for m, row in table.iterrows()}
    st.markdown("\n".join(f"- {line}" for line in conflict_sentences(cosines, epochs)))


def affinity_panel(run: dict, frame: pd.DataFrame, large: bool) -> None:
    st.markdown("##### Inter-task affinity")
    config, tasks = run["config"], _tasks(run["config"])
    if config.get("sharing") != "hard" or len(tasks) < 2:
        st.caption("Affinity is measured on a shared trunk: hard sharing with two or more tasks.")
        return
    matrix = mean_affinity(frame, tasks)
    if matrix.empty:
        off = config.get("affinity_every", 10) == 0
        st.caption("This run was trained with affinity off." if off else "No trained epoch yet.")
        return
    mains, aux = list(config["tasks"]), tuple(config.get("aux", []))
    left, right = st.columns(2)
    with left:
        chart(affinity_heatmap(matrix, aux=aux, large_fonts=large), key=f"ins_aff_{run['id']}")
        st.caption(CAPTIONS["affinity"])
    with right:
        lines = affinity_lines(towards(evolution(frame, tasks), mains), large_fonts=large)
        chart(lines, key=f"ins_aff_lines_{run['id']}")
        st.caption(CAPTIONS["affinity_lines"])
    st.markdown("\n".join(f"- {line}" for line in affinity_sentences(matrix, mains)))


def weight_title(config: dict) -> tuple[str, str]:
    """The weights chart's title and caption, named by the run's method."""
    aggregator = config.get("aggregator", "none")
    if aggregator != "none":
        return f"Task weights: {aggregator} aggregation", AGGREGATOR_CAPTION
    weighting = config.get("weighting", "fixed")
    method = catalog.WEIGHTINGS.get(weighting)
    return f"Task weights: {weighting} weighting", method.caption if method else ""


def no_weights_note(config: dict) -> str | None:
    """What the weights panel says instead of a chart when the run's aggregator gives no
    task weights (declared with ``reports_weights=False`` in methods/catalog.py)."""
    name = config.get("aggregator", "none")
    method = catalog.AGGREGATORS.get(name)
    if method is None or method.reports_weights:
        return None
    return (
        f"**Task weights:** {name} aggregation gives none. It builds the shared update from "
        "the task gradients without weighting them, so there are no weights to draw."
    )


ONE_TASK_WEIGHT = (
    "**Task weights:** one task, so nothing to weigh: its loss counts whole at every "
    "step. Weights show with an auxiliary task or a second main task."
)


def weights_panel(run: dict, frame: pd.DataFrame, large: bool) -> None:
    note = no_weights_note(run["config"])
    if len(_tasks(run["config"])) < 2:  # a flat line at 1 said nothing
        note = ONE_TASK_WEIGHT
    if note:
        st.info(note)
        return
    table = weight_table(frame, _tasks(run["config"]))
    if table.empty:
        return
    title, caption = weight_title(run["config"])
    chart(
        lines_figure(table, title=title, y_title="weight", large_fonts=large),
        key=f"ins_weights_{run['id']}",
    )
    st.caption(caption)


def trunks_panel(run: dict, frame: pd.DataFrame, large: bool) -> None:
    """The mean distance between the tasks' trunks (single, soft and cross-stitch sharing)."""
    if run["config"].get("sharing") not in ("single", "soft", "cross-stitch"):
        return
    model = wide(frame, "_model")
    if "trunk_distance" in model.columns:
        distance = model[["trunk_distance"]].rename(columns={"trunk_distance": "mean distance"})
        chart(
            lines_figure(
                distance,
                title="Distance between the tasks' trunks",
                y_title="distance",
                large_fonts=large,
            ),
            key=f"ins_distance_{run['id']}",
        )
        st.caption(CAPTIONS["distance"])


def stitch_panel(run: dict, frame: pd.DataFrame, large: bool) -> None:
    table = stitch_table(frame, _tasks(run["config"]))
    if table.empty:
        return
    chart(stitch_figure(table, large_fonts=large), key=f"ins_stitch_{run['id']}")
    st.caption(CAPTIONS["stitch"])


def _request_tsne(marker: str) -> None:
    st.session_state[K.tsne] = [*st.session_state.get(K.tsne, []), marker]


def representation_panel(manager: RunManager, run: dict, large: bool) -> None:
    """A 2-D map of the stored trunk features, coloured by any task's labels."""
    st.markdown("##### The shared representation")
    run_id, store = run["id"], manager.store
    names = store.array_names(run_id)
    if not any(n.startswith("features/") for n in names):
        if run["status"] in LIVE:
            st.caption(
                "The map appears when the run finishes: the features of validation "
                "images are stored at its best and its last epoch."
            )
        else:
            st.caption(
                "This run stored no features (it ended before training, or it was "
                "trained before Insights existed)."
            )
        return
    tasks = _tasks(run["config"])
    kinds = [k for k in ("best", "latest") if any(n.startswith(f"features/{k}/") for n in names)]
    a, b, c = st.columns(3)
    kind = a.segmented_control(
        "Epoch",
        kinds,
        default=kinds[0],
        key=f"ins_kind_{run_id}",
        help="the best validation epoch, or the last one trained",
    )
    kind = kind or kinds[0]
    trunks = [n.split("/", 2)[2] for n in names if n.startswith(f"features/{kind}/")]
    rank = {t: i for i, t in enumerate(["shared", *tasks])}
    trunks.sort(key=lambda t: rank.get(t, len(rank)))
    trunk = trunks[0]
    if len(trunks) > 1:
        trunk = b.selectbox(
            "Trunk",
            trunks,
            key=f"ins_trunk_{run_id}",
            help="each task has its own trunk (or column) in this run",
        )
    labelled = [n.removeprefix("labels/") for n in names if n.startswith("labels/")]
    labelled.sort(key=lambda t: rank.get(t, len(rank)))
    colour_by = c.selectbox(
        "Colour by",
        labelled,
        key=f"ins_colour_{run_id}",
        help="the validation labels of any of the run's tasks",
    )
    name = f"features/{kind}/{trunk}"
    _, meta = store.get_array(run_id, name)
    labels, label_meta = store.get_array(run_id, f"labels/{colour_by}")
    classes = list(label_meta.get("classes", []))
    values, label = colour_values(labels, classes, colour_by)
    unit = "column" if run["config"].get("sharing") == "cross-stitch" else "trunk"
    title = f"{{}} of the {trunk} {unit}'s features, epoch {meta.get('epoch')} ({kind})"
    left, right = st.columns(2)
    with left:
        points = projection(store, str(store.path), run_id, name, "pca")
        chart(
            projection_figure(
                points,
                values,
                classes=classes,
                colour_by=label,
                title=title.format("PCA"),
                large_fonts=large,
            ),
            key=f"ins_pca_{run_id}",
        )
        st.caption(CAPTIONS["pca" if classes else "pca_regression"])
    marker = f"{run_id}:{name}"
    with right:
        if marker not in st.session_state.get(K.tsne, []):
            st.button(
                "Compute a t-SNE map",
                key=f"ins_tsne_{run_id}",
                on_click=_request_tsne,
                args=(marker,),
                help="a non-linear map that keeps neighbours together; "
                "a few seconds for 500 images",
            )
            st.caption("t-SNE is slower than PCA, so it is computed only when you ask.")
            return
        with st.spinner("Computing the t-SNE map…"):
            points = projection(store, str(store.path), run_id, name, "tsne")
        chart(
            projection_figure(
                points,
                values,
                classes=classes,
                colour_by=label,
                title=title.format("t-SNE"),
                large_fonts=large,
            ),
            key=f"ins_tsne_chart_{run_id}",
        )
        st.caption(CAPTIONS["tsne"])


# -- the view ----------------------------------------------------------------------------


def _keep_choice() -> None:
    st.session_state[K.insight] = st.session_state[SELECT]


def choose_run(runs: pd.DataFrame, owner: str) -> int:
    """The run to show: the user's choice, which follows the session's focused (or latest)
    run whenever that changes."""
    names = {int(i): n for i, n in zip(runs.id, runs.name, strict=True)}
    mine = [int(i) for i in runs.id[runs.owner == owner]]
    focus = st.session_state.get(K.focus)
    preferred = focus if focus in names else (mine[0] if mine else None)
    chosen = st.session_state.get(K.insight)
    if chosen not in names or (
        preferred is not None and preferred != st.session_state.get(K.insight_default)
    ):
        chosen = preferred if preferred is not None else next(iter(names))
    st.session_state[K.insight_default] = preferred
    st.session_state[K.insight] = st.session_state[SELECT] = chosen
    return st.selectbox(
        "Run",
        list(names),
        key=SELECT,
        on_change=_keep_choice,
        # no status in the labels: drawn once per script run, it said "queued" while the
        # panel below, which refreshes, said "running"; the panel's line says it
        format_func=lambda i: f"{names[i]} (#{i})",
        help="by default the run you trained or opened last",
    )


def insights_view(manager: RunManager, owner: str) -> None:
    runs = manager.store.runs()
    if runs.empty:
        st.info("No runs yet. Press **Train** in the sidebar, then look inside the run here.")
        return
    run_id = choose_run(runs, owner)
    first = manager.store.get_run(run_id)
    large = bool(st.session_state.get(K.large, False))
    polling = poll_every(manager) if first["status"] in LIVE else None

    def panel() -> bool:
        run = manager.store.get_run(run_id)
        frame = cached_metrics(manager, run_id, live=run["status"] in LIVE)
        wall = frame[(frame.task == "_run") & (frame.metric == "wall_time")]
        done = int(wall.epoch.max()) if len(wall) else 0
        config = run["config"]
        method = config.get("weighting", "fixed")
        if config.get("aggregator", "none") != "none":
            method = f"{config['aggregator']} aggregation"
        st.caption(
            f"{run['status']} · epoch {done}/{config['epochs']} · {short_config(config)} · {method}"
        )
        conflict_panel(run, frame, large)
        affinity_panel(run, frame, large)
        st.markdown("##### Inside the training")
        left, right = st.columns(2)
        with left:
            weights_panel(run, frame, large)
        with right:
            trunks_panel(run, frame, large)
        stitch_panel(run, frame, large)
        return run["status"] in LIVE  # once it ended: the map is drawn below

    live_panel(panel, polling)
    grouping_panel(manager, owner, run_id)
    representation_panel(manager, first, large)
