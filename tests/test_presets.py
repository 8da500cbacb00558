"""Each classroom preset claims only what it shows: every claim is tested over 5 seeds.

Paired by seed (the same seed and data seed in every arm), the 95% t-interval of the
difference must exclude zero in the claimed direction. Slow: it trains the claimed arms
of every preset (about 2-3 minutes on 2 cores).
"""

from __future__ import annotations

import pytest

from mtl_core.presets import PRESETS, claim_difference, claim_holds, claimed_arms, run_preset

SEEDS = (0, 1, 2, 3, 4)
CLAIMING = [name for name, preset in PRESETS.items() if preset.claims]


@pytest.mark.slow
@pytest.mark.parametrize("name", CLAIMING)
def test_preset_claims_hold_over_five_paired_seeds(name):
    preset = PRESETS[name]
    results = run_preset(preset, SEEDS, arms=claimed_arms(preset))
    for claim in preset.claims:
        diff = claim_difference(preset, claim, results)
        assert claim_holds(claim, diff), f"{name}: {claim.text}: {diff}"


def test_every_preset_names_existing_arms_and_a_two_sentence_explanation():
    for preset in PRESETS.values():
        for claim in preset.claims:
            assert claim.a in preset.arms and (claim.b is None or claim.b in preset.arms)
        assert preset.explanation.count(". ") + 1 >= 2
