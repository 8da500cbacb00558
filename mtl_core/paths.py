"""Where the project keeps data: one root, overridable for tests and servers.

``MTL_DATA_ROOT`` moves the whole data folder (prepared arrays, downloads, the run
store); ``MTL_DATA_DIR`` names an extra folder that holds IDX files the user already has.
"""

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """The folder for downloads, cached arrays and the default run store."""
    return Path(os.environ.get("MTL_DATA_ROOT", PROJECT_ROOT / "data"))


def cache_dir() -> Path:
    """Prepared float32 arrays, keyed by dataset, variant and data seed."""
    return data_root() / "cache"


def default_store_path() -> Path:
    return data_root() / "runs.sqlite"
