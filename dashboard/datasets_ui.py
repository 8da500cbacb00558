"""Datasets that are not installed: say how to get them, offer the download."""

from __future__ import annotations

import streamlit as st

from mtl_core.datasets import get_dataset
from mtl_core.download import download, find_idx_dir
from mtl_core.errors import MtlError


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
    return (f"{name} is not installed: put its four IDX files in data/{name}/, run "
            f"`python -m mtl_core download {name}`{extra}, or press Download.")  # fmt: skip


def download_button(name: str) -> None:
    if not st.sidebar.button(f"Download {name}", key=f"download_{name}"):
        return
    bar = st.sidebar.progress(0.0, text=f"downloading {name}…")

    def progress(file: str, done: int, total: int | None) -> None:
        if total:
            bar.progress(min(1.0, done / total), text=f"{file}: {done // 1024} KiB")

    try:
        download(name, progress=progress)
    except MtlError as exc:
        st.sidebar.error(str(exc))
    else:
        st.sidebar.success(f"{name} is ready")
