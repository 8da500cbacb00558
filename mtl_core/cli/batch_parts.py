"""The parts every batch command shares: its flags, their checks, a progress bar on
stderr and the lines on reused and failed runs.

Why a module of their own: the batch verbs live in several modules (``batch.py``,
``depth.py``, ``sweep.py``) and ``batch.py`` registers ``depth.py``'s verb, so what both
use sits below them and neither imports the other.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence

from mtl_core.cli.flags import add_train_flags
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import reuse_line
from mtl_core.execution.parallel import Progress, check_workers
from mtl_core.paths import default_store_path
from mtl_core.store.schema import Status
from mtl_core.studies.replicates import check_k
from mtl_core.training.results import RunResult


def _whole(value: str, flag: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ConfigError(flag, f"expected a whole number, got {value!r}") from None


class _Bar:
    """Runs done / running / failed on stderr, one bar per batch."""

    def __init__(self, quiet: bool, what: str) -> None:
        self.quiet, self.what, self.bar = quiet, what, None

    def __call__(self, state: Progress) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=state.total, unit="run", desc=self.what, file=sys.stderr)
        self.bar.n = state.done
        self.bar.set_postfix_str(f"{state.running} running, {state.failed} failed")

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _reused(ids: Sequence[int], what: str) -> None:
    line = reuse_line(ids, what)
    if line:
        print(line)


def _failures(results: Sequence[RunResult]) -> bool:
    """Print one stderr line per run that did not complete; True if a run failed."""
    for r in results:
        if r.status != Status.COMPLETED:
            print(f"run {r.run_id}: {r.status} ({r.message})", file=sys.stderr)
    return any(r.status == Status.FAILED for r in results)


def _common(args: argparse.Namespace, k_default: str) -> None:
    """Check the batch flags (k, workers) and resolve the store: one line if wrong."""
    args.k = check_k(_whole(args.k or k_default, "k"))
    args.workers = check_workers(_whole(args.workers, "workers"))
    args.store = str(args.store or default_store_path())


def _pm(mean: float, sd: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.3f}" if math.isnan(sd) else f"{mean:.3f} ± {sd:.3f}"


def _batch_flags(p: argparse.ArgumentParser, k_default: str) -> None:
    add_train_flags(p)
    p.add_argument("--k", help=f"number of seeds, 1 to 10 (default {k_default})")
    p.add_argument("--workers", default="2", help="worker processes (default 2: one per core)")
