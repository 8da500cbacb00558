"""Where the project keeps data: one root, overridable for tests and servers.

From a checkout (a ``pyproject.toml`` beside the package, as in a clone or an editable
install) the root is the checkout's ``data/`` folder; an installed package has no
checkout to write into, so its root is a per-user folder (``user_data_dir``:
``$XDG_DATA_HOME/mtl-curves``, else ``~/.local/share/mtl-curves`` on Linux; the
platform's usual place on macOS and Windows).

``MTL_DATA_ROOT`` moves the whole data folder (prepared arrays, downloads, the run
store); ``MTL_STORE`` names the run store alone; ``MTL_DATA_DIR`` names an extra folder
that holds IDX files the user already has.
"""

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "mtl-curves"


def in_checkout() -> bool:
    """True when the package runs from its source tree (a clone, or ``pip install -e``);
    False when it is installed into site-packages, where nothing beside it is ours."""
    return (PROJECT_ROOT / "pyproject.toml").is_file()


def user_data_dir() -> Path:
    """The per-user folder an installed package keeps its data in."""
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / APP_NAME


def data_root() -> Path:
    """The folder for downloads, cached arrays and the default run store."""
    if os.environ.get("MTL_DATA_ROOT"):
        return Path(os.environ["MTL_DATA_ROOT"])
    return PROJECT_ROOT / "data" if in_checkout() else user_data_dir()


def cache_dir() -> Path:
    """Prepared float32 arrays, keyed by dataset, variant and data seed."""
    return data_root() / "cache"


def default_store_path() -> Path:
    """The run store when none is named: ``$MTL_STORE``, else ``runs.sqlite`` in the root."""
    if os.environ.get("MTL_STORE"):
        return Path(os.environ["MTL_STORE"])
    return data_root() / "runs.sqlite"
