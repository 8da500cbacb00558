"""A verdict's sentence says what the seeds showed, and nothing they could not show.

Hand-made differences: seeds that tie are counted as ties, not as seeds going the claimed
way; seeds that all give the same difference get "the same on every seed" instead of an
interval and a p-value (a t-test on zero spread says nothing); a difference that rounds to
zero is never printed as "-0.0".
"""

from __future__ import annotations

from mtl_core.studies.claims import Claim, ClaimDifference
from mtl_core.studies.verdict_words import outcome, sentence

PAIR = Claim("a beats b", "a", "b", "test_metric")
BAR = Claim("the loss ends above its minimum", "a", None, "val_rise", bar=0.1, every_seed=True)


def diff(per_seed, low, high, p=0.5):
    mean = sum(per_seed) / len(per_seed)
    return ClaimDifference(mean, low, high, p, len(per_seed), per_seed=tuple(per_seed))


def test_ties_are_counted_apart_from_the_claimed_direction():
    d = diff((0.02, 0.0, 0.0), -0.02, 0.04)
    text = sentence(PAIR, d, d.p_value, 1, outcome(PAIR, d, d.p_value))
    assert "1 of 3 in the claimed direction, 2 tied" in text


def test_no_spread_says_the_same_on_every_seed_instead_of_an_interval():
    d = diff((-0.1, -0.1, -0.1), -0.1, -0.1, p=0.0)
    text = sentence(BAR, d, d.p_value, 1, outcome(BAR, d, d.p_value))
    assert "the same on every seed" in text
    assert "95% CI" not in text and "p <" not in text


def test_a_difference_that_rounds_to_zero_is_not_printed_negative():
    d = diff((-0.1 - 1e-12, -0.1, -0.1 + 1e-12), -0.1 - 1e-12, -0.1 + 1e-12)
    text = sentence(BAR, d, d.p_value, 1, outcome(BAR, d, d.p_value))
    assert "-0.0" not in text and "−0.0" not in text
    assert "0.0% on average" in text


def test_a_one_arm_claim_names_its_arm_first_and_says_its_value_not_paired():
    # "best validation epoch, as a share of the epochs trained of maxout" read as if the
    # epochs belonged to maxout's share: the arm comes first, as its owner
    claim = Claim("it turns early", "maxout", None, "best_epoch_share", direction=-1, bar=0.5)
    d = diff((-0.3, -0.25, -0.28), -0.33, -0.22, p=0.001)
    text = sentence(claim, d, d.p_value, 1, outcome(claim, d, d.p_value))
    assert "Maxout's best validation epoch, as a share of the epochs trained: 22" in text
    assert "paired" not in text and "of maxout" not in text


def test_twin_runs_are_not_told_that_more_seeds_may_tell():
    # early stopping that never triggered trains the same model as training to the end
    d = diff((0.0, 0.0, 0.0), 0.0, 0.0, p=1.0)
    text = sentence(PAIR, d, d.p_value, 1, outcome(PAIR, d, d.p_value))
    assert outcome(PAIR, d, d.p_value) == "unclear"
    assert "nothing tells them apart" in text and "more seeds may" not in text
