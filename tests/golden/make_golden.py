"""Write or check the golden curves and split fingerprints (see docs/golden.md).

    .venv/bin/python -m tests.golden.make_golden            # compare, print what changed
    .venv/bin/python -m tests.golden.make_golden --update   # ...and overwrite the files
    .venv/bin/python -m tests.golden.make_golden --update --this-machine  # a new rounding

Without ``--update`` an existing file is never overwritten: the command prints the
differences and exits with status 1. A missing file is written. Curves whose numbers
changed are written only once ``CURVE_VERSION`` (mtl_core/training/provenance.py) was bumped: a
change that alters curves must say so to the run store's identity rule too.
``--this-machine`` writes the curves to this machine's own file (``cells.machine_curves_file``),
for a CPU on which torch rounds float sums otherwise than its family's file says, from a
commit that another machine's file vouches for. ``--emit`` prints
today's records as JSON instead (tests/test_golden.py runs it in a fresh process).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.golden import cells

ABOUT = (
    "Golden {what} of mtl-curves: written by `.venv/bin/python -m tests.golden.make_golden`; "
    "a deliberate numeric change updates this file in its own commit, which says why "
    "(docs/golden.md)."
)


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with one line per leaf list (a curve, a confusion matrix): compact, diffable.

    Floats are written by ``repr`` (as ``json`` does), which round-trips them exactly.
    """
    pad = " " * (indent + 1)
    if isinstance(value, dict) and value and indent < 8:
        items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return json.dumps(value, allow_nan=False)


def current(cell_names: list[str], datasets: list[str]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    return {
        "environment": cells.environment(),
        "cells": cells.run_cells(cell_names) if cell_names else {},
        "splits": cells.split_fingerprints(datasets) if datasets else {},
    }


def curve_version() -> int:
    from mtl_core.execution import identity

    return identity.CURVE_VERSION


def version_problem(old: dict, new: dict, version: int, golden_version: int) -> str | None:
    """Why new curve records may not be written: a cell whose config is unchanged gives
    other numbers, yet ``CURVE_VERSION`` was not bumped (runs of the old code would then
    count as identical to runs of the new code; see mtl_core/execution/identity.py)."""
    moved = [
        name
        for name in new
        if name in old
        and not any(cells.differences(old[name]["config"], new[name]["config"]))
        and any(cells.differences(old[name], new[name]))
    ]
    if not moved or version > golden_version:
        return None
    return (
        f"{len(moved)} golden cell(s) give other numbers ({', '.join(moved[:3])}"
        f"{', ...' if len(moved) > 3 else ''}) but CURVE_VERSION is still {version}: bump it "
        "in mtl_core/execution/identity.py in the same change, then rerun with --update"
    )


def _update(path: Path, what: str, key: str, new: dict, header: dict, write: bool) -> bool:
    """Compare ``new`` (and ``header`` but its environment) with the stored file; write
    it when asked (or when there is none). Returns True when the file holds ``new``."""
    if path.exists():
        stored = json.loads(path.read_text())
        old = stored[key]
        lines = cells.report(old, new, limit=50)
        lines += [
            f"{name}: golden {stored.get(name)!r}, now {value!r}"
            for name, value in header.items()
            if name != "environment" and stored.get(name) != value
        ]
        if not lines:
            print(f"{path.name}: unchanged ({len(new)} {key})")
            return True
        count = sum(1 for _ in cells.differences(old, new))
        print(f"{path.name}: {count} change(s) in the records:")
        for line in lines:
            print(f"  {line}")
        if not write:
            print(f"{path.name}: not overwritten; rerun with --update if the change is deliberate")
            return False
        problem = None
        if "curve_version" in header:
            version = header["curve_version"]
            problem = version_problem(old, new, version, stored.get("curve_version", 0))
        if problem:
            print(f"{path.name}: not overwritten: {problem}")
            return False
    document = {"about": ABOUT.format(what=what), **header, key: new}
    path.write_text(dumps(document) + "\n")
    print(f"{path.name}: written ({len(new)} {key})")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.golden.make_golden", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--update", action="store_true", help="overwrite files that changed")
    parser.add_argument(
        "--this-machine",
        action="store_true",
        help="write the curves to this machine's own file (named by its kernel probe)",
    )
    parser.add_argument("--emit", action="store_true", help="print today's records as JSON")
    parser.add_argument("--cells", nargs="*", metavar="CELL", help="cells (default: all)")
    parser.add_argument("--splits", nargs="*", metavar="DATASET", help="datasets (default: all)")
    args = parser.parse_args(argv)
    if argv is None and any(os.environ.get(k) != v for k, v in cells.BLAS_KERNELS.items()):
        # OpenBLAS chose its kernels when numpy loaded: start again with them pinned
        command = [sys.executable, "-m", "tests.golden.make_golden", *sys.argv[1:]]
        os.execve(sys.executable, command, cells.pinned_environ())
    names = list(cells.CELLS) if args.cells is None else args.cells
    datasets = cells.split_datasets() if args.splits is None else args.splits
    unknown = [n for n in names if n not in cells.CELLS]
    unknown += [d for d in datasets if d not in cells.split_datasets()]
    if unknown:
        print(f"error: unknown cell or dataset {unknown[0]!r}; see tests/golden/cells.py")
        return 2
    needed = {cells.needs_files(n) for n in names} | set(datasets)
    for dataset in sorted(d for d in needed if d):
        problem = cells.missing_files(dataset)
        if problem:
            print(f"error: {problem}")
            return 2
    if not args.emit and (args.cells is not None or args.splits is not None):
        print("error: --cells and --splits go with --emit; the files hold every record")
        return 2
    records = current(names, datasets)
    if args.emit:
        print(json.dumps(records))
        return 0
    env = {"environment": records["environment"]}
    header = {**env, "curve_version": curve_version()}
    curves = cells.machine_curves_file() if args.this_machine else cells.CURVES_FILE
    ok = _update(curves, "curves", "cells", records["cells"], header, args.update)
    splits = records["splits"]
    ok &= _update(cells.SPLITS_FILE, "split fingerprints", "splits", splits, env, args.update)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
