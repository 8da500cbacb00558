"""Classroom presets: a setup, the comparison that teaches it, and the claims it may make.

A preset claims an effect only if it shows it: ``check_preset`` trains every arm over
fixed seeds (paired: the same seed and data seed in every arm) and tests each claim with
a paired 95% t-interval that must exclude zero in the claimed direction. The test suite
runs it for every preset, and the effect sizes in docs/lessons.md are printed by the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mtl_core.analysis.stats import PairedDifference, paired_difference
from mtl_core.config import RunConfig
from mtl_core.errors import MtlError
from mtl_core.execution.parallel import Progress, run_configs


@dataclass(frozen=True)
class Claim:
    """``measure(arm a) − measure(arm b)`` has the sign ``direction`` (+1 or −1)."""

    text: str
    a: str
    b: str | None  # None: compare arm a's measure with zero
    measure: str  # test_metric | overfit_rise | epochs_run
    direction: int = 1


@dataclass(frozen=True)
class Preset:
    name: str
    explanation: str  # two sentences, shown beside the controls
    config: RunConfig  # what the controls are set to
    arms: dict[str, dict] = field(default_factory=dict)  # label -> changes to config
    claims: tuple[Claim, ...] = ()


_SMALL = RunConfig(train_size=100, epochs=60)
_HELPS = _SMALL.replace(aux=["parity", "magnitude"], task_sizes={"parity": 3000, "magnitude": 3000})
_NO_AUX = {"aux": [], "task_sizes": {}, "sharing": "single"}

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "Overfitting 101",
            "A network with 270,000 weights learns 100 digits by heart: the training loss "
            "falls towards zero while the validation loss turns and climbs (a U). The epoch at "
            "the bottom of the U is where the model generalised best.",
            _SMALL.replace(epochs=150, sharing="single"),
            {"single task": {}},
            (
                Claim(
                    "validation loss at the last epoch is above its best",
                    "single task",
                    None,
                    "overfit_rise",
                ),
            ),
        ),
        Preset(
            "Early stopping",
            "The same tiny training set, but training stops once the validation loss has not "
            "improved for 10 epochs, and the best weights are restored. You get the bottom "
            "of the U without paying for the climb.",
            _SMALL.replace(epochs=150, sharing="single", early_stop=10),
            {"early stopping": {}, "no early stopping": {"early_stop": 0}},
            (
                Claim(
                    "early stopping trains fewer epochs",
                    "no early stopping",
                    "early stopping",
                    "epochs_run",
                ),
            ),
        ),
        Preset(
            "Sharing helps",
            "Only 100 images carry digit labels, but 3,000 carry parity and magnitude labels; "
            "a shared trunk learns from all of them. The shuffled control keeps the extra heads "
            "but permutes their labels: the gain disappears, so it comes from the tasks.",
            _HELPS,
            {"hard sharing": {}, "single task": _NO_AUX, "shuffled control": {"shuffle_aux": 1.0}},
            (
                Claim(
                    "hard sharing beats single-task", "hard sharing", "single task", "test_metric"
                ),
                Claim(
                    "hard sharing beats its shuffled control",
                    "hard sharing",
                    "shuffled control",
                    "test_metric",
                ),
            ),
        ),
        Preset(
            "Sharing hurts",
            "Here parity and magnitude are labelled on the same 200 images as the digits, and "
            "weighted 3×: they are functions of the digit label and bring no new information. "
            "The shared trunk now serves mostly them, and the digit task gets worse.",
            RunConfig(train_size=200, epochs=60, aux=["parity", "magnitude"], aux_weight=3.0),
            {"hard sharing": {}, "single task": _NO_AUX},
            (
                Claim(
                    "hard sharing loses to single-task",
                    "hard sharing",
                    "single task",
                    "test_metric",
                    -1,
                ),
            ),
        ),
        Preset(
            "Auxiliary tasks",
            "One auxiliary task from each category, labelled on all 3,000 training images, "
            "beside 100 digit labels: statistical (bounding box), selective unsupervised (a "
            "hidden quadrant), supervised (loops) and unsupervised (reconstruction). Compare "
            "each with its shuffled control to see which kind of extra signal helps here.",
            _SMALL.replace(aux=["loops"], task_sizes={"loops": 3000}),
            {
                "single task": _NO_AUX,
                **{
                    f"+{t}": {"aux": [t], "task_sizes": {t: 3000}}
                    for t in ("bbox", "quadrant", "loops", "recon")
                },
                **{
                    f"+{t} shuffled": {"aux": [t], "task_sizes": {t: 3000}, "shuffle_aux": 1.0}
                    for t in ("bbox", "quadrant", "loops", "recon")
                },
            },
            (
                Claim("the loops task beats single-task", "+loops", "single task", "test_metric"),
                Claim(
                    "the loops task beats its shuffled control",
                    "+loops",
                    "+loops shuffled",
                    "test_metric",
                ),
            ),
        ),
        Preset(
            "Hard vs soft sharing",
            "The 'sharing helps' setup with soft sharing: every task keeps its own trunk, and "
            "an l2 penalty (λ = 10,000) pulls the trunks together. It beats single-task "
            "learning, but here the looser tie gains less than hard sharing.",
            _HELPS.replace(sharing="soft", soft_lambda=10000.0),
            {"soft sharing": {}, "hard sharing": {"sharing": "hard"}, "single task": _NO_AUX},
            (
                Claim(
                    "soft sharing beats single-task", "soft sharing", "single task", "test_metric"
                ),
                Claim(
                    "hard sharing beats soft sharing", "hard sharing", "soft sharing", "test_metric"
                ),
            ),
        ),
    ]
}


def arm_configs(preset: Preset, seed: int) -> dict[str, RunConfig]:
    """Every arm of the preset at one seed (initial weights and data split alike)."""
    return {
        label: preset.config.replace(**changes, seed=seed, data_seed=seed)
        for label, changes in preset.arms.items()
    }


def measure(result_summary: dict, result_val: list[float], name: str, task: str) -> float:
    if name == "test_metric":
        return result_summary["main"][task]["test_metric"]
    if name == "overfit_rise":
        return result_val[-1] - min(result_val)
    if name == "epochs_run":
        return float(result_summary["epochs_run"])
    raise ValueError(name)


@dataclass
class ArmResult:
    summaries: list[dict]
    val_curves: list[list[float]]


def claimed_arms(preset: Preset) -> list[str]:
    """The arms the preset's claims compare (the others are shown, not claimed)."""
    named = {c.a for c in preset.claims} | {c.b for c in preset.claims if c.b}
    return [label for label in preset.arms if label in named]


