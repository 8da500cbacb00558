"""Where a run's numbers came from: versions, threads, the code's commit, the data's hash.

With the config, the data hash, thread count, device and ``curve_version`` make a run's
identity (``mtl_core.execution.identity``): runs equal in all of them have identical curves.
``CURVE_VERSION`` is defined here, where it is recorded, so that training imports nothing
from the execution layer above it; ``identity`` compares it.
"""

from __future__ import annotations

import functools
import platform
import subprocess

import numpy as np

from mtl_core.paths import PROJECT_ROOT, in_checkout

CURVE_VERSION = 1
"""The version of the code's curves (see ``mtl_core.execution.identity``, which compares
it). Bump it in the same change as anything that alters the numbers a config produces
(the training loop, the data preparation, the models, an initialisation, a metric): runs
recorded with an older version are then no longer identical to new ones."""


@functools.cache
def git_commit() -> str:
    """The project's commit (with ``+dirty`` for local changes), or '' outside a checkout
    (an installed package may sit inside another project's git tree: not our commit)."""
    if not in_checkout():
        return ""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            timeout=5,
            capture_output=True,
            text=True,
        )
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            timeout=5,
            capture_output=True,
            text=True,
        )
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def provenance(threads: int, device: str, data_hash: str) -> dict[str, str | int]:
    return {
        "python": platform.python_version(),
        "torch": _torch_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "torch_threads": threads,
        "device": device,
        "git_commit": git_commit(),
        "data_sha256": data_hash,
        "curve_version": CURVE_VERSION,
    }


def _torch_version() -> str:
    """Imported here, not at the top: ``CURVE_VERSION`` is read by the torch-free
    dashboard server (through ``mtl_core.execution.identity``)."""
    import torch

    return torch.__version__
