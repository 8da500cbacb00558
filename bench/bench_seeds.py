"""Benchmark: four seeds of one config in two worker processes, against one after another.

The workload: mnist-5k, `digit` with the auxiliary task `parity` (hard sharing, MLP
256×2, batch 32, Adam 1e-3), 1,000 training images, 200 epochs (about 10 s a run); seeds 0-3.

- **parallel**: `mtl_core.execution.parallel.run_configs(configs, workers=2)`, each run with
  `threads=1`, as `python -m mtl_core seeds --k 4` trains them. Timed from the call to
  its return, so it includes starting the two spawn workers (import torch, warm-up):
  what a user waits for.
- **sequential**: the same four configs with `threads=2` (all cores), trained with
  `mtl_core.training.trainer.train` one after another in this process, which is already warm
  (data loaded, one untimed run done): the best case for the sequential side.

The two alternate for `--reps` repetitions; medians are compared. Target: parallel /
sequential <= 0.8. The worker start-up alone is measured too (a batch of two one-epoch
runs of a 4-unit net), and the ratio without it is printed for information.

    .venv/bin/python bench/bench_seeds.py [--reps 3] [--epochs 200] [--check]

Only meaningful on an idle machine: two threads on two cores slow down many times when
another process takes a core (OpenMP threads wait on each other), so check `uptime`.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing mtl_core

from bench.results import write_results  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.data.splits import load_bundle  # noqa: E402
from mtl_core.execution.parallel import run_configs  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402

DATASET = "mnist-5k"
TRAIN_SIZE = 1000
EPOCHS = 200  # runs of about 10 s; the README also reports 30 (runs of about 2 s)
K = 4
WORKERS = 2
TARGET_RATIO = 0.8
OUT_PATH = ROOT / "bench" / "out" / "bench_seeds.json"


def configs(threads: int, epochs: int = EPOCHS) -> list[RunConfig]:
    base = RunConfig(
        dataset=DATASET,
        train_size=TRAIN_SIZE,
        epochs=epochs,
        aux=("parity",),
        sharing="hard",
        threads=threads,
    )
    return [base.replace(seed=seed) for seed in range(K)]


def run_parallel(epochs: int) -> list[float]:
    results = run_configs(configs(1, epochs), workers=WORKERS)
    assert [r.status for r in results] == ["completed"] * K, [r.message for r in results]
    return [r.summary["main"]["digit"]["test_metric"] for r in results]


def run_sequential(epochs: int) -> list[float]:
    results = [train(c) for c in configs(2, epochs)]
    assert [r.status for r in results] == ["completed"] * K, [r.message for r in results]
    return [r.summary["main"]["digit"]["test_metric"] for r in results]


def startup() -> float:
    """Wall time of a batch whose runs take milliseconds: the cost of starting workers."""
    tiny = RunConfig(dataset=DATASET, train_size=10, epochs=1, width=4, depth=1)
    tic = time.perf_counter()
    run_configs([tiny, tiny.replace(seed=1)], workers=WORKERS)
    return time.perf_counter() - tic


def timed(fn, *args) -> tuple[float, list[float]]:
    tic = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - tic, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    parser.add_argument(
        "--epochs",
        type=int,
        default=EPOCHS,
        help=f"epochs per run (default {EPOCHS}): longer runs amortise the worker start-up",
    )
    args = parser.parse_args()
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    load = os.getloadavg()[0]
    print(
        f"load average (1 min) before: {load:.2f}"
        + ("  (busy: timings will scatter)" if load >= 1.0 else "")
    )
    load_bundle(DATASET)  # once, untimed; the sequential side reuses this process cache
    train(configs(threads=2)[0].replace(epochs=1))  # untimed warm-up of this process

    times: dict[str, list[float]] = {"parallel": [], "sequential": []}
    accuracy: dict[str, list[float]] = {}
    startups = [startup()]
    for rep in range(args.reps):
        for name, fn in (("parallel", run_parallel), ("sequential", run_sequential)):
            seconds, accuracy[name] = timed(fn, args.epochs)
            times[name].append(seconds)
        startups.append(startup())
        print(
            f"rep {rep + 1}/{args.reps}: parallel {times['parallel'][-1]:.2f} s, "
            f"sequential {times['sequential'][-1]:.2f} s, worker start-up "
            f"{startups[-1]:.2f} s"
        )

    median = {name: statistics.median(t) for name, t in times.items()}
    start = statistics.median(startups)
    ratio = median["parallel"] / median["sequential"]
    warm_ratio = (median["parallel"] - start) / median["sequential"]
    passed = ratio <= TARGET_RATIO
    print(
        f"\n{K} seeds, {TRAIN_SIZE} images, {args.epochs} epochs, digit + parity, {args.reps} reps"
    )
    for name in times:
        every = " ".join(f"{t:.2f}" for t in times[name])
        mean_acc = statistics.mean(accuracy[name])
        print(
            f"{name:10s}: median {median[name]:.2f} s  (all: {every}); mean test accuracy "
            f"{mean_acc:.4f}"
        )
    spread = max(max(t) / min(t) for t in times.values())
    if spread > 1.25:
        print(
            f"warning: times of one side vary up to {spread:.2f}x: the machine was busy; "
            "rerun when it is idle"
        )
    print(f"worker start-up (2 spawn workers, median): {start:.2f} s")
    print(f"ratio without the start-up (for information): {warm_ratio:.3f}")
    print(
        f"ratio parallel/sequential: {ratio:.3f}  (target <= {TARGET_RATIO:.2f})  "
        f"{'PASS' if passed else 'FAIL'}"
    )
    OUT_PATH.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "workload": {
            "dataset": DATASET,
            "train_size": TRAIN_SIZE,
            "epochs": args.epochs,
            "k": K,
            "tasks": ["digit", "parity"],
            "workers": WORKERS,
        },
        "reps": args.reps,
        "times_s": times,
        "median_s": median,
        "startup_s": startups,
        "ratio": ratio,
        "ratio_without_startup": warm_ratio,
        "target_ratio": TARGET_RATIO,
        "passed": passed,
        "mean_test_accuracy": {k: statistics.mean(v) for k, v in accuracy.items()},
        "max_spread": spread,  # slowest / fastest rep of one side; > 1.25: machine busy
        "load_before": load,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    write_results(OUT_PATH, report)
    return 1 if args.check and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
