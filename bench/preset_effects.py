"""Train every classroom preset's comparison over 5 paired seeds and print the effects.

The effect sizes in docs/lessons.md come from this output; ``tests/test_presets.py`` checks the
same claims with the same code. Run: ``.venv/bin/python bench/preset_effects.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.readme_blocks import replace_block  # noqa: E402
from mtl_core.studies.claims import evidence_sentence, recorded_from  # noqa: E402
from mtl_core.studies.presets import PRESETS, Claim, claim_difference, claim_holds, run_preset  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", action="append", help="only these presets")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    parser.add_argument(
        "--write-readme",
        action="store_true",
        help="put the effect sizes into the preset-effects block (docs/lessons.md)",
    )
    args = parser.parse_args()
    out = {}
    markdown = []
    for name in args.preset or list(PRESETS):
        preset = PRESETS[name]
        tic = time.monotonic()
        results = run_preset(preset, SEEDS, workers=args.workers)
        task = preset.config.tasks[0]
        print(f"\n## {name}  ({time.monotonic() - tic:.0f} s, seeds {list(SEEDS)})")
        markdown.append(f"**{name}.** {preset.explanation}\n")
        markdown.append("| arm | test accuracy (mean ± sd) |\n|---|---|")
        arms = {}
        for label, arm in results.items():
            acc = [s["main"][task]["test_metric"] for s in arm.summaries]
            arms[label] = acc
            mean, sd = statistics.mean(acc), statistics.stdev(acc)
            print(f"  {label:<22} test accuracy {mean:.4f} ± {sd:.4f}")
            markdown.append(f"| {label} | {mean:.3f} ± {sd:.3f} |")
        markdown.append("")
        claims = list(preset.claims)
        reference = next((label for label in preset.arms if label == "single task"), None)
        if reference:  # every arm against single-task, as information (not a claim)
            claims += [
                Claim(f"{label} vs single task", label, reference, "test_metric")
                for label in preset.arms
                if label != reference
            ]
        rows = []
        for claim in claims:
            diff = claim_difference(preset, claim, results)
            tag = (
                "CLAIM " + ("holds" if claim_holds(claim, diff) else "FAILS")
                if claim in preset.claims
                else "info"
            )
            print(
                f"  [{tag}] {claim.text}: {diff.mean:+.4f}, 95% CI {diff.low:+.4f} to "
                f"{diff.high:+.4f}, p = {diff.p_value:.3g}"
            )
            if claim in preset.claims:
                markdown.append(
                    f"- Claim, {'holds' if claim_holds(claim, diff) else 'FAILS'}: "
                    f"{claim.text}: {evidence_sentence(claim, recorded_from(claim, diff))}."
                )
            rows.append(
                {
                    "claim": claim.text,
                    "mean": diff.mean,
                    "low": diff.low,
                    "high": diff.high,
                    "p": diff.p_value,
                    "tag": tag,
                }
            )
        out[name] = {"arms": arms, "differences": rows}
        if not preset.claims:
            markdown.append("- No claim: no difference was significant over these seeds.")
        markdown.append("")
    if args.write_readme:
        replace_block("preset-effects", "\n".join(markdown))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
