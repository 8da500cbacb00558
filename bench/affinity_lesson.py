"""Tuning and checking the lesson "Which tasks should share?": affinity, then the pairs.

For a candidate setup (the digit task on 100 labels, and two auxiliary tasks, each
labelled on 3,000 images) it trains four arms per seed, paired by seed (the same seed and
data seed in every arm): all three tasks in one hard-sharing network (the run whose
inter-task affinity, TAG, says which partner to keep), the digit task with each partner
alone, and the digit task alone. It prints, per seed, the affinity of each partner's
steps onto the digit's loss (mean over the epochs, ``analysis/affinity.py``) and the
digit's test accuracy at the validation-selected epoch in each arm; then the paired
differences with their 95% t-intervals (``analysis/stats.py``). Settings were chosen on
seeds 0-4 and checked once on seeds 100-109 (docs/lessons.md, "Which tasks should
share?").

    .venv/bin/python bench/affinity_lesson.py [--helper parity] [--other bbox]
        [--epochs 60] [--seeds 0 1 2 3 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.analysis.affinity import mean_affinity  # noqa: E402
from mtl_core.analysis.stats import paired_difference  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.execution.parallel import run_configs  # noqa: E402

LABELS = 3000


def arms(helper: str, other: str, epochs: int) -> dict[str, RunConfig]:
    base = RunConfig(train_size=100, epochs=epochs)
    sizes = {helper: LABELS, other: LABELS}
    return {
        "all in one": base.replace(aux=[helper, other], task_sizes=sizes),
        f"digit + {helper}": base.replace(aux=[helper], task_sizes={helper: LABELS}),
        f"digit + {other}": base.replace(aux=[other], task_sizes={other: LABELS}),
        "single task": base.replace(sharing="single"),
    }


def received(run, tasks: list[str]) -> pd.Series:
    """Each task's mean affinity onto the digit's loss in one run (mean over epochs)."""
    frame = pd.DataFrame(run.rows, columns=["epoch", "task", "split", "metric", "value"])
    return mean_affinity(frame, tasks)["digit"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--helper", default="parity")
    parser.add_argument("--other", default="bbox")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    setup = arms(args.helper, args.other, args.epochs)
    jobs = [
        (label, cfg.replace(seed=s, data_seed=s))
        for s in args.seeds
        for label, cfg in setup.items()
    ]
    tic = time.monotonic()
    runs = run_configs([c for _, c in jobs], workers=args.workers)
    print(
        f"{args.helper} vs {args.other}, {args.epochs} epochs, seeds {args.seeds}: "
        f"{time.monotonic() - tic:.0f} s for {len(jobs)} runs"
    )
    acc: dict[str, list[float]] = {label: [] for label in setup}
    aff: dict[str, list[float]] = {args.helper: [], args.other: []}
    for (label, cfg), run in zip(jobs, runs, strict=True):
        assert run.status == "completed", run.message
        acc[label].append(run.summary["main"]["digit"]["test_metric"])
        if label == "all in one":
            z = received(run, list(cfg.all_tasks))
            for task in aff:
                aff[task].append(float(z[task]))
    for i, seed in enumerate(args.seeds):
        accs = "  ".join(f"{label} {acc[label][i]:.3f}" for label in setup)
        zs = "  ".join(f"Z({t}→digit) {aff[t][i]:+.4f}" for t in aff)
        print(f"seed {seed}: {zs} | {accs}")
    ranked = sum(h > o for h, o in zip(aff[args.helper], aff[args.other], strict=True))
    print(f"affinity ranks {args.helper} above {args.other} on {ranked} of {len(args.seeds)} seeds")
    z = paired_difference(aff[args.helper], aff[args.other])
    print(
        f"Z({args.helper}→digit) − Z({args.other}→digit): mean {z.mean:+.4f}, "
        f"95% CI {z.low:+.4f} to {z.high:+.4f}"
    )
    for t in aff:
        print(f"Z({t}→digit): mean {sum(aff[t]) / len(aff[t]):+.4f}")
    for label in setup:
        print(f"{label}: test accuracy mean {100 * sum(acc[label]) / len(acc[label]):.1f}%")
    helper, other = f"digit + {args.helper}", f"digit + {args.other}"
    for a, b in [
        (helper, other),
        (helper, "all in one"),
        (helper, "single task"),
        ("all in one", other),
        (other, "single task"),
    ]:
        d = paired_difference(acc[a], acc[b])
        shown = sum(x > y for x, y in zip(acc[a], acc[b], strict=True))
        print(
            f"{a} − {b}: {100 * d.mean:+.1f} points, 95% CI {100 * d.low:+.1f} to "
            f"{100 * d.high:+.1f}, p = {d.p_value:.2g}, {shown} of {len(args.seeds)} seeds"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
