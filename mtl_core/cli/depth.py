"""``python -m mtl_core sharing-depth``: the best validation metric against K shared layers.

The ``train`` flags give the setup (hard sharing, two or more tasks); the study
(``mtl_core.studies.sharing_depth``) trains K = 0 (single task) to K = all over ``--k``
seeds, every run stored, seeds in parallel on ``--workers`` slots, reusing completed
identical runs. It prints one table row per K (parameters, the mean best validation
metric of each main task ± the half-width of its 95% t-interval, seeds) and, per main
task, one sentence: which K was best (on validation), which depth's test metric is set
against K = 0 (that K, or the best shared depth when K = 0 won) and whether their
difference is clear (``sharing_depth.depth_verdict`` says why test).
Kept apart from ``batch.py`` (which registers it) so that module stays under its size.
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

from mtl_core.cli.batch_parts import _Bar, _batch_flags, _common, _failures, _reused
from mtl_core.cli.flags import config_from_args
from mtl_core.data.tasks import get_task
from mtl_core.store.schema import Status
from mtl_core.studies.sharing_depth import check_depth, depth_label, sharing_depth
from mtl_core.written import counted


def _interval(mean: float, low: float, high: float) -> str:
    """ "0.812 ± 0.021" (the half-width of the 95% t-interval); the mean alone for one seed."""
    if math.isnan(mean):
        return "-"
    return f"{mean:.3f}" if math.isnan(low) else f"{mean:.3f} ± {(high - low) / 2:.3f}"


def depth_rows(table: pd.DataFrame, max_k: int) -> pd.DataFrame:
    """The printed table: one row per K, a column per main task, seeds last. Parameters and
    seeds are the main tasks' in their order, once when they agree ("3,466/3,136": at K = 0
    each main task's own single-task network, the runs that row counts)."""
    rows = []
    for k, part in table.groupby("k", sort=True):
        params = "/".join(f"{p:,}" for p in dict.fromkeys(part.params))
        row = {"K": int(k), "shared": depth_label(int(k), max_k), "parameters": params}
        for t in part.itertuples():
            row[f"{t.task} best val {get_task(t.task).metric}"] = _interval(
                t.val_mean, t.val_low, t.val_high
            )
        row["seeds"] = "/".join(str(n) for n in dict.fromkeys(part.n))
        rows.append(row)
    return pd.DataFrame(rows)


def cmd_sharing_depth(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    max_k = check_depth(config)  # a setup that cannot be studied: one line, before any run
    _common(args, "3")
    with _Bar(args.quiet, "sharing depth") as bar:
        study = sharing_depth(
            config,
            args.k,
            vary_data=not args.fixed_data,
            workers=args.workers,
            store_path=args.store,
            name=args.name,
            progress=bar,
            data_dir=args.data_dir,
        )
    layers = counted(max_k, "layer")
    print(
        f"{', '.join(config.tasks)}: sharing the first K of the {config.backbone} trunk's "
        f"{layers}, mean best validation metric ± 95% t-interval over {args.k} seeds"
        + ("" if args.fixed_data else " (each draws its own training images)")
    )
    print(depth_rows(study.table(), max_k).to_string(index=False))
    _reused(study.reused, "run")
    if _failures(study.results):
        return 1
    for verdict in study.verdicts():
        print(verdict.sentence(max_k))
    print(f"stored in {args.store}")
    return 0 if all(r.status == Status.COMPLETED for r in study.results) else 1


def add_depth_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sharing-depth",
        help="best validation metric against K, the number of shared layers (K = 0: "
        "single task), over seeds",
    )
    _batch_flags(p, "3")
    p.add_argument(
        "--fixed-data",
        action="store_true",
        help="keep data_seed fixed (by default each seed also draws other images)",
    )
    p.set_defaults(func=cmd_sharing_depth)