def run_preset(
    preset: Preset,
    seeds: Sequence[int],
    workers: int = 2,
    arms: Sequence[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, ArmResult]:
    """Train the arms (default: all) at every seed in worker processes; results by arm.

    ``progress`` gets the arm label of each run as it ends. A failed run raises MtlError:
    a claim cannot be checked on missing seeds.
    """
    wanted = list(arms) if arms is not None else list(preset.arms)
    jobs = [
        (label, cfg)
        for s in seeds
        for label, cfg in arm_configs(preset, s).items()
        if label in wanted
    ]

    def report(state: Progress) -> None:
        if progress is not None and state.ended is not None:
            progress(jobs[state.ended][0])

    runs = run_configs([c for _, c in jobs], workers=workers, progress=report)
    results: dict[str, ArmResult] = {label: ArmResult([], []) for label in wanted}
    for (label, config), run in zip(jobs, runs, strict=True):
        if run.status == "failed":
            raise MtlError(f"{preset.name}, {label}, seed {config.seed}: {run.message}")
        results[label].summaries.append(run.summary)
        results[label].val_curves.append(run.curve(config.tasks[0], "val", "loss"))
    return results


def claim_difference(
    preset: Preset, claim: Claim, results: dict[str, ArmResult]
) -> PairedDifference:
    task = preset.config.tasks[0]

    def values(label: str) -> list[float]:
        arm = results[label]
        return [
            measure(s, v, claim.measure, task)
            for s, v in zip(arm.summaries, arm.val_curves, strict=True)
        ]

    a = values(claim.a)
    b = values(claim.b) if claim.b else [0.0] * len(a)
    return paired_difference(a, b)


def claim_holds(claim: Claim, diff: PairedDifference) -> bool:
    return diff.low > 0 if claim.direction > 0 else diff.high < 0
