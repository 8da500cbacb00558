"""Which way of combining tasks helps, and when? Every weighting and aggregation method,
and cross-stitch units, on the "Sharing helps" and "Sharing hurts" presets.

Each arm is the preset's hard-sharing setup with one method changed, paired by seed
(initial weights and data split alike) against single-task learning of the digit task.
Also the mean gradient cosine of digit and parity on the shared trunk over training.
Prints a markdown table; ``--write-readme`` puts it into docs/methods.md. Run:
``.venv/bin/python bench/method_effects.py`` (about 10 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.readme_blocks import replace_block  # noqa: E402
from mtl_core.analysis.stats import paired_difference  # noqa: E402
from mtl_core.execution.parallel import run_configs  # noqa: E402
from mtl_core.studies.presets import PRESETS  # noqa: E402

METHODS = {
    "fixed (hard sharing)": {},
    "equal": {"weighting": "equal"},
    "uncertainty": {"weighting": "uncertainty"},
    "dwa": {"weighting": "dwa"},
    "gradnorm": {"weighting": "gradnorm"},
    "mgda": {"aggregator": "mgda"},
    "pcgrad": {"aggregator": "pcgrad"},
    "upgrad": {"aggregator": "upgrad"},
    "cagrad": {"aggregator": "cagrad"},
    "cross-stitch": {"sharing": "cross-stitch"},
    "single task": {"aux": [], "task_sizes": {}, "sharing": "single"},
}
SETUPS = ("Sharing helps", "Sharing hurts")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write-readme", action="store_true")
    args = parser.parse_args()
    jobs = []
    for setup in SETUPS:
        base = PRESETS[setup].config
        for method, changes in METHODS.items():
            for seed in range(args.seeds):
                jobs.append((setup, method, base.replace(**changes, seed=seed, data_seed=seed)))
    tic = time.monotonic()
    results = run_configs([cfg for *_, cfg in jobs], workers=args.workers)
    elapsed = time.monotonic() - tic
    acc: dict = {}
    cos: dict = {}
    weight: dict = {}  # the digit task's weight in epoch 1 and in the last epoch
    for (setup, method, _), result in zip(jobs, results, strict=True):
        if result.status != "completed":
            raise SystemExit(f"{setup} / {method}: {result.status} {result.message}")
        acc.setdefault((setup, method), []).append(result.summary["main"]["digit"]["test_metric"])
        curve = result.curve("_conflict", "train", "cos:digit|parity")[1:]
        if curve:
            cos.setdefault((setup, method), []).append(statistics.mean(curve))
        w = result.curve("digit", "train", "weight")
        weight.setdefault((setup, method), []).append((w[1], w[-1]))
    lines = [
        "| setup | method | digit test accuracy | vs single-task (95% CI) | "
        "mean cos(digit, parity) | digit's weight, epoch 1 → last |",
        "|---|---|---|---|---|---|",
    ]
    for setup in SETUPS:
        single = acc[(setup, "single task")]
        for method in METHODS:
            if method == "single task":
                continue
            a = acc[(setup, method)]
            d = paired_difference(a, single)
            c = f"{statistics.mean(cos[(setup, method)]):+.2f}" if (setup, method) in cos else "-"
            pairs = weight[(setup, method)]
            w = (
                f"{statistics.mean(p[0] for p in pairs):.2f} → "
                f"{statistics.mean(p[1] for p in pairs):.2f}"
            )
            lines.append(
                f"| {setup} | {method} | {statistics.mean(a):.3f} | "
                f"{d.mean * 100:+.1f} points ({d.low * 100:+.1f} to "
                f"{d.high * 100:+.1f}) | {c} | {w} |"
            )
        lines.append(f"| {setup} | single task | {statistics.mean(single):.3f} | | - | - |")
    lines.append(
        f"\n{args.seeds} paired seeds per arm, 95% paired t-intervals; "
        f"{len(jobs)} runs in {elapsed / 60:.1f} min on {args.workers} workers."
    )
    table = "\n".join(lines)
    print(table)
    if args.write_readme:
        replace_block("method-table", table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
