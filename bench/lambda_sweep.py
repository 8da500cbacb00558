"""How strong must the soft-sharing tie be? Test accuracy against λ for l2 and trace.

The "sharing helps" setup (100 digit labels; parity and magnitude on 3,000 images),
paired over seeds against single-task. Prints a markdown table; ``--write-readme`` puts
it into docs/methods.md. Run: ``.venv/bin/python bench/lambda_sweep.py`` (about 5 minutes).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.readme_blocks import replace_block  # noqa: E402
from mtl_core.analysis.stats import paired_difference  # noqa: E402
from mtl_core.config import RunConfig  # noqa: E402
from mtl_core.studies.presets import PRESETS  # noqa: E402

GRID = {"l2": (100.0, 1000.0, 10000.0, 100000.0), "trace": (1.0, 10.0, 100.0, 1000.0)}


def run(config: RunConfig) -> tuple[float, float]:
    import torch

    from mtl_core.training.trainer import train

    torch.set_num_threads(1)
    result = train(config)
    distance = result.curve("_model", "train", "trunk_distance")
    return result.summary["main"]["digit"]["test_metric"], distance[-1] if distance else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    base = PRESETS["Sharing helps"].config
    arms = {("single", 0.0): base.replace(aux=[], task_sizes={}, sharing="single")}
    for penalty, grid in GRID.items():
        for lam in grid:
            arms[(penalty, lam)] = base.replace(
                sharing="soft", soft_penalty=penalty, soft_lambda=lam
            )
    seeds = range(args.seeds)
    jobs = [(arm, cfg.replace(seed=s, data_seed=s)) for s in seeds for arm, cfg in arms.items()]
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(run, [cfg for _, cfg in jobs]))
    by_arm: dict = {}
    for (arm, _), res in zip(jobs, results, strict=True):
        by_arm.setdefault(arm, []).append(res)
    single = [acc for acc, _ in by_arm[("single", 0.0)]]
    lines = [
        "| penalty | λ | test accuracy | vs single-task (95% CI) | final trunk distance |",
        "|---|---|---|---|---|",
    ]
    for (penalty, lam), res in by_arm.items():
        if penalty == "single":
            continue
        acc = [a for a, _ in res]
        diff = paired_difference(acc, single)
        lines.append(
            f"| {penalty} | {lam:g} | {statistics.mean(acc):.3f} | "
            f"{diff.mean * 100:+.1f} points ({diff.low * 100:+.1f} to {diff.high * 100:+.1f}) | "
            f"{statistics.mean(d for _, d in res):.2f} |"
        )
    lines.append(f"\nSingle-task: {statistics.mean(single):.3f}; seeds 0-{args.seeds - 1}, paired.")
    table = "\n".join(lines)
    print(table)
    if args.write_readme:
        replace_block("lambda-table", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
