"""Datasets that are not installed: say how to get them (naming the real data folder),
offer the download, and keep Train off until the files are there."""

from __future__ import annotations

import streamlit as st

from mtl_core.data.datasets import get_dataset
from mtl_core.data.download import download, find_idx_dir
from mtl_core.errors import MtlError
from mtl_core.paths import data_root


def dataset_status(name: str) -> str | None:
    """None when the dataset can be loaded; otherwise how to install it."""
    spec = get_dataset(name)
    if spec.offline:
        return None
    try:
        if find_idx_dir(name) is not None:
            return None
    except MtlError as exc:
        return str(exc)
    extra = " or `apt-get install dataset-fashion-mnist`" if name == "fashion-mnist" else ""
    return (
        f"{name} is not installed, so Train is off: press Download {name}, run "
        f"`python -m mtl_core download {name}`{extra}, or put its four IDX files in "
        f"{data_root() / name}/."
    )


def download_button(name: str) -> bool:
    """The Download button; True once the files are in place."""
    if not st.sidebar.button(f"Download {name}", key=f"download_{name}"):
        return False
    bar = st.sidebar.progress(0.0, text=f"downloading {name}…")

    def progress(file: str, done: int, total: int | None) -> None:
        if total:
            bar.progress(min(1.0, done / total), text=f"{file}: {done // 1024} KiB")

    try:
        download(name, progress=progress)
    except MtlError as exc:
        bar.empty()  # a bar stuck part-way would say the download is still going
        st.sidebar.error(str(exc))
        return False
    bar.empty()
    st.sidebar.success(f"{name} is ready")
    return True
