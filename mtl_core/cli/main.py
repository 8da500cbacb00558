"""Command line: ``python -m mtl_core train|tasks|list|show|export|download``, and the
batch commands ``seeds|compare|learning-curve`` (``cli_batch.py``), ``insights|embed``
(``cli_insights.py``) and ``sweep`` (``cli_sweep.py``).

Every user error ends in one line on stderr and exit status 2; nothing prints a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mtl_core.analysis.overview import runs_overview
from mtl_core.config import DEFAULT, RunConfig, from_dict, one_line
from mtl_core.data.datasets import DATASETS, get_dataset
from mtl_core.data.tasks import DIGIT_FAMILY, FASHION_FAMILY, TASKS
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError, MtlError
from mtl_core.store.runs import RunStore
from mtl_core.training.control import RunControl
from mtl_core.user_files import read_text, write_output

# flag -> config field, for flags whose value goes straight into the config
_SIMPLE = [
    "dataset",
    "variant",
    "tasks",
    "aux",
    "sharing",
    "soft_penalty",
    "soft_lambda",
    "weighting",
    "dwa_temperature",
    "gradnorm_alpha",
    "aggregator",
    "cagrad_c",
    "stitch_init",
    "stitch_lr",
    "backbone",
    "width",
    "depth",
    "dropout",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "batch_size",
    "epochs",
    "early_stop",
    "seed",
    "data_seed",
    "threads",
    "device",
]


def _add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="start from this JSON config (flags override it)")
    p.add_argument("--save-config", metavar="PATH", help="write the final config as JSON")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (default {DEFAULT.dataset})")
    p.add_argument("--variant", help=f"one of {', '.join(VARIANTS)} (default {DEFAULT.variant})")
    p.add_argument("--data-dir", help="folder holding IDX files for mnist / fashion-mnist")
    p.add_argument("--train-size", help=f"training images, or 'all' (default {DEFAULT.train_size})")
    p.add_argument(
        "--task-size",
        action="append",
        default=[],
        metavar="TASK=N",
        help="label budget of one task (repeatable; default: the train size)",
    )
    p.add_argument("--tasks", help="comma-separated main tasks (default digit)")
    p.add_argument("--aux", help="comma-separated auxiliary tasks (default none)")
    p.add_argument(
        "--aux-weight",
        action="append",
        default=[],
        metavar="W|TASK=W",
        help="weight of every auxiliary task, or of one (repeatable; default 1)",
    )
    p.add_argument(
        "--shuffle-aux",
        action="append",
        default=[],
        metavar="F|TASK=F",
        help="fraction of auxiliary targets to permute: the shuffled control",
    )
    p.add_argument("--sharing", help="single | hard | soft | cross-stitch (default hard)")
    p.add_argument("--soft-penalty", help="l2 | trace (default l2)")
    p.add_argument(
        "--soft-lambda", type=str, help=f"λ of the soft penalty (default {DEFAULT.soft_lambda:g})"
    )
    p.add_argument(
        "--weighting", help="fixed | equal | uncertainty | dwa | gradnorm (default fixed)"
    )
    p.add_argument("--dwa-temperature", help=f"DWA's T (default {DEFAULT.dwa_temperature:g})")
    p.add_argument("--gradnorm-alpha", help=f"GradNorm's α (default {DEFAULT.gradnorm_alpha:g})")
    p.add_argument(
        "--aggregator",
        help="none | mgda | pcgrad | upgrad | cagrad: combine task "
        "gradients on the shared trunk with torchjd (default none)",
    )
    p.add_argument("--cagrad-c", help=f"CAGrad's c (default {DEFAULT.cagrad_c:g})")
    p.add_argument(
        "--stitch-init",
        help="cross-stitch: initial weight of a column on itself "
        f"(default {DEFAULT.stitch_init:g})",
    )
    p.add_argument(
        "--stitch-lr",
        help="cross-stitch: learning-rate multiplier of the mixing "
        f"weights (default {DEFAULT.stitch_lr:g})",
    )
    p.add_argument("--backbone", help="mlp | cnn (default mlp)")
    for name in (
        "width",
        "depth",
        "dropout",
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "batch_size",
        "epochs",
        "seed",
        "data_seed",
        "threads",
        "device",
    ):
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, help=f"default {getattr(DEFAULT, name)}")
    p.add_argument(
        "--early-stop",
        metavar="PATIENCE",
        help="stop after this many epochs "
        "without a better validation loss and restore the best weights (default off)",
    )
    p.add_argument("--store", help="SQLite run store (default data/runs.sqlite)")
    p.add_argument("--name", default="", help="a name for the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _pairs(values: list[str], flag: str, kind: type) -> tuple[Any, dict[str, Any]]:
    """``W`` sets the shared value; ``TASK=W`` one task's. Returns (shared, per-task)."""
    shared, per_task = None, {}
    for value in values:
        key, sep, number = value.partition("=")
        try:
            if sep:
                per_task[key.strip()] = kind(number)
            else:
                shared = kind(key)
        except ValueError:
            raise ConfigError(flag, f"expected a number or TASK=number, got {value!r}") from None
    return shared, per_task


