"""Benchmark: what recording inter-task affinity (TAG) adds to an epoch.

The same run is trained with affinity on (``affinity_every`` at its default, 10) and off
(``--no-affinity``), and the CPU time of each epoch (training, the per-epoch evaluation
and the store write, at one torch thread) is compared; the ``wall_time`` rows are
reported too, but a shared machine makes the wall clock measure its neighbours. Workloads:

- ``default``: the dashboard's first-click setup (``RunConfig()``: mnist-5k, 200 training
  images, MLP 256 x 2, Adam, batch 32) with two auxiliary tasks, parity and magnitude;
- ``steps``: the same with 2,000 training images, where training steps outweigh the
  evaluation (the harder case for the overhead);
- ``tasks``: ``steps`` with four auxiliary tasks (parity, magnitude, loops, bbox): the
  measurement grows with the number of tasks.

After an untimed warm-up, on and off alternate for ``--reps`` repetitions; the script
prints every run's CPU time per epoch, the medians, and the overhead (on / off - 1) with PASS/FAIL
against the target of 25% for ``default`` (the others are reported, not judged), and
writes the numbers to ``bench/out/bench_affinity.json``.

    .venv/bin/python bench/bench_affinity.py [--reps 3] [--epochs 3] [--check]
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere, without installing mtl_core

from bench.results import write_results  # noqa: E402
from mtl_core.config import DEFAULT  # noqa: E402
from mtl_core.data.splits import load_bundle  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402

TARGET = 0.25  # at default settings affinity adds at most 25% to an epoch
OUT_PATH = ROOT / "bench" / "out" / "bench_affinity.json"
WORKLOADS = {
    "default": {"aux": ("parity", "magnitude")},
    "steps": {"aux": ("parity", "magnitude"), "train_size": 2000},
    "tasks": {"aux": ("parity", "magnitude", "loops", "bbox"), "train_size": 2000},
}


def epoch_time(changes: dict, every: int, epochs: int) -> tuple[float, float]:
    """Mean seconds per trained epoch of one run: CPU time of this process between the
    epochs' callbacks (training, evaluation and the store write of each epoch), and the
    ``wall_time`` rows. CPU time is what the judgement uses: on a shared machine the wall
    clock measures the neighbours too."""
    config = DEFAULT.replace(**changes, epochs=epochs, affinity_every=every, threads=1)
    marks: list[float] = []
    result = train(config, callback=lambda event: marks.append(time.process_time()))
    assert result.status == "completed", result.message
    walls = [v for e, t, _, m, v in result.rows if t == "_run" and m == "wall_time" and e > 0]
    return (marks[-1] - marks[0]) / (len(marks) - 1), sum(walls) / len(walls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="timed runs of each (default 3)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument("--check", action="store_true", help="exit 1 if the target is missed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_bundle(DEFAULT.dataset, DEFAULT.variant, DEFAULT.data_seed)  # outside the timing
    print(
        f"torch {torch.__version__}, {platform.machine()}, 1 thread, every "
        f"{DEFAULT.affinity_every} steps, {args.epochs} epochs, {args.reps} reps"
    )
    report, ok = {}, True
    for name, changes in WORKLOADS.items():
        epoch_time(changes, DEFAULT.affinity_every, 1)  # warm-up
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        wall: dict[str, list[float]] = {"on": [], "off": []}
        for _ in range(args.reps):
            for side, every in (("on", DEFAULT.affinity_every), ("off", 0)):
                seconds, walls = epoch_time(changes, every, args.epochs)
                cpu[side].append(seconds)
                wall[side].append(walls)
        on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
        overhead = on / off - 1
        wall_overhead = statistics.median(wall["on"]) / statistics.median(wall["off"]) - 1
        judged = name == "default"
        verdict = ("PASS" if overhead <= TARGET else "FAIL") if judged else "(reported)"
        ok = ok and (overhead <= TARGET or not judged)
        tasks = 1 + len(changes["aux"])
        size = changes.get("train_size", DEFAULT.train_size)
        print(
            f"{name:8s} {tasks} tasks, {size} images: CPU on {on * 1000:.1f} ms/epoch "
            f"{[round(t * 1000, 1) for t in cpu['on']]}, off {off * 1000:.1f} ms/epoch "
            f"{[round(t * 1000, 1) for t in cpu['off']]}: overhead {overhead:+.1%} {verdict}; "
            f"wall clock overhead {wall_overhead:+.1%}"
        )
        report[name] = {
            "changes": changes,
            "cpu_on": cpu["on"],
            "cpu_off": cpu["off"],
            "wall_on": wall["on"],
            "wall_off": wall["off"],
            "overhead": overhead,
            "wall_overhead": wall_overhead,
        }
    write_results(OUT_PATH, {"target": TARGET, "workloads": report})
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
