"""Reference numbers: single-task MultiFashion accuracies on the full Fashion-MNIST.

Why: the multi-task numbers this project shows mean little unless its single-task
baselines land where published LeNet baselines land. This script trains the project's own
single-task runs (``sharing single``, one main task) on the full Fashion-MNIST (Debian's
``dataset-fashion-mnist``; see ``mtl_core/data/datasets.py``) in the ``multi`` variant, for
``left`` and ``right``, with the LeNet-like ``cnn`` backbone, and prints what it measured:
each task's test accuracy at its best validation epoch (lowest validation loss), the
epochs, the seconds, the seeds and the exact config. docs/methods.md ("Reference
numbers") sets the results beside the published ones.

Bounded time on a shared 2-core CPU: one torch thread, the process lowers its own
priority (``--nice``, default 10). Each run trains 50,000 images per epoch and evaluates
the 50,000 training and 10,000 validation images before training and after every epoch,
and the 10,000 test images once at the end. Measured: a 3-epoch run took 153-163 CPU
seconds, so the defaults (5 epochs, 1 seed, both tasks, batch 256) need about 9
CPU-minutes, well within 25 minutes on a quiet machine; on a busy one the wall time grows
with the load (the 3-epoch runs took 19 minutes each beside a load of about 14), and the
script prints its projection of the total after the first epoch.

    .venv/bin/python bench/bench_reference.py [--epochs 5] [--seeds 1] [--tasks left,right]

The numbers go to ``bench/out/bench_reference_<dataset>_<tasks>.json`` too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing mtl_core

from mtl_core.config import RunConfig, validate  # noqa: E402
from mtl_core.data.datasets import get_dataset  # noqa: E402
from mtl_core.data.splits import load_bundle  # noqa: E402
from mtl_core.errors import MtlError  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402

OUT_DIR = ROOT / "bench" / "out"
DATASETS = ("fashion-mnist", "mnist")  # MultiFashion (installed here); MultiMNIST if downloaded
# The setup closest to the published LeNet baselines that this project's backbones allow:
# two 5x5 convolutions (10 and 20 channels, each with 2x2 max-pooling), then two dense
# layers of 50 (Sener & Koltun's shared 50-unit layer and their task-specific one), then
# the task's linear head. Adam at 1e-3 and batches of 256 (few steps per epoch on a CPU).
REFERENCE = dict(
    variant="multi",
    sharing="single",
    backbone="cnn",
    width=50,
    depth=2,
    dropout=0.0,
    optimizer="adam",
    lr=1e-3,
    weight_decay=0.0,
    batch_size=256,
    data_seed=0,
    threads=1,
    affinity_every=0,
)


def config_for(dataset: str, task: str, seed: int, epochs: int, train_size: int) -> RunConfig:
    config = RunConfig(
        **REFERENCE,
        dataset=dataset,
        tasks=(task,),
        seed=seed,
        epochs=epochs,
        train_size=train_size,
    )
    validate(config)
    return config


def cli_command(config: RunConfig) -> str:
    """The ``python -m mtl_core train`` line that trains the same run."""
    c = config
    return (
        f".venv/bin/python -m mtl_core train --dataset {c.dataset} --variant {c.variant}"
        f" --tasks {','.join(c.tasks)} --sharing {c.sharing} --backbone {c.backbone}"
        f" --width {c.width} --depth {c.depth} --optimizer {c.optimizer} --lr {c.lr:g}"
        f" --batch-size {c.batch_size} --epochs {c.epochs} --train-size {c.train_size}"
        f" --seed {c.seed} --data-seed {c.data_seed} --threads {c.threads} --no-affinity"
    )


def run_one(config: RunConfig, projection: dict) -> dict:
    """Train one run; print each epoch, and after the very first one the projected total."""
    task = config.tasks[0]
    started, cpu_started = time.monotonic(), time.process_time()

    def on_epoch(event) -> None:
        val = {m: v for t, s, m, v in event.rows if t == task and s == "val"}
        metrics = ", ".join(f"val {m} {v:.4f}" for m, v in val.items())
        print(
            f"  {task} seed {config.seed} epoch {event.epoch}/{config.epochs}: {metrics} "
            f"({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        if event.epoch == 1 and "first_epoch" not in projection:
            projection["first_epoch"] = time.monotonic() - started
            total = projection["first_epoch"] * projection["epochs"] * projection["runs"]
            print(f"  projected total: about {total / 60:.0f} min", flush=True)

    result = train(config, callback=on_epoch)
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started
    if result.status != "completed":
        raise SystemExit(f"bench_reference: the {task} run ended {result.status}: {result.message}")
    summary = result.summary["main"][task]
    return {
        "task": task,
        "seed": config.seed,
        "epochs": result.summary["epochs_run"],
        "best_epoch": summary["best_epoch"],
        "val_accuracy": summary["val_metric"],
        "test_accuracy": summary["test_metric"],
        "test_loss": summary["test_loss"],
        "params": result.summary["param_count"],
        "seconds": round(seconds, 1),
        "cpu_seconds": round(cpu, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per run (default 5)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per task (default 1)")
    parser.add_argument("--tasks", default="left,right", help="comma-separated (default both)")
    parser.add_argument(
        "--train-size", default="all", help="training images, or 'all' (50,000; the default)"
    )
    parser.add_argument(
        "--dataset",
        default=DATASETS[0],
        choices=DATASETS,
        help="fashion-mnist (MultiFashion, the default) or mnist (MultiMNIST: needs the IDX files)",
    )
    parser.add_argument("--nice", type=int, default=10, help="priority increment (default 10)")
    args = parser.parse_args()
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if args.seeds < 1 or not tasks or not set(tasks) <= {"left", "right"}:
        print("bench_reference: give --seeds 1 or more and --tasks left, right or left,right")
        return 2
    capacity = get_dataset(args.dataset).train_capacity
    try:
        train_size = capacity if args.train_size == "all" else int(args.train_size)
        configs = [
            config_for(args.dataset, task, seed, args.epochs, train_size)
            for seed in range(args.seeds)
            for task in tasks
        ]
    except ValueError:
        print(f"bench_reference: --train-size must be a number or 'all', got {args.train_size!r}")
        return 2
    except MtlError as exc:
        print(f"bench_reference: {exc}")
        return 2
    if args.nice:
        os.nice(args.nice)
    torch.set_num_threads(1)
    tic = time.monotonic()
    try:
        load_bundle(args.dataset, "multi", REFERENCE["data_seed"])  # outside the runs' timing
    except MtlError as exc:
        print(f"bench_reference: {exc}")
        return 2
    load_seconds = time.monotonic() - tic
    print(
        f"torch {torch.__version__}, {platform.machine()}, 1 thread, niceness {os.nice(0)}; "
        f"{args.dataset} multi prepared in {load_seconds:.0f} s; {len(configs)} runs of "
        f"{args.epochs} epochs on {train_size} training images",
        flush=True,
    )
    projection = {"epochs": args.epochs, "runs": len(configs)}
    runs = [run_one(config, projection) for config in configs]
    total = time.monotonic() - tic

    print("\nconfig (JSON; tasks and seed vary per run):")
    print(configs[0].to_json())
    print("\nthe same run from the command line:")
    print(cli_command(configs[0]))
    print(
        "\n| task | seed | epochs | best epoch | val accuracy | test accuracy | seconds | CPU seconds |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['task']} | {r['seed']} | {r['epochs']} | {r['best_epoch']} | "
            f"{r['val_accuracy']:.4f} | {r['test_accuracy']:.4f} | {r['seconds']:.0f} | {r['cpu_seconds']:.0f} |"
        )
    summary = {}
    for task in tasks:
        accs = [r["test_accuracy"] for r in runs if r["task"] == task]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        summary[task] = {"mean": statistics.fmean(accs), "sd": sd, "n": len(accs)}
        print(
            f"{task}: test accuracy at the best validation epoch {100 * summary[task]['mean']:.1f} %"
            f" (sd {100 * sd:.1f} over {len(accs)} seed{'s' if len(accs) > 1 else ''})"
        )
    print(f"total {total / 60:.1f} min, {runs[0]['params']} parameters per network")
    out_path = OUT_DIR / f"bench_reference_{args.dataset}_{'_'.join(tasks)}.json"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    report = {
        "config": configs[0].to_dict(),
        "runs": runs,
        "summary": summary,
        "seconds": round(total, 1),
        "torch": torch.__version__,
    }
    out_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {out_path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
