"""Benchmark: how long one run of a classroom preset takes on one thread.

docs/lessons.md says how long a student waits for each U-curve lesson; this measures it.
Each preset's first arm (seed 0, ``threads=1``, as the page trains it) is trained with
``mtl_core.training.trainer.train`` in this process, after one untimed warm-up run of the
same config (data loaded, torch's kernels warm), ``--reps`` times; the median wall time
is printed, with the machine's load average, since a busy machine slows every run.

    .venv/bin/python bench/preset_time.py [--preset "Maxout U-curve"] [--reps 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.studies.presets import PRESETS, arm_configs  # noqa: E402
from mtl_core.training.trainer import train  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", action="append", help="default: the U-curve presets")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in args.preset or ["Overfitting 101", "Maxout U-curve"]:
        config = next(iter(arm_configs(PRESETS[name], 0).values())).replace(threads=1)
        train(config)  # warm-up, untimed
        times = []
        for _ in range(args.reps):
            tic = time.perf_counter()
            train(config)
            times.append(time.perf_counter() - tic)
        per_epoch = statistics.median(times) / config.epochs
        print(
            f"{name}: {statistics.median(times):.1f} s a run ({config.epochs} epochs, "
            f"{per_epoch * 1000:.0f} ms an epoch; runs {', '.join(f'{t:.1f}' for t in times)} s; "
            f"1 thread; load average {os.getloadavg()[0]:.1f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