def _mapping(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The config file's per-task values of ``name``, which flags add to: a mapping, or refused."""
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(name, f"expected a mapping of task name to number, got {value!r}")
    return value


def config_from_args(args: argparse.Namespace) -> RunConfig:
    data: dict[str, Any] = {}
    if args.config:
        where = one_line(args.config)
        text = read_text(args.config, "config")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                "config", f"{where} is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        except (ValueError, RecursionError):  # too many digits; nesting too deep
            raise ConfigError(
                "config", f"{where} is not readable JSON (a number or nesting too large)"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("config", f"{where} must hold a JSON object of config fields")
    for name in _SIMPLE:
        value = getattr(args, name)
        if value is not None:
            data[name] = value
    dataset = data.get("dataset", DEFAULT.dataset)
    if args.train_size is not None:
        if args.train_size == "all":
            data["train_size"] = get_dataset(str(dataset)).train_capacity
        else:
            data["train_size"] = args.train_size
    shared_size, sizes = _pairs(args.task_size, "task_sizes", int)
    if shared_size is not None:
        raise ConfigError(
            "task_sizes",
            f"--task-size takes TASK=N, got {shared_size}; --train-size sets every task's size",
        )
    if sizes:
        data["task_sizes"] = {**_mapping(data, "task_sizes"), **sizes}
    for flag, shared_key, per_key, kind in (
        ("aux_weight", "aux_weight", "aux_weights", float),
        ("shuffle_aux", "shuffle_aux", "aux_shuffle", float),
    ):
        shared, per_task = _pairs(getattr(args, flag), flag, kind)
        if shared is not None:
            data[shared_key] = shared
        if per_task:
            data[per_key] = {**_mapping(data, per_key), **per_task}
    return from_dict(data)


def _summary_table(summary: dict) -> pd.DataFrame:
    rows = []
    for task, s in summary.get("main", {}).items():
        rows.append(
            {
                "task": task,
                "best epoch": s["best_epoch"],
                "best val loss": round(s["best_val_loss"], 4),
                f"val {s['metric']}": round(s["val_metric"], 4),
                f"test {s['metric']}": round(s["test_metric"], 4),
                "train/val gap": round(s["gap"], 4),
                "val loss rising since": s["rising_since"]
                if s["rising_since"] is not None
                else "-",
            }
        )
    return pd.DataFrame(rows)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mtl_core.training.trainer import train

    config = config_from_args(args)
    if args.save_config:
        write_output(args.save_config, config.to_json() + "\n", "save-config")
    control = RunControl()
    previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
    bar = tqdm(total=config.epochs, unit="epoch", disable=args.quiet, file=sys.stderr)
    main = config.tasks[0]

    def on_epoch(event) -> None:
        val = next(v for t, s, m, v in event.rows if (t, s, m) == (main, "val", "loss"))
        bar.set_postfix_str(f"{main} val loss {val:.4f}")
        if event.epoch:
            bar.update(1)

    with RunStore(args.store) as store:
        try:
            result = train(
                config,
                store=store,
                name=args.name,
                callback=on_epoch,
                control=control,
                data_dir=args.data_dir,
            )
        finally:
            bar.close()
            signal.signal(signal.SIGINT, previous)
    print(
        f"run {result.run_id}: {result.status}" + (f" ({result.message})" if result.message else "")
    )
    if result.summary:
        print(_summary_table(result.summary).to_string(index=False))
    print(f"stored in {store.path}; see `python -m mtl_core show {result.run_id}`")
    return 0 if result.status in ("completed", "stopped") else 1


def tasks_table() -> pd.DataFrame:
    """Which task is valid on which family of datasets and variant, from the registry."""
    families = {DIGIT_FAMILY: "digits", FASHION_FAMILY: "fashion"}
    rows = []
    for name, task in TASKS.items():
        row = {
            "task": name,
            "category": task.category,
            "head": f"{len(task.class_names)} classes" if task.is_classification else "regression",
            "metric": task.metric,
        }
        for variant in VARIANTS:
            fits = [label for fam, label in families.items() if task.valid_on(fam, variant)]
            row[variant] = "+".join(fits) if fits else "-"
        row["predicts"] = task.description
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += [
        "| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def cmd_tasks(args: argparse.Namespace) -> int:
    table = tasks_table()
    print(markdown_table(table) if args.markdown else table.to_string(index=False))
    print()
    for family in (DIGIT_FAMILY, FASHION_FAMILY):
        names = [d for d, spec in DATASETS.items() if spec.family == family]
        label = "digits" if family == DIGIT_FAMILY else "fashion"
        print(f"{label}: {', '.join(names)}" + ("  " if args.markdown else ""))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with RunStore(args.store) as store:
        table = runs_overview(store.runs())
    print(
        table.to_string(index=False)
        if len(table)
        else "no runs yet: try `python -m mtl_core train`"
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with RunStore(args.store) as store:
        run = store.get_run(args.run)
        metrics = store.metrics(args.run)
    print(f"run {run['id']} ({run['name']}): {run['status']} {run['message']}".rstrip())
    print("config:", json.dumps(run["config"], sort_keys=True))
    print("provenance:", json.dumps(run["provenance"], sort_keys=True))
    if run["summary"]:
        print(_summary_table(run["summary"]).to_string(index=False))
    curves = metrics[metrics["metric"].eq("loss") & metrics["split"].isin(["train", "val"])]
    if len(curves):
        wide = curves.pivot_table(index="epoch", columns=["task", "split"], values="value")
        print(wide.tail(args.last).round(4).to_string())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with RunStore(args.store) as store:
        if args.format == "csv":
            path = store.export_csv(args.runs, args.out or "runs.csv")
        else:
            path = store.export_json(args.runs, args.out or "runs.json")
    print(f"wrote {path}")
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from mtl_core.data.download import download

    def progress(name: str, done: int, total: int | None) -> None:
        if total:
            print(f"\r{name}: {done * 100 // total}%", end="", file=sys.stderr)

    path = download(args.dataset, Path(args.dest) if args.dest else None, progress=progress)
    print(f"\n{args.dataset} is ready in {path}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mtl_core", description="Multi-task learning curves on MNIST-like data."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one run and store its curves")
    _add_train_flags(p)
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("tasks", help="which task fits which dataset and variant")
    p.add_argument("--markdown", action="store_true", help="as a Markdown table")
    p.set_defaults(func=cmd_tasks)
    p = sub.add_parser("list", help="stored runs")
    p.add_argument("--store")
    p.set_defaults(func=cmd_list)
    p = sub.add_parser("show", help="one run: config, provenance, summary, last epochs")
    p.add_argument("run", type=int)
    p.add_argument("--last", type=int, default=10, help="how many epochs to print")
    p.add_argument("--store")
    p.set_defaults(func=cmd_show)
    p = sub.add_parser("export", help="curves of one or more runs to CSV or JSON")
    p.add_argument("runs", type=int, nargs="+")
    p.add_argument("--format", choices=["csv", "json"], default="csv")
    p.add_argument("--out", help="output file (default runs.csv / runs.json)")
    p.add_argument("--store")
    p.set_defaults(func=cmd_export)
    p = sub.add_parser("download", help="fetch mnist or fashion-mnist, checked by SHA-256")
    p.add_argument("dataset", choices=[d for d, s in DATASETS.items() if not s.offline])
    p.add_argument("--dest", help="target folder (default data/<dataset>)")
    p.set_defaults(func=cmd_download)
    from mtl_core.cli.batch import (
        add_batch_commands,  # here: it imports this module's flag helpers
    )

    add_batch_commands(sub)
    from mtl_core.cli.insights import add_insight_commands

    add_insight_commands(sub)
    from mtl_core.cli.sweep import add_sweep_command

    add_sweep_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MtlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback on request
        if os.environ.get("MTL_DEBUG"):
            raise
        print(f"internal error: {exc!r} (set MTL_DEBUG=1 to see the traceback)", file=sys.stderr)
        return 1
