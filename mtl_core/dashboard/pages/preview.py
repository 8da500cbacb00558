"""Seeing the data: training images with every task's label, and after training, where
the model goes wrong (confusion matrix and misclassified validation images).

The preview takes the earliest training images of each class in turn (see
``preview_indices``), so every class shows even when the first images of the split
happen to repeat a class; the misclassified images are the trainer's choice, already
spread over the true classes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.data.splits import Bundle, load_bundle
from mtl_core.data.tasks import Split, class_names_for, get_task
from mtl_core.errors import MtlError

PREVIEW_COUNT = 12
PIXELS = 112  # images are upscaled (nearest neighbour) to about this side


@st.cache_resource(max_entries=4, show_spinner="Preparing the data…")
def cached_bundle(dataset: str, variant: str, data_seed: int) -> Bundle:
    return load_bundle(dataset, variant, data_seed)


def preview_indices(classes: np.ndarray, count: int, pool: int) -> np.ndarray:
    """``count`` positions among the first ``pool`` training images, classes taking turns.

    Each class offers its members in training order (a seeded, stratified order: see
    ``mtl_core.data.splits``), so the preview shows images the run trains on, every class among
    them whenever ``count`` is at least the number of classes in the pool.
    """
    classes = np.asarray(classes)[:pool]
    rank = np.zeros(len(classes), dtype=np.int64)  # how many of its class come before
    for value in np.unique(classes):
        members = np.flatnonzero(classes == value)
        rank[members] = np.arange(len(members))
    return np.lexsort((np.arange(len(classes)), rank))[:count]


def _picture(image) -> np.ndarray:
    pixels = image[0].numpy()
    factor = max(1, PIXELS // pixels.shape[0])
    return np.kron(pixels, np.ones((factor, factor)))


def _label(task_name: str, split, index: int, family: str) -> str:
    task = get_task(task_name)
    one = Split(
        split.images[index : index + 1],
        split.labels[index : index + 1],
        {k: v[index : index + 1] for k, v in split.extras.items()},
    )
    target = task.make_target(one)[0]
    if task.is_classification:
        return f"{task_name}: {class_names_for(task, family)[int(target)]}"
    if task_name == "angle":
        return f"angle: {float(target) * 45:+.0f}°"
    if task_name == "bbox":
        return f"bbox: {float(target[0]):.2f}×{float(target[1]):.2f}"
    return f"{task_name}: {target.numel()} pixels"


def data_view(config: RunConfig | None) -> None:
    if config is None:
        st.info("Fix the setup in the sidebar to preview its data.")
        return
    try:
        bundle = cached_bundle(config.dataset, config.variant, config.data_seed)
    except MtlError as exc:
        st.error(str(exc))
        return
    split = bundle.train
    shown = preview_indices(split.labels.numpy(), PREVIEW_COUNT, config.train_size)
    st.markdown(
        f"**{config.dataset} · {config.variant}**: {len(shown)} of the run's "
        f"{config.train_size:,} training images (of {len(bundle.train):,}), the first "
        "of each class in turn, with the label of every task in the setup. "
        f"Validation: {len(bundle.val):,} images; test: {len(bundle.test):,}."
    )
    cols = st.columns(6)
    for n, i in enumerate(shown):
        i = int(i)
        caption = " · ".join(_label(t, split, i, bundle.family) for t in config.all_tasks)
        cols[n % 6].image(_picture(split.images[i]), caption=caption, clamp=True, width="stretch")
    if any(get_task(t).masks_input for t in config.all_tasks):
        st.caption("The quadrant task sees its input with the bottom-right quadrant blacked out.")


def mistakes_view(run: dict) -> None:
    """Confusion matrix and misclassified validation images at each main task's best epoch."""
    config = run["config"]
    for task_name, s in run["summary"].get("main", {}).items():
        if "confusion" not in s:
            continue
        task = get_task(task_name)
        bundle = cached_bundle(config["dataset"], config["variant"], config["data_seed"])
        names = list(class_names_for(task, bundle.family))
        matrix = np.array(s["confusion"])
        st.markdown(f"**{task_name}** at its best epoch ({s['best_epoch']}), validation set")
        left, right = st.columns([3, 2])
        fig = go.Figure(
            go.Heatmap(
                z=matrix,
                x=names,
                y=names,
                colorscale="Blues",
                hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>",
            )
        )
        fig.update_layout(
            height=380,
            xaxis_title="predicted",
            yaxis_title="true",
            yaxis_autorange="reversed",
            margin={"t": 10},
        )
        left.plotly_chart(fig, key=f"confusion_{run['id']}_{task_name}")
        wrong = s.get("misclassified", [])
        if wrong:
            right.caption("Misclassified (true → predicted)")
            cols = right.columns(4)
            for i, (index, true, pred) in enumerate(wrong[:12]):
                cols[i % 4].image(
                    _picture(bundle.val.images[index]),
                    caption=f"{names[true]} → {names[pred]}",
                    clamp=True,
                )
