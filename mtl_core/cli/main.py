"""Command line: ``python -m mtl_core train|tasks|list|show|export|download`` (also
``mtl-curves VERB`` when installed, ``entry.py``), and the batch commands
``seeds|compare|learning-curve`` (``batch.py``), ``sharing-depth`` (``depth.py``),
``insights|embed|affinity`` (``insights.py``),
``sweep`` (``sweep.py``), ``pareto`` (``pareto.py``) and ``dashboard`` (``dashboard.py``).

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

import pandas as pd

from mtl_core.analysis.overview import runs_table
from mtl_core.cli.flags import add_train_flags, config_from_args
from mtl_core.data.datasets import DATASETS
from mtl_core.data.tasks import DIGIT_FAMILY, FASHION_FAMILY, TASKS
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError, MtlError
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.training.control import RunControl
from mtl_core.user_files import write_output


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
    main = config.tasks[0]

    def on_epoch(event) -> None:
        val = next(v for t, s, m, v in event.rows if (t, s, m) == (main, "val", "loss"))
        bar.set_postfix_str(f"{main} val loss {val:.4f}")
        if event.epoch:
            bar.update(1)

    with RunStore(args.store) as store:  # a refused store raises before Ctrl-C is taken
        previous = signal.signal(signal.SIGINT, lambda *_: control.stop())
        bar = tqdm(total=config.epochs, unit="epoch", disable=args.quiet, file=sys.stderr)
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
    return 0 if result.status in (Status.COMPLETED, Status.STOPPED) else 1


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
        table = runs_table(store, store.runs())
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
    if args.format == "script" and len(args.runs) != 1:
        raise ConfigError("runs", "--format script writes one run: name one run id")
    with RunStore(args.store) as store:
        if args.format == "csv":
            path = store.export_csv(args.runs, args.out or "runs.csv")
        elif args.format == "json":
            path = store.export_json(args.runs, args.out or "runs.json")
        else:
            from mtl_core.store.script.export import write_script

            path = write_script(store, args.runs[0], args.out or "run.py")
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


def prog_name() -> str:
    """``mtl-curves`` when started by the installed command, else ``python -m mtl_core``."""
    return "mtl-curves" if Path(sys.argv[0]).stem == "mtl-curves" else "python -m mtl_core"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog_name(), description="Multi-task learning curves on MNIST-like data."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train one run and store its curves")
    add_train_flags(p)
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
    p = sub.add_parser(
        "export", help="curves of one or more runs to CSV or JSON, or one run as a script"
    )
    p.add_argument("runs", type=int, nargs="+")
    p.add_argument("--format", choices=["csv", "json", "script"], default="csv")
    p.add_argument("--out", help="output file (default runs.csv / runs.json / run.py)")
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
    from mtl_core.cli.pareto import add_pareto_command

    add_pareto_command(sub)
    from mtl_core.cli.dashboard import add_dashboard_command

    add_dashboard_command(sub)
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
