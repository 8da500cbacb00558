"""Check every preset's claims on the seeds their settings were chosen on (0-4).

``tests/test_presets.py`` checks each claim, on every ``make test``, on the held-out seeds
100-104: the claim must hold there and its interval must be the one the page shows
(``Recorded``), to display precision. The tuning seeds' runs come from the same code, so
a change that moves them moves the held-out runs too and that test fails on it; in the
suite they would repeat that check at the same cost again. They are re-checked here, when
a preset is tuned or its recorded intervals are renewed: exit status 1 when a claim fails
on these seeds.

Run: ``.venv/bin/python bench/preset_claims.py [--preset NAME ...] [--seeds 0 1 2 3 4]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtl_core.studies.claims import evidence_sentence, recorded_from  # noqa: E402
from mtl_core.studies.presets import (  # noqa: E402
    PRESETS,
    claim_difference,
    claim_holds,
    claimed_arms,
    run_preset,
)

TUNING_SEEDS = (0, 1, 2, 3, 4)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", action="append", help="only these presets")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(TUNING_SEEDS))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    names = args.preset or [name for name, preset in PRESETS.items() if preset.claims]
    failed = 0
    for name in names:
        preset = PRESETS[name]
        tic = time.monotonic()
        results = run_preset(preset, args.seeds, args.workers, claimed_arms(preset))
        print(f"\n## {name}  ({time.monotonic() - tic:.0f} s, seeds {args.seeds})")
        for claim in preset.claims:
            diff = claim_difference(preset, claim, results)
            holds = claim_holds(claim, diff)
            failed += not holds
            sentence = evidence_sentence(claim, recorded_from(claim, diff))
            print(f"  [{'holds' if holds else 'FAILS'}] {claim.text}: {sentence}")
    print(f"\n{failed} claim(s) failed" if failed else "\nevery claim holds")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
