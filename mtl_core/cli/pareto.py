"""``python -m mtl_core pareto``: the trade-off between two main tasks (a Pareto front).

The ``train`` flags give the setup (two main tasks, a sharing mode that shares); the
study (``mtl_core.studies.pareto``) trains ``--ratios`` task-weight ratios, the two single
tasks and any ``--methods`` (gradient aggregators) over ``--k`` seeds, every run stored,
seeds in parallel on ``--workers`` slots, reusing completed identical runs. It prints one
row per arm: the task-1 weight, each task's validation metric at the run's one checkpoint
(mean ± the half-width of its 95% t-interval), seeds, and whether the arm is dominated;
``--out`` writes the same table as CSV. Its own module, like ``depth.py``.
"""

from __future__ import annotations

import argparse
import math

import pandas as pd

from mtl_core.cli.batch_parts import _Bar, _batch_flags, _common, _failures, _reused, _whole
from mtl_core.cli.flags import config_from_args
from mtl_core.data.tasks import get_task
from mtl_core.store.schema import Status
from mtl_core.studies.pareto import (
    DEFAULT_RATIOS,
    METHODS,
    SINGLE,
    check_methods,
    check_pareto,
    check_ratios,
    pareto,
)
from mtl_core.user_files import write_output


def _pm(mean: float, half: float) -> str:
    if math.isnan(mean):
        return "-"
    return f"{mean:.3f}" if math.isnan(half) else f"{mean:.3f} ± {half:.3f}"


def pareto_rows(table: pd.DataFrame, tasks: tuple[str, str]) -> pd.DataFrame:
    """The printed table: arm, task-1 weight, a column per task, seeds, dominated."""
    names = [f"{t} val {get_task(t).metric}" for t in tasks]
    rows = []
    for r in table.itertuples():
        rows.append(
            {
                "arm": r.arm,
                f"{tasks[0]} weight": "-" if math.isnan(r.w) else f"{r.w:.3g}",
                names[0]: _pm(r.m1_mean, r.m1_half),
                names[1]: _pm(r.m2_mean, r.m2_half),
                "seeds": r.n,
                "dominated": "-" if r.kind == SINGLE else ("yes" if r.dominated else "no"),
            }
        )
    return pd.DataFrame(rows)


def csv_table(table: pd.DataFrame, tasks: tuple[str, str]) -> pd.DataFrame:
    """The table as ``--out`` writes it: plain numbers, columns named by task."""
    out = table.rename(
        columns={
            "w": f"{tasks[0]}_weight",
            "m1_mean": f"{tasks[0]}_mean",
            "m1_half": f"{tasks[0]}_ci95_half",
            "m2_mean": f"{tasks[1]}_mean",
            "m2_half": f"{tasks[1]}_ci95_half",
            "n": "seeds",
        }
    )
    return out


def cmd_pareto(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    tasks = check_pareto(config)  # a setup that cannot be studied: one line, before any run
    ratios = check_ratios(_whole(args.ratios, "ratios"))
    methods = check_methods((args.methods or "").split(","))
    _common(args, "3")
    with _Bar(args.quiet, "pareto") as bar:
        study = pareto(
            config,
            args.k,
            ratios=ratios,
            methods=methods,
            vary_data=not args.fixed_data,
            workers=args.workers,
            store_path=args.store,
            name=args.name,
            progress=bar,
            data_dir=args.data_dir,
        )
    table = study.table()
    t1, t2 = tasks
    print(
        f"{t1} against {t2}: weights w and 1 − w; each run's point is the epoch of its lowest "
        f"summed validation loss; mean ± 95% t-interval over {args.k} seeds"
        + ("" if args.fixed_data else " (each draws its own training images)")
    )
    print(pareto_rows(table, tasks).to_string(index=False))
    _reused(study.reused, "run")
    if args.out:
        path = write_output(args.out, csv_table(table, tasks).to_csv(index=False), "out")
        print(f"wrote {path}")
    if _failures(study.results):
        return 1
    print(f"stored in {args.store}")
    return 0 if all(r.status == Status.COMPLETED for r in study.results) else 1


def add_pareto_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pareto",
        help="the trade-off between two main tasks: a sweep of task-weight ratios over "
        "seeds, the single tasks, dominated points marked",
    )
    _batch_flags(p, "3")
    p.add_argument(
        "--ratios",
        default=str(DEFAULT_RATIOS),
        help=f"number of task-1 weights w = 1/(n+1) .. n/(n+1), task 2 weighing 1 − w "
        f"(default {DEFAULT_RATIOS}: 0.1 to 0.9)",
    )
    p.add_argument(
        "--methods",
        metavar="A,B",
        help=f"gradient aggregators to place on the plot, at equal weights: {', '.join(METHODS)}",
    )
    p.add_argument(
        "--fixed-data",
        action="store_true",
        help="keep data_seed fixed (by default each seed also draws other images)",
    )
    p.add_argument("--out", help="write the table as CSV to this file")
    p.set_defaults(func=cmd_pareto)
