"""How long the server takes to build a curves figure, as the views ask for one.

A live page's server builds its figure in the script run that draws it: the Live view at a
Train click (the first point waits for it) and when its run's status changes; a lesson's
and a comparison's panels on every redraw while their runs train, for every page that
shows one. This times ``curves_figure`` (figures/curves.py) on three figures the views
draw, each on frames like theirs, and the figure's JSON for the browser:

- ``live click``: the Live view right after Train, one task, epoch 0 stored, fed;
- ``live 3 tasks``: a run of three tasks, 100 epochs;
- ``comparison``: four seed groups of three tasks, 100 epochs, with bands;
- ``lesson``: a lesson's figure (figures/lesson.py), three arms of five seeds, 100 epochs.

It prints the median over ``--reps`` builds (after 3 untimed ones) and writes
bench/out/bench_figures.json.

    .venv/bin/python bench/bench_figures.py [--reps 30] [--tree PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bench.results; --tree goes before it in main()

from bench.results import write_results  # noqa: E402

OUT_PATH = ROOT / "bench" / "out" / "bench_figures.json"


def _frame(pd, np, runs: list[int], tasks: list[str], epochs: int):
    rng = np.random.default_rng(0)
    rows = [
        (run, epoch, task, split, metric, float(rng.random()))
        for run in runs
        for epoch in range(epochs)
        for task in tasks
        for split in ("train", "val")
        for metric in ("loss", "accuracy")
    ]
    return pd.DataFrame(rows, columns=["run_id", "epoch", "task", "split", "metric", "value"])


def cases() -> dict:
    """name -> a function that builds the figure once."""
    import numpy as np
    import pandas as pd

    from mtl_core.dashboard.figures.curves import curves_figure
    from mtl_core.dashboard.figures.lesson import lesson_figure

    three = ["digit", "parity", "magnitude"]
    metric_of = dict.fromkeys(three, "accuracy")
    options = {"view": "loss", "x_axis": "epoch", "log_y": False, "smoothing": 0.0}
    click = _frame(pd, np, [1], ["digit"], 1)
    live = _frame(pd, np, [1], three, 100)
    groups = _frame(pd, np, [1, 2, 3, 4], three, 100)
    sd = groups.rename(columns={"value": "sd"})
    bands = {run: sd[sd.run_id == run].drop(columns="run_id") for run in (1, 2, 3, 4)}
    arms = {f"arm {a}": list(range(5 * a + 1, 5 * a + 6)) for a in range(3)}
    lesson = _frame(pd, np, [i for ids in arms.values() for i in ids], ["digit"], 100)
    return {
        "live click": lambda: curves_figure(
            click,
            tasks=["digit"],
            metric_of=metric_of,
            best={(1, "digit"): None},
            run_names={1: "run 1"},
            feed=True,
            **options,
        ),
        "live 3 tasks": lambda: curves_figure(
            live, tasks=three, metric_of=metric_of, best={(1, "digit"): 50}, **options
        ),
        "comparison": lambda: curves_figure(
            groups,
            tasks=three,
            metric_of=metric_of,
            bands=bands,
            run_names={r: f"group {r}" for r in (1, 2, 3, 4)},
            **options,
        ),
        "lesson": lambda: lesson_figure(lesson, arms, task="digit", metric="accuracy"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=30, help="timed builds of each (default 30)")
    parser.add_argument("--tree", type=Path, default=ROOT, help="the tree to measure")
    args = parser.parse_args()
    sys.path.insert(0, str(args.tree.resolve()))
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    out = {"tree": str(args.tree), "reps": args.reps, "ms": {}}
    for name, build in cases().items():
        for _ in range(3):
            build()
        builds, jsons = [], []
        for _ in range(args.reps):
            tic = time.perf_counter()
            fig = build()
            mid = time.perf_counter()
            fig.to_json()
            builds.append(mid - tic)
            jsons.append(time.perf_counter() - mid)
        build_ms = statistics.median(builds) * 1000
        json_ms = statistics.median(jsons) * 1000
        out["ms"][name] = {"build": round(build_ms, 2), "json": round(json_ms, 2)}
        print(
            f"  {name:<14} build {build_ms:6.1f} ms, its JSON {json_ms:5.1f} ms (median of {args.reps})"
        )
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    write_results(OUT_PATH, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
