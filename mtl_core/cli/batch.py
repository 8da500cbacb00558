"""CLI commands that train batches: ``seeds``, ``compare`` and ``learning-curve``
(and it registers ``sharing-depth``, which lives in ``depth.py``).

Each takes the ``train`` flags for its base config, trains through ``parallel`` (every
run stored, so the dashboard shows the batch as it trains), shows progress on stderr and
prints a table, or a sentence, on stdout. Kept apart from ``cli.py`` so that module stays
the one-run commands; ``cli.build_parser`` registers these. A baseline run (single task,
the tuned grid) that is stored already, identical in every respect (``mtl_core.execution.identity``),
is reused instead of trained again, and one line says which.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence

import pandas as pd

from mtl_core.cli.batch_parts import _Bar, _batch_flags, _common, _failures, _pm, _reused
from mtl_core.cli.batch_parts import _whole as _whole  # cli/sweep.py imports it from here
from mtl_core.cli.depth import add_depth_command
from mtl_core.cli.flags import config_from_args
from mtl_core.config import RunConfig
from mtl_core.data.tasks import get_task
from mtl_core.errors import ConfigError
from mtl_core.execution.identity import train_or_reuse
from mtl_core.execution.parallel import run_configs
from mtl_core.store.schema import Status
from mtl_core.studies.comparison import compare_arms
from mtl_core.studies.learning_curve import curve_arms, learning_curve, parse_sizes
from mtl_core.studies.replicates import seed_configs, seed_name
from mtl_core.studies.tuned_baseline import baseline_config, tune_baseline
from mtl_core.training.results import RunResult


def _batch(
    args: argparse.Namespace, what: str, configs: Sequence[RunConfig], names: Sequence[str]
) -> list[RunResult]:
    with _Bar(args.quiet, what) as bar:
        return run_configs(
            configs,
            workers=args.workers,
            store_path=args.store,
            names=names,
            progress=bar,
            data_dir=args.data_dir,
        )


def _mean_sd(values: Sequence[float], digits: int = 3) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _main_value(result: RunResult, task: str, key: str) -> float:
    return result.summary.get("main", {}).get(task, {}).get(key, math.nan)


# -- seeds ------------------------------------------------------------------------------


def seeds_table(
    configs: Sequence[RunConfig], results: Sequence[RunResult], task: str
) -> pd.DataFrame:
    metric = get_task(task).metric
    rows = []
    for c, r in zip(configs, results, strict=True):
        main = r.summary.get("main", {}).get(task)
        rows.append(
            {
                "run": r.run_id,
                "seed": c.seed,
                "data seed": c.data_seed,
                "status": r.status,
                "best epoch": main["best_epoch"] if main else "-",
                "best val loss": round(main["best_val_loss"], 4) if main else "-",
                f"val {metric}": round(main["val_metric"], 4) if main else "-",
                f"test {metric}": round(main["test_metric"], 4) if main else "-",
            }
        )
    return pd.DataFrame(rows)


def cmd_seeds(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    _common(args, "5")
    configs = seed_configs(config, args.k, args.vary_data)
    names = [seed_name(args.name, c, args.vary_data) for c in configs]
    results = _batch(args, "seeds", configs, names)
    for task in config.tasks:
        metric = get_task(task).metric
        print(f"{task}: {len(configs)} seeds" + (", data seeds varied" if args.vary_data else ""))
        print(seeds_table(configs, results, task).to_string(index=False))
        done = [r for r in results if task in r.summary.get("main", {})]
        print(
            f"mean ± sd over {len(done)} runs: best val loss "
            f"{_mean_sd([_main_value(r, task, 'best_val_loss') for r in done])}, val {metric} "
            f"{_mean_sd([_main_value(r, task, 'val_metric') for r in done])}, test {metric} "
            f"{_mean_sd([_main_value(r, task, 'test_metric') for r in done])}"
        )
    print(f"stored in {args.store}")
    _failures(results)
    return 0 if all(r.status == Status.COMPLETED for r in results) else 1


# -- compare ----------------------------------------------------------------------------


def _arm_row(label: str, results: Sequence[RunResult], task: str) -> dict:
    metric = get_task(task).metric

    def column(key: str) -> str:
        return _mean_sd([_main_value(r, task, key) for r in results])

    return {
        "arm": label,
        "n": len(results),
        "best val loss": column("best_val_loss"),
        f"val {metric}": column("val_metric"),
        f"test {metric}": column("test_metric"),
    }


def cmd_compare(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    _common(args, "5")
    if args.k < 2:
        raise ConfigError("k", f"a paired comparison needs at least 2 seeds, got {args.k}")
    task = config.tasks[0]
    base = baseline_config(config, task)
    labels = list(curve_arms(config, task))  # ["single task", "hard sharing"]
    multi = seed_configs(config, args.k, args.vary_data)
    single = seed_configs(base, args.k, args.vary_data)
    configs = [c for pair in zip(multi, single, strict=True) for c in pair]
    prefix = f"{args.name} " if args.name else ""
    names = [
        seed_name(prefix + labels[1 - i % 2], c, args.vary_data) for i, c in enumerate(configs)
    ]
    with _Bar(args.quiet, "compare") as bar:  # the single-task runs are baselines
        results, reused = train_or_reuse(
            configs,
            [i % 2 == 1 for i in range(len(configs))],
            workers=args.workers,
            store_path=args.store,
            names=names,
            progress=bar,
            data_dir=args.data_dir,
        )
    _reused(reused, "single-task run")
    if _failures(results):
        return 1
    multi_results, single_results = results[0::2], results[1::2]
    table = pd.DataFrame(
        [_arm_row(labels[1], multi_results, task), _arm_row(labels[0], single_results, task)]
    )
    print(table.to_string(index=False))
    comparison = compare_arms(
        [(c, r.summary) for c, r in zip(multi, multi_results, strict=True)],
        [(c, r.summary) for c, r in zip(single, single_results, strict=True)],
        task=task,
        label_a=labels[1],
        label_b="single task",
    )
    print(comparison.sentence())
    code = 0 if all(r.status == Status.COMPLETED for r in results) else 1
    if args.regularised:
        with _Bar(args.quiet, "tuning") as bar:
            tuned = tune_baseline(
                config,
                args.k,
                vary_data=args.vary_data,
                task=task,
                workers=args.workers,
                store_path=args.store,
                name=args.name,
                progress=bar,
                data_dir=args.data_dir,
            )
        metric = get_task(task).metric
        grid = tuned.table.rename(
            columns={"val_mean": f"best val {metric} (mean)", "val_sd": "sd"}
        ).round(4)
        print(f"\nsingle-task baseline tuned on validation ({args.k} seeds per cell):")
        print(grid.to_string(index=False))
        print(f"chosen on validation: {tuned.cell_text()}")
        _reused(tuned.reused, "single-task grid run")
        if _failures(tuned.results):
            return 1
        against = compare_arms(
            [(c, r.summary) for c, r in zip(multi, multi_results, strict=True)],
            tuned.arm(),
            task=task,
            label_a=labels[1],
            label_b=tuned.label(),
        )
        print(against.sentence())
    print(f"stored in {args.store}")
    return code


# -- learning curve ---------------------------------------------------------------------


def cmd_learning_curve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    sizes = parse_sizes(args.sizes)
    _common(args, "3")
    with _Bar(args.quiet, "learning curve") as bar:
        curve = learning_curve(
            config,
            sizes,
            args.k,
            vary_data=not args.fixed_data,
            workers=args.workers,
            store_path=args.store,
            name=args.name,
            progress=bar,
            data_dir=args.data_dir,
        )
    table = curve.table()
    shown = pd.DataFrame(
        {
            "train size": table["size"],
            "arm": table["arm"],
            "n": table["n"],
            f"best val {curve.metric}": list(map(_pm, table["val_mean"], table["val_sd"])),
            f"test {curve.metric}": list(map(_pm, table["test_mean"], table["test_sd"])),
        }
    )
    print(
        f"{curve.task}: mean ± sd over {args.k} seeds"
        + ("" if args.fixed_data else " (each draws its own training images)")
    )
    print(shown.to_string(index=False))
    _reused(curve.reused, "single-task run")
    if _failures(curve.results):
        return 1
    for comparison in curve.comparisons().values():
        print(comparison.sentence())
    print(f"stored in {args.store}")
    return 0 if all(r.status == Status.COMPLETED for r in curve.results) else 1


# -- the parsers ------------------------------------------------------------------------


def add_batch_commands(sub: argparse._SubParsersAction) -> None:
    vary = (
        "also vary data_seed (which images are drawn for training, validation and "
        "test), not only seed (initial weights, dropout, batch order)"
    )
    p = sub.add_parser("seeds", help="one config over K seeds: per-seed results and mean ± sd")
    _batch_flags(p, "5")
    p.add_argument("--vary-data", action="store_true", help=vary)
    p.set_defaults(func=cmd_seeds)
    p = sub.add_parser(
        "compare",
        help="a multi-task config against its single-task "
        "baseline over K paired seeds, in one sentence",
    )
    _batch_flags(p, "5")
    p.add_argument("--vary-data", action="store_true", help=vary)
    p.add_argument(
        "--regularised",
        "--regularized",
        action="store_true",
        help="also tune the baseline's weight decay and dropout on validation and "
        "compare against it: is the gain just regularisation?",
    )
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser(
        "learning-curve",
        help="single-task and multi-task score against the number of training images",
    )
    _batch_flags(p, "3")
    p.add_argument("--sizes", default="", help="train sizes, e.g. 100,300,1000")
    p.add_argument(
        "--fixed-data",
        action="store_true",
        help="keep data_seed fixed (by default each seed also draws other images)",
    )
    p.set_defaults(func=cmd_learning_curve)
    add_depth_command(sub)
