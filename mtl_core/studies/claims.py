"""A preset's claim and how it is judged: a measure per run, paired over seeds.

A claim compares one measure between two arms of a preset (or one arm's measure with a
bar; or, with ``measure_b``, one measure of arm a with another of arm b in the same unit)
over the same seeds, and holds when the paired 95% t-interval excludes zero on the
claimed side; a claim marked ``every_seed`` must also hold on each seed. A claim must be
able to fail: "the last validation loss is at or above its minimum" cannot, so the
U-curve claims (``u_curve_claims``) ask for a final loss at least 10% above the minimum
and a best epoch in the first half of training. Pure numbers (no training), so the fast
tests can show that a curve without a U fails the claim.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from mtl_core.analysis.stats import PairedDifference, paired_difference
from mtl_core.analysis.summary import best_epoch

# What each measure is, its unit and the factor it is shown with (one place for the page,
# docs/lessons.md and the tests). The two U-curve measures are read off the validation
# loss curve, whose entry 0 is the untrained network (epoch 0).
MEASURES: dict[str, tuple[str, str, float]] = {
    "test_metric": ("test accuracy at the validation-selected epoch", " accuracy points", 100),
    "final_test_metric": (
        "test accuracy of the weights the run ends with",
        " accuracy points",
        100,
    ),
    "test_loss": ("test loss at the validation-selected epoch", "", 1),
    "final_test_loss": ("test loss of the weights the run ends with", "", 1),
    "val_rise": ("final validation loss above its minimum", "%", 100),
    "best_epoch_share": ("best validation epoch, as a share of the epochs trained", "%", 100),
    "epochs_run": ("epochs trained", " epochs", 1),
}
DIGITS = {"test_loss": 2, "final_test_loss": 2}  # decimals shown (1 for the others)


@dataclass(frozen=True)
class Recorded:
    """A claim's interval as measured on held-out seeds, shown beside it on the page.

    ``tests/test_presets.py`` measures it again and fails, printing the new values,
    when the recorded numbers no longer match.
    """

    seeds: tuple[int, ...]
    mean: float  # of the per-seed differences (a − b, or a's measure − bar)
    low: float  # paired 95% t-interval
    high: float
    shown_on: int  # seeds on which the difference has the claimed sign


@dataclass(frozen=True)
class Claim:
    """``measure(arm a) − measure(arm b)`` (without b: ``measure(arm a) − bar``) has the
    sign ``direction`` (+1 or −1): its paired 95% t-interval over the seeds excludes zero
    on that side, and with ``every_seed`` each seed's difference has that sign too (or is
    zero: "at least 10% above", "in the first half"). With ``measure_b``, arm b is read
    with that measure instead (same unit): the early-stopped model at its best epoch
    against the model trained to the end at its last."""

    text: str
    a: str
    b: str | None  # None: compare arm a's measure with ``bar``
    measure: str  # a key of MEASURES
    direction: int = 1
    bar: float = 0.0
    every_seed: bool = False
    recorded: Recorded | None = None
    measure_b: str | None = None  # arm b's measure when it differs from arm a's

    def __post_init__(self) -> None:
        if self.measure_b is not None:
            if self.b is None:
                raise ValueError(f"{self.text}: measure_b needs an arm b")
            if MEASURES[self.measure][1:] != MEASURES[self.measure_b][1:]:
                raise ValueError(f"{self.text}: {self.measure} and {self.measure_b} differ in unit")

    @property
    def b_measure(self) -> str:
        """The measure arm b is read with."""
        return self.measure_b or self.measure


def compared(claim: Claim) -> str:
    """What the claim's difference is, in words: "test accuracy …, a − b", or with a
    measure per arm, "test loss at … (a) − test loss of … (b)"."""
    what = MEASURES[claim.measure][0]
    if claim.b is None:
        return what
    if claim.b_measure == claim.measure:
        return f"{what}, {claim.a} − {claim.b}"
    return f"{what} ({claim.a}) − {MEASURES[claim.b_measure][0]} ({claim.b})"


def u_curve_claims(arm: str, rise: Recorded, turn: Recorded) -> tuple[Claim, Claim]:
    """An overfitting U that could have failed to appear, checked on every seed: the
    validation loss bottoms out in the first half of training and ends at least 10% above
    its minimum. (The last value can never lie below the minimum, so "it ends above its
    best" alone is true by construction.)"""
    return (
        Claim(
            "the validation loss bottoms out in the first half of training, on every seed",
            arm,
            None,
            "best_epoch_share",
            -1,
            bar=0.5,
            every_seed=True,
            recorded=turn,
        ),
        Claim(
            "the final validation loss is at least 10% above its minimum, on every seed",
            arm,
            None,
            "val_rise",
            bar=0.10,
            every_seed=True,
            recorded=rise,
        ),
    )


@dataclass
class ArmResult:
    """One arm's runs, seed by seed: summaries, validation loss curves, seeds."""

    summaries: list[dict]
    val_curves: list[list[float]]
    seeds: list[int] = field(default_factory=list)


def arm_results(
    runs: Iterable[tuple[str, int, dict, list[float]]], arms: Sequence[str]
) -> dict[str, ArmResult]:
    """``ArmResult`` per arm from (arm, seed, summary, validation loss curve) of each run,
    in the order given: what ``claim_difference`` reads (the preset runner and the lesson
    pages build it alike)."""
    results = {arm: ArmResult([], []) for arm in arms}
    for arm, seed, summary, val_curve in runs:
        results[arm].summaries.append(summary)
        results[arm].val_curves.append(list(val_curve))
        results[arm].seeds.append(seed)
    return results


SUMMARY_MEASURES = ("test_metric", "final_test_metric", "test_loss", "final_test_loss")


def has_measure(result_summary: dict, name: str, task: str) -> bool:
    """Whether a stored run carries the measure: runs stored before the final test scores
    were recorded lack ``final_test_*``."""
    if name not in SUMMARY_MEASURES:
        return True
    return name in result_summary.get("main", {}).get(task, {})


def measure(result_summary: dict, result_val: list[float], name: str, task: str) -> float:
    """One run's value of the measure ``name``; ``result_val`` is its validation loss
    curve from epoch 0 (the untrained network) to the last epoch trained."""
    if name in SUMMARY_MEASURES:
        return result_summary["main"][task][name]
    if name == "val_rise":
        return result_val[-1] / min(result_val) - 1
    if name == "best_epoch_share":
        return best_epoch(result_val) / (len(result_val) - 1)
    if name == "epochs_run":
        return float(result_summary["epochs_run"])
    raise ValueError(name)


@dataclass(frozen=True)
class ClaimDifference(PairedDifference):
    """The paired difference of a claim, with the per-seed differences it came from."""

    per_seed: tuple[float, ...] = ()  # a − b, or a's measure − bar, seed by seed
    seeds: tuple[int, ...] = ()

    def shown_on(self, direction: int) -> int:
        """Seeds whose difference has the claimed sign, or is zero."""
        return sum(d * direction >= 0 for d in self.per_seed)


def claim_difference(claim: Claim, task: str, results: dict[str, ArmResult]) -> ClaimDifference:
    """``measure(a) − measure(b)`` (or ``− bar``) on ``task``, paired by seed."""

    def values(label: str, name: str) -> list[float]:
        arm = results[label]
        return [
            measure(s, v, name, task) for s, v in zip(arm.summaries, arm.val_curves, strict=True)
        ]

    a = values(claim.a, claim.measure)
    b = values(claim.b, claim.b_measure) if claim.b else [claim.bar] * len(a)
    diff = paired_difference(a, b)
    per_seed = tuple(x - y for x, y in zip(a, b, strict=True))
    return ClaimDifference(**asdict(diff), per_seed=per_seed, seeds=tuple(results[claim.a].seeds))


def claim_holds(claim: Claim, diff: ClaimDifference) -> bool:
    """The interval excludes zero on the claimed side (and, for an ``every_seed`` claim,
    no seed's difference has the other sign)."""
    interval = diff.low > 0 if claim.direction > 0 else diff.high < 0
    if claim.every_seed and diff.shown_on(claim.direction) < len(diff.per_seed):
        return False
    return interval


def recorded_from(claim: Claim, diff: ClaimDifference) -> Recorded:
    """What the page shows beside the claim, rounded as stored in PRESETS."""
    return Recorded(
        tuple(diff.seeds),
        round(float(diff.mean), 4),
        round(float(diff.low), 4),
        round(float(diff.high), 4),
        diff.shown_on(claim.direction),
    )


def seed_list(seeds: tuple[int, ...]) -> str:
    """``100-104`` for a run of consecutive seeds, else ``0, 3, 7``."""
    if len(seeds) > 2 and list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def evidence_sentence(claim: Claim, seen: Recorded) -> str:
    """The claim's measured interval in words, with its seeds: what the page shows beside
    the claim and docs/lessons.md prints."""
    _, unit, scale = MEASURES[claim.measure]
    what = compared(claim)
    if claim.b is None:  # one arm's value against the bar: say the value itself
        shift, sign = claim.bar, ""
        what += f" (claimed {'≥' if claim.direction > 0 else '≤'} {claim.bar * scale:g}{unit}"
        what += ", on every seed)" if claim.every_seed else ")"
    else:
        shift, sign = 0.0, "+"
    mean, low, high = (scale * (v + shift) for v in (seen.mean, seen.low, seen.high))
    sign += f".{DIGITS.get(claim.measure, 1)}"
    return (
        f"{what}: mean {mean:{sign}f}{unit}, 95% CI {low:{sign}f} to {high:{sign}f}{unit} "
        f"({'paired ' if claim.b else ''}t-interval over seeds {seed_list(seen.seeds)}; "
        f"{seen.shown_on} of {len(seen.seeds)} seeds show it)"
    )
