"""A claim's verdict in words: held, did not hold or unclear, and the sentence that says why.

Why apart from the lesson declarations: the words are where a class reads the statistics,
so each rule lives here once and is tested as text: the outcome (the paired test, Holm's
correction, a claim about every seed), the difference with its 95% interval and p (or
"the same on every seed" when the seeds do not differ, where an interval and a t-test say
nothing), how many seeds went the claimed way and how many tied, numbers rounded before
they are signed (no "-0.0"), and the reason for the outcome. The page and the handout
show the outcome as a badge before the sentence.
"""

from __future__ import annotations

from mtl_core.studies.claims import (
    DIGITS,
    MEASURES,
    Claim,
    ClaimDifference,
    claim_holds,
    compared,
)

LEVEL = 0.05  # a claim holds when its (Holm-corrected) p is below this


def outcome(claim: Claim, diff: ClaimDifference, p_holm: float) -> str:
    """ "held": the claim's test passes and the Holm-corrected p is below LEVEL; "did not
    hold": the interval lies wholly on the other side of zero (or of the bar), or an
    ``every_seed`` claim meets a seed that goes the other way; else "unclear"."""
    if claim_holds(claim, diff) and p_holm < LEVEL:
        return "held"
    against = diff.high < 0 if claim.direction > 0 else diff.low > 0
    if against or (claim.every_seed and diff.shown_on(claim.direction) < len(diff.per_seed)):
        return "did not hold"
    return "unclear"


def _reference(claim: Claim) -> str:
    """What the interval is compared with: zero (two arms) or the claim's bar."""
    if claim.b:
        return "zero"
    _, unit, scale = MEASURES[claim.measure]
    return f"the bar of {claim.bar * scale:g}{unit.strip()}"


def _why(claim: Claim, diff: ClaimDifference, p_holm: float, result: str) -> str:
    """The reason for the outcome, without naming it (the badge beside the sentence does)."""
    side = "above" if claim.direction > 0 else "below"
    other = "below" if claim.direction > 0 else "above"
    ref = _reference(claim)
    if result == "held":
        return f"the whole interval lies {side} {ref}."
    if result == "did not hold":
        wrong = len(diff.per_seed) - diff.shown_on(claim.direction)
        if claim.every_seed and wrong:
            return (
                f"{wrong} of {len(diff.per_seed)} seeds go the other way, and the claim is "
                "about every seed."
            )
        return f"the whole interval lies {other} {ref}."
    if (diff.low > 0 if claim.direction > 0 else diff.high < 0) and p_holm >= LEVEL:
        return (
            f"the interval lies {side} {ref}, but after Holm's correction p is not below "
            f"{LEVEL:g}; more seeds may tell."
        )
    if set(diff.per_seed) == {0.0}:  # e.g. early stopping that never triggered: twin runs
        return (
            "every seed gave exactly the same result in both, so nothing tells them apart; "
            "more seeds of the same runs would not either."
        )
    return f"the interval includes {ref}: these seeds cannot tell; more seeds may."


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(claim: Claim, diff: ClaimDifference, p_holm: float, m: int, result: str) -> str:
    """The claim, its paired difference with 95% CI, p (Holm-corrected when m > 1, saying
    so), the number of seeds, and the reason for the outcome. The outcome itself is not
    in it: the page and the handout show it as a badge just before the claim, and the two
    read as one line ("✓ held  hard sharing beats single-task. ...")."""
    _, unit, scale = MEASURES[claim.measure]
    if claim.b:
        shift, sign, what = 0.0, "+", compared(claim)
    else:  # one arm against the bar: show the value itself
        shift, sign, what = claim.bar, "", f"{claim.a}'s {compared(claim)}"
    digits = DIGITS.get(claim.measure, 1)
    sign += f".{digits}"  # below: rounded first, so that no "-0.0" is shown
    mean, low, high = (
        round(scale * (v + shift), digits) + 0.0 for v in (diff.mean, diff.low, diff.high)
    )
    p = "p < 0.0001" if p_holm < 1e-4 else f"p = {p_holm:.2g}"
    p += f" (Holm-corrected over {m} claims)" if m > 1 else ""
    spread = f"95% CI {low:{sign}f} to {high:{sign}f}{unit}, {p}"
    if len(set(diff.per_seed)) == 1:  # no spread: an interval and a t-test say nothing more
        spread = "the same on every seed"
    n, ties = len(diff.per_seed), sum(d == 0 for d in diff.per_seed)
    agree = f"{diff.shown_on(claim.direction) - ties} of {n} in the claimed direction"
    agree += f", {ties} tied" if ties else ""
    return (
        f"{claim.text}. {_capital(what)}: {mean:{sign}f}{unit} on average, {spread}; "
        f"{'paired ' if claim.b else ''}over {n} seeds, {agree}. "
        f"{_capital(_why(claim, diff, p_holm, result))}"
    )
