"""The ``mtl-curves`` command of an installed package: ``python -m mtl_core`` by another name.

pyproject.toml points the console script here rather than at ``main``, so that a Ctrl-C
while the CLI still imports (pandas, then torch for training) ends it as
``python -m mtl_core`` does: one line, exit status 130, no traceback.
"""

from __future__ import annotations

import sys


def run() -> int:
    try:
        from mtl_core.cli.main import main

        return main()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
