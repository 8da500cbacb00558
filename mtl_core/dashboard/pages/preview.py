"""Seeing the data: training images with every task's label, and after training, where
the model goes wrong (confusion matrix and misclassified validation images).

The images come as numpy arrays from a helper process (``mtl_core.execution.offload`` runs
``mtl_core.data.preview`` there), so the server itself never imports torch. The preview
takes the earliest training images of each class in turn; the misclassified images are the
trainer's choice, already spread over the true classes.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.data import preview as data_preview
from mtl_core.data.tasks import class_names_for, get_task
from mtl_core.errors import MtlError
from mtl_core.execution import offload

PREVIEW_COUNT = 12
PIXELS = 112  # images are upscaled (nearest neighbour) to about this side


@st.cache_data(max_entries=16, show_spinner="Preparing the data…")
def fetch_preview(
    dataset: str, variant: str, data_seed: int, train_size: int, tasks: tuple[str, ...]
) -> dict:
    return offload.call(
        data_preview.training_preview,
        dataset,
        variant,
        data_seed,
        train_size,
        list(tasks),
        PREVIEW_COUNT,
    )


@st.cache_data(max_entries=16, show_spinner="Fetching the images…")
def fetch_validation(dataset: str, variant: str, data_seed: int, indices: tuple[int, ...]) -> dict:
    return offload.call(data_preview.validation_images, dataset, variant, data_seed, list(indices))


def _picture(pixels: np.ndarray) -> np.ndarray:
    factor = max(1, PIXELS // pixels.shape[0])
    return np.kron(pixels, np.ones((factor, factor)))


def data_view(config: RunConfig | None) -> None:
    if config is None:
        st.info("Fix the setup in the sidebar to preview its data.")
        return
    try:
        shown = fetch_preview(
            config.dataset,
            config.variant,
            config.data_seed,
            config.train_size,
            tuple(config.all_tasks),
        )
    except MtlError as exc:
        st.error(str(exc))
        return
    train, val, test = shown["sizes"]
    st.markdown(
        f"**{config.dataset} · {config.variant}**: {len(shown['images'])} of the run's "
        f"{config.train_size:,} training images (of {train:,}), the first "
        "of each class in turn, with the label of every task in the setup. "
        f"Validation: {val:,} images; test: {test:,}."
    )
    cols = st.columns(6)
    for n, (image, caption) in enumerate(zip(shown["images"], shown["captions"], strict=True)):
        cols[n % 6].image(_picture(image), caption=caption, clamp=True, width="stretch")
    if any(get_task(t).masks_input for t in config.all_tasks):
        st.caption("The quadrant task sees its input with the bottom-right quadrant blacked out.")


def mistakes_view(run: dict) -> None:
    """Confusion matrix and misclassified validation images at each main task's best epoch."""
    config = run["config"]
    for task_name, s in run["summary"].get("main", {}).items():
        if "confusion" not in s:
            continue
        task = get_task(task_name)
        wrong = s.get("misclassified", [])[:12]
        try:
            images = fetch_validation(
                config["dataset"],
                config["variant"],
                config["data_seed"],
                tuple(int(index) for index, _, _ in wrong),
            )
        except MtlError as exc:
            st.error(str(exc))
            return
        names = list(class_names_for(task, images["family"]))
        matrix = np.array(s["confusion"])
        st.markdown(f"**{task_name}** at its best epoch ({s['best_epoch']}), validation set")
        left, right = st.columns([3, 2])
        fig = go.Figure(
            go.Heatmap(
                z=matrix,
                x=names,
                y=names,
                colorscale="Blues",
                # from none: scaled from its smallest cell, a two-class matrix drew its
                # errors (14 % of the images) white, as if there were none; and the counts
                # written in the cells, for a room that cannot hover
                zmin=0,
                zmax=max(1, int(matrix.max())),  # Plotly takes zmin with zmax alone
                texttemplate="%{z}",
                hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>",
            )
        )
        fig.update_layout(
            height=380,
            # categories: digit names would read as numbers, labelled every second class
            xaxis={"title": "predicted", "type": "category"},
            yaxis={"title": "true", "type": "category", "autorange": "reversed"},
            margin={"t": 10},
        )
        with left:  # the page's own chart: Streamlit's plotly_chart loads a 4.7 MB bundle
            chart(fig, key=f"confusion_{run['id']}_{task_name}")
        if wrong:
            right.caption("Misclassified (true → predicted)")
            cols = right.columns(4)
            for i, (_, true, pred) in enumerate(wrong):
                cols[i % 4].image(
                    _picture(images["images"][i]),
                    caption=f"{names[true]} → {names[pred]}",
                    clamp=True,
                )
