"""Classroom presets: a setup, the comparison that teaches it, and the claims it may make.

A preset claims an effect only if it shows it: ``run_preset`` trains every arm over
fixed seeds (paired: the same seed and data seed in every arm) and each claim is tested
with a paired 95% t-interval that must exclude zero (or the claim's bar) in the claimed
direction; a claim marked ``every_seed`` must also hold on each seed. A claim must be able
to fail: "the last validation loss is at or above its minimum" cannot, so the U-curve
claims ask for a rise of at least 10% and a best epoch in the first half of training.
The test suite runs it for every preset; the effect sizes in docs/lessons.md and the
intervals the page shows beside each claim (``Recorded``) come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mtl_core.config import RunConfig
from mtl_core.errors import MtlError
from mtl_core.execution.parallel import Progress, run_configs
from mtl_core.store.schema import Status
from mtl_core.studies import claims
from mtl_core.studies.claims import ArmResult, Claim, ClaimDifference, Recorded, u_curve_claims
from mtl_core.studies.claims import claim_holds as claim_holds  # re-exported for bench/


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
# The single-task baseline's regularisation, chosen on seeds 0-4 by mean validation accuracy
# among weight decay 0, 1e-4, 1e-3 × dropout 0, 0.25, 0.5 (six of the nine cells trained;
# docs/lessons.md, "Just regularisation?", gives every cell's numbers).
_TUNED = {"weight_decay": 0.0, "dropout": 0.25}
# Goodfellow, Bengio & Courville, Deep Learning (2016), fig. 7.3: a maxout network on
# MNIST, whose validation loss falls, turns and climbs again (an asymmetric U). With 300
# digits and 2 pieces per unit it turns within about 10 epochs; 50 epochs let the rise pass
# 10% on every seed with a margin (docs/lessons.md: the choice and the time per run).
_MAXOUT = RunConfig(train_size=300, epochs=50, sharing="single", backbone="maxout", pieces=2)
# "Which tasks should share?": the digit beside two auxiliary tasks in one network, whose
# affinity says which partner to keep. Chosen on seeds 0-4 among three pairs (parity and
# bbox, magnitude and bbox, parity and recon): docs/lessons.md, "Which tasks should share?",
# and bench/affinity_lesson.py.
_TRIO = _SMALL.replace(aux=["magnitude", "bbox"], task_sizes={"magnitude": 3000, "bbox": 3000})


def _seen(mean: float, low: float, high: float, shown_on: int = 5) -> Recorded:
    """A claim's interval on the held-out seeds 100-104, as tests/test_presets.py measures
    it (and fails, printing the new numbers, when it changes)."""
    return Recorded((100, 101, 102, 103, 104), mean, low, high, shown_on)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            "Overfitting 101",
            "A network with 270,000 weights learns 100 digits by heart: the training loss "
            "falls towards zero while the validation loss turns and climbs (a U). The epoch at "
            "the bottom of the U is where its loss on new digits is lowest (its accuracy need not "
            "turn with it: switch Show to metric).",
            _SMALL.replace(epochs=150, sharing="single"),
            # one arm, named by its network as the maxout U's is: "single task" in a lesson
            # with nothing to compare it with read like half of a comparison
            {"MLP": {}},
            u_curve_claims(
                "MLP",
                rise=_seen(0.1807, 0.0748, 0.2866),
                turn=_seen(-0.3613, -0.4148, -0.3079),
            ),
        ),
        Preset(
            "Early stopping",
            "The same tiny training set, but training stops once the validation loss has not "
            "improved for 10 epochs, and the best weights are restored. You get the bottom "
            "of the U without paying for the climb: the model trained to the end, kept with "
            "its last weights, has a higher test loss (its accuracy is about the same).",
            _SMALL.replace(epochs=150, sharing="single", early_stop=10),
            {"early stopping": {}, "no early stopping": {"early_stop": 0}},
            (
                # Each arm as it would be deployed: the early-stopped model with its best
                # weights, the other with the weights of its last epoch. ("It trains fewer
                # epochs" is true by construction, so it is not claimed.)
                Claim(
                    "the early-stopped model has a lower test loss than the model trained "
                    "to the end",
                    "early stopping",
                    "no early stopping",
                    "test_loss",
                    -1,
                    measure_b="final_test_loss",
                    recorded=_seen(-0.2292, -0.3247, -0.1336),
                ),
            ),
        ),
        Preset(
            "Maxout U-curve",
            "The curve of fig. 7.3 in Goodfellow, Bengio & Courville's Deep Learning (2016): "
            "a maxout network on MNIST, here with 300 training digits. The training loss "
            "keeps falling, while the validation loss drops fast, bottoms out early and "
            "then climbs slowly: an asymmetric U. Drag a box over the bottom of the curve to "
            "zoom in on the climb.",
            _MAXOUT,
            {"maxout": {}},
            u_curve_claims(
                "maxout",
                rise=_seen(0.0672, 0.0412, 0.0933),
                turn=_seen(-0.328, -0.3502, -0.3058),
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
                    "hard sharing beats single-task",
                    "hard sharing",
                    "single task",
                    "test_metric",
                    recorded=_seen(0.051, 0.0306, 0.0714),
                ),
                Claim(
                    "hard sharing beats its shuffled control",
                    "hard sharing",
                    "shuffled control",
                    "test_metric",
                    recorded=_seen(0.062, 0.0477, 0.0763),
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
                    recorded=_seen(-0.0236, -0.0446, -0.0026),
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
                Claim(
                    "the loops task beats single-task",
                    "+loops",
                    "single task",
                    "test_metric",
                    recorded=_seen(0.0298, 0.017, 0.0426),
                ),
                Claim(
                    "the loops task beats its shuffled control",
                    "+loops",
                    "+loops shuffled",
                    "test_metric",
                    recorded=_seen(0.038, 0.0152, 0.0608),
                ),
            ),
        ),
        Preset(
            "Hard vs soft sharing",
            "The 'sharing helps' setup with soft sharing: every task keeps its own trunk, and "
            "an l2 penalty (λ = 10,000) pulls the trunks together. It beats single-task "
            "learning, but here the looser tie gains less than hard sharing.",
            _HELPS.replace(sharing="soft", soft_lambda=10000.0),
            {  # the arms that do not use λ keep the default, so they are the same runs
                # as in 'Sharing helps' and a lesson reuses them (execution/identity.py)
                "soft sharing": {},
                "hard sharing": {"sharing": "hard", "soft_lambda": _HELPS.soft_lambda},
                "single task": {**_NO_AUX, "soft_lambda": _HELPS.soft_lambda},
            },
            (
                Claim(
                    "soft sharing beats single-task",
                    "soft sharing",
                    "single task",
                    "test_metric",
                    recorded=_seen(0.0262, 0.0108, 0.0416),
                ),
                Claim(
                    "hard sharing beats soft sharing",
                    "hard sharing",
                    "soft sharing",
                    "test_metric",
                    recorded=_seen(0.0248, 0.0087, 0.0409),
                ),
            ),
        ),
        Preset(
            "Where to branch",
            "The 'sharing helps' data, with the trunk's two layers shared to different "
            "depths: both layers, or only the first (each task then has a second layer of its "
            "own). Sharing only the first layer already beats the digit task alone; compare it "
            "with sharing both to see what sharing deeper adds here.",
            _HELPS.replace(shared_layers=1),
            {  # "all shared" and "single task" are the runs of 'Sharing helps'
                "first layer shared": {},
                "all shared": {"shared_layers": -1},
                "single task": {**_NO_AUX, "shared_layers": -1},
            },
            (
                Claim(
                    "sharing only the first layer beats single-task",
                    "first layer shared",
                    "single task",
                    "test_metric",
                    recorded=_seen(0.0486, 0.0323, 0.0649),
                ),
                Claim(
                    "sharing both layers beats single-task",
                    "all shared",
                    "single task",
                    "test_metric",
                    recorded=_seen(0.051, 0.0306, 0.0714),
                ),
            ),
        ),
        Preset(
            "Just regularisation?",
            "The 'sharing helps' data, and a single-task network given its best chance: dropout "
            "0.25, the best of six weight-decay and dropout settings on validation accuracy. "
            "If the extra tasks only regularised the trunk, this baseline would catch up with "
            "hard sharing.",
            _HELPS,
            {  # "hard sharing" and "single task" are the runs of 'Sharing helps'
                "hard sharing": {},
                "tuned single task": {**_NO_AUX, **_TUNED},
                "single task": _NO_AUX,
            },
            (
                Claim(
                    "hard sharing beats the tuned single-task baseline",
                    "hard sharing",
                    "tuned single task",
                    "test_metric",
                    recorded=_seen(0.0588, 0.0465, 0.0711),
                ),
            ),
        ),
        Preset(
            "Which tasks should share?",
            "One network learns the digit (100 labels) with magnitude and bbox (3,000 labels "
            "each), and its inter-task affinity ranks magnitude's steps above bbox's for the "
            "digit's loss. Training the digit with magnitude, the partner affinity suggests, "
            "beats training it with bbox; all three in one network are shown beside them.",
            _TRIO,
            {  # "single task" is the run of 'Sharing helps'
                "all in one": {},
                "digit + magnitude": {"aux": ["magnitude"], "task_sizes": {"magnitude": 3000}},
                "digit + bbox": {"aux": ["bbox"], "task_sizes": {"bbox": 3000}},
                "single task": _NO_AUX,
            },
            (
                Claim(
                    "the digit trained with magnitude, the partner affinity picks, beats "
                    "the digit trained with bbox",
                    "digit + magnitude",
                    "digit + bbox",
                    "test_metric",
                    recorded=_seen(0.0394, 0.0242, 0.0546),
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


def control_of(preset: Preset) -> dict[str, str]:
    """Shuffled control -> the arm it controls: the arm whose changes are the control's
    without ``shuffle_aux`` (read from the arms, so a new control needs no second name)."""
    out = {}
    for label, changes in preset.arms.items():
        if not changes.get("shuffle_aux"):
            continue
        plain = {k: v for k, v in changes.items() if k != "shuffle_aux"}
        base = next((arm for arm, other in preset.arms.items() if other == plain), None)
        if base is not None:
            out[label] = base
    return out


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
    for (label, config), run in zip(jobs, runs, strict=True):
        if run.status == Status.FAILED:
            raise MtlError(f"{preset.name}, {label}, seed {config.seed}: {run.message}")
    return claims.arm_results(
        (
            (label, config.seed, run.summary, run.curve(config.tasks[0], "val", "loss"))
            for (label, config), run in zip(jobs, runs, strict=True)
        ),
        wanted,
    )


def claim_difference(
    preset: Preset, claim: Claim, results: dict[str, ArmResult]
) -> ClaimDifference:
    """The claim's paired difference over seeds, on the preset's main task."""
    return claims.claim_difference(claim, preset.config.tasks[0], results)
