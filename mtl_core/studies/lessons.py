"""Lessons: a question, the preset that answers it, fresh seeds, and an honest verdict.

A lesson is data: one ``Lesson`` declaration wraps a classroom preset (its arms and its
claims, ``presets.py``) with the words a class reads (title, question, setup) and its
defaults, so a teacher adds a lesson in one place (docs/lessons.md shows how). Each Run
of a lesson draws fresh seeds (``fresh_seeds``, kept in the link as ``1234-5678-...``):
a lesson is an experiment, not a replay, so a draw where the effect does not show is
possible and is reported as such. The verdict of each claim is its paired test on those
seeds, with Holm's correction when a lesson makes several claims (``verdicts``): "held",
"did not hold" (the data point the other way), or "unclear" (they cannot tell).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from mtl_core.analysis.stats import holm
from mtl_core.config import RunConfig
from mtl_core.errors import ConfigError
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.studies import lesson_texts
from mtl_core.studies.claims import (
    ArmResult,
    Claim,
    ClaimDifference,
    arm_results,
    has_measure,
)
from mtl_core.studies.presets import PRESETS, Preset, arm_configs, claim_difference
from mtl_core.studies.verdict_words import outcome, sentence

MIN_SEEDS, MAX_SEEDS = 3, 10  # the page offers K from 3 to 10
SEED_LOW, SEED_HIGH = 1000, 99999  # fresh seeds: four or five digits, easy to read aloud
KINDS = ("compare", "u-curve", "depth", "affinity")  # how the page draws a lesson
OUTCOMES = ("held", "did not hold", "unclear")
GUESSES = ("helps", "hurts", "can't tell")  # a lesson's default answers to its question


@dataclass(frozen=True)
class TryNext:
    label: str  # what changes from this lesson, beneath the button (named by the lesson's title)
    lesson: str  # slug of the lesson it opens


@dataclass(frozen=True)
class Lesson:
    slug: str  # URL id: ?lesson=sharing-helps (lowercase, hyphens)
    title: str
    question: str  # one line, shown on the landing card
    setup: str  # two sentences: the setup and the arms it compares
    preset: Preset  # config, arms, claims
    default_seeds: int = 5  # K; the page offers 3..10
    minutes: float = 1.0  # about how long a Run takes here at default K (docs/lessons.md)
    try_next: tuple[TryNext, ...] = ()
    kind: str = "compare"  # "compare" | "u-curve" | "depth" | "affinity"
    # The answers a viewer may guess before running, in the question's own words; the
    # last one is always the honest "can't tell". "Hard or soft?" is not answered by
    # "helps" or "hurts".
    guesses: tuple[str, ...] = GUESSES

    def __post_init__(self) -> None:
        if len(set(self.guesses)) != len(self.guesses) or len(self.guesses) < 3:
            raise ValueError(f"{self.slug}: at least three distinct guesses, 'can't tell' last")
        if self.guesses[-1] != GUESSES[-1]:
            raise ValueError(f"{self.slug}: the last guess must be {GUESSES[-1]!r}")


# Landing order. ``minutes``: Run to verdict at the default seeds on this machine, quiet,
# by bench/lesson_time.py (docs/lessons.md, "How long a Run takes").
LESSONS: dict[str, Lesson] = {
    lesson.slug: lesson
    for lesson in [
        Lesson(
            "overfitting",
            "Overfitting: the U",
            "Does training longer always lower the loss on new digits?",
            "A maxout network (536,000 weights) trains for 50 epochs on 300 digits, as in "
            "fig. 7.3 of Goodfellow, Bengio & Courville's Deep Learning. One arm: we watch "
            "whether its validation loss falls, bottoms out early and climbs again.",
            PRESETS["Maxout U-curve"],
            minutes=0.5,
            try_next=(TryNext("A bigger net on 100 digits", "overfitting-mlp"),),
            kind="u-curve",
            guesses=("it keeps falling", "it rises after a while", "can't tell"),
        ),
        Lesson(
            "overfitting-mlp",
            "Overfitting: learning by heart",
            "Does a big network that sees only 100 digits keep lowering its loss on new ones?",
            "A network with 270,000 weights trains for 150 epochs on 100 digits. One arm: "
            "we watch whether its validation loss turns and climbs while the training loss "
            "keeps falling.",
            PRESETS["Overfitting 101"],
            minutes=0.3,
            try_next=(
                TryNext("The maxout U", "overfitting"),
                TryNext("Stop at the bottom", "early-stopping"),
            ),
            kind="u-curve",
            guesses=("it keeps falling", "it turns and climbs", "can't tell"),
        ),
        Lesson(
            "early-stopping",
            "Early stopping",
            "Does a network stopped early have a lower loss on new digits than one trained to the end?",
            "A network with 270,000 weights trains on 100 digits for up to 150 epochs. We "
            "compare stopping once the validation loss has not improved for 10 epochs (best "
            "weights restored) with training to the end and keeping the last weights.",
            PRESETS["Early stopping"],
            minutes=0.5,
            try_next=(TryNext("Watch the U", "overfitting-mlp"),),
            guesses=("stopped early: lower", "trained to the end: lower", "can't tell"),
        ),
        Lesson(
            "sharing-helps",
            "Sharing helps",
            "Can extra labels on other tasks teach a network to read digits?",
            "Only 100 images carry digit labels, but 3,000 carry parity and magnitude labels. "
            "We compare a shared trunk (hard sharing) with the digit task alone and with a "
            "shuffled control whose extra labels are permuted.",
            PRESETS["Sharing helps"],
            minutes=1.0,
            try_next=(
                TryNext("Soft sharing instead", "hard-vs-soft"),
                TryNext("Other auxiliary tasks", "auxiliary-tasks"),
            ),
        ),
        Lesson(
            "sharing-hurts",
            "Sharing hurts",
            "Can a second task make the first one worse?",
            "Parity and magnitude are labelled on the same 200 images as the digits and "
            "weighted 3×, so they bring no new information. We compare hard sharing with "
            "the digit task alone.",
            PRESETS["Sharing hurts"],
            minutes=0.5,
            try_next=(TryNext("Plenty of auxiliary labels", "sharing-helps"),),
        ),
        Lesson(
            "auxiliary-tasks",
            "Which auxiliary task?",
            "Does any extra task help, or only some kinds?",
            "Beside 100 digit labels, one auxiliary task of each kind is labelled on 3,000 "
            "images: bounding box, hidden quadrant, loops, reconstruction. We compare each "
            "with the digit task alone and with its shuffled control.",
            PRESETS["Auxiliary tasks"],
            default_seeds=6,  # at 5, about a quarter of draws is unclear (docs/lessons.md)
            minutes=3.0,
            try_next=(TryNext("Parity and magnitude", "sharing-helps"),),
            # the claims judge loops (the other arms are drawn for discussion)
            guesses=("loops helps, through its labels", "loops does not help", "can't tell"),
        ),
        Lesson(
            "hard-vs-soft",
            "Hard or soft sharing?",
            "Is one shared trunk better than separate trunks pulled together?",
            "The 'sharing helps' data, but each task keeps its own trunk and an l2 penalty "
            "ties the trunks. We compare soft sharing with hard sharing and with the digit "
            "task alone.",
            PRESETS["Hard vs soft sharing"],
            minutes=1.0,
            try_next=(TryNext("When sharing hurts", "sharing-hurts"),),
            guesses=("hard is better", "soft is better", "can't tell"),
        ),
        Lesson(
            "where-to-branch",
            "Where to branch",
            "Must the tasks share the whole trunk, or is its first layer enough?",
            "The 'sharing helps' data: 100 digit labels, 3,000 parity and magnitude labels, a "
            "trunk of two layers. We compare sharing only the first layer (each task then has "
            "its own second layer), sharing both, and the digit task alone.",
            PRESETS["Where to branch"],
            minutes=1.0,
            try_next=(
                TryNext("Is it just regularisation?", "just-regularisation"),
                TryNext("Soft sharing instead", "hard-vs-soft"),
            ),
            # what the claims can answer: each depth against the digit task alone
            guesses=(
                "the first layer is enough to help",
                "only the whole trunk helps",
                "can't tell",
            ),
        ),
        Lesson(
            "just-regularisation",
            "Is it just regularisation?",
            "Do the extra tasks help only the way dropout or weight decay would?",
            "The 'sharing helps' data, and the digit task alone with the setting that did "
            "best of six weight-decay and dropout settings: dropout 0.25, no weight decay. We "
            "compare hard sharing with this tuned baseline and with the untuned one.",
            PRESETS["Just regularisation?"],
            minutes=0.5,
            try_next=(
                TryNext("Shuffle the extra labels", "sharing-helps"),
                TryNext("Where to branch", "where-to-branch"),
            ),
            guesses=("it is just regularisation", "the extra tasks do more", "can't tell"),
        ),
        Lesson(
            "which-tasks-share",
            *lesson_texts.WHICH_TASKS,  # title, question, setup
            PRESETS["Which tasks should share?"],
            minutes=1.0,
            kind="affinity",
            try_next=(TryNext("Other auxiliary tasks", "auxiliary-tasks"),),
            guesses=("yes, its pick helps more", "no, its pick does no better", "can't tell"),
        ),
    ]
}

# The sidebar's Preset list names each preset as its lesson card does, in the cards'
# order: one lesson, one name (the list said "Maxout U-curve" for "Overfitting: the U").
# The preset's own name stays its id (``?preset=`` links, tests, docs/lessons.md).
PRESET_TITLES = {lesson.preset.name: lesson.title for lesson in LESSONS.values()}
PRESET_TITLES |= {name: name for name in PRESETS if name not in PRESET_TITLES}  # no lesson
PRESET_LESSONS = {lesson.preset.name: slug for slug, lesson in LESSONS.items()}


def check_seed_count(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not MIN_SEEDS <= k <= MAX_SEEDS:
        raise ConfigError(
            "seeds", f"a lesson runs {MIN_SEEDS} to {MAX_SEEDS} seeds, got {k!r}: pick one of those"
        )
    return k


def fresh_seeds(k: int, rng: random.Random | None = None) -> tuple[int, ...]:
    """``k`` distinct seeds drawn from SEED_LOW..SEED_HIGH (a new draw for every Run)."""
    check_seed_count(k)
    rng = rng if rng is not None else random.Random()
    return tuple(rng.sample(range(SEED_LOW, SEED_HIGH + 1), k))


def seeds_text(seeds: Sequence[int]) -> str:
    """The seeds as the link keeps them: ``1234-5678-9012``."""
    return "-".join(str(s) for s in seeds)


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"1234-5678-9012"`` (as kept in the link) -> (1234, 5678, 9012).

    Bad text raises a one-line ConfigError naming the problem and the fix.
    """
    parts = [p.strip() for p in str(text).strip().split("-")]
    example = "seeds are whole numbers joined by '-', e.g. seeds=1234-5678-9012"
    if parts == [""]:
        raise ConfigError("seeds", f"no seeds given: {example}")
    for part in parts:
        if not re.fullmatch(r"[0-9]{1,9}", part):
            shown = part if len(part) <= 20 else part[:20] + "…"
            raise ConfigError("seeds", f"{shown!r} is not a whole number: {example}")
    seeds = tuple(int(p) for p in parts)
    doubled = sorted({s for s in seeds if seeds.count(s) > 1})
    if doubled:
        raise ConfigError(
            "seeds", f"seed {doubled[0]} appears twice: every seed must differ (drop the copy)"
        )
    if not MIN_SEEDS <= len(seeds) <= MAX_SEEDS:
        raise ConfigError(
            "seeds",
            f"{len(seeds)} seeds given: a lesson runs {MIN_SEEDS} to {MAX_SEEDS} "
            "(add or remove some, or press Run for a fresh draw)",
        )
    return seeds


def lesson_configs(lesson: Lesson, seeds: Sequence[int]) -> dict[str, list[RunConfig]]:
    """Arm -> one config per seed, in the seeds' order; paired: seed ``s`` sets the initial
    weights and the data split (``seed`` and ``data_seed``) alike in every arm."""
    if len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", "a seed appears twice: every seed must differ")
    per_seed = [arm_configs(lesson.preset, s) for s in seeds]
    return {arm: [configs[arm] for configs in per_seed] for arm in lesson.preset.arms}


def lesson_results(
    store: RunStore, lesson: Lesson, run_ids: dict[str, list[int]]
) -> dict[str, ArmResult]:
    """The lesson's finished runs read from ``store``, by arm, ordered by seed.

    Only completed runs count (an early-stopped run is completed); a run that failed,
    was stopped or is still training is left out, so its arm lacks that seed and the
    claims that need it say so (``verdicts``).
    """
    task = lesson.preset.config.tasks[0]
    runs = []
    for arm, ids in run_ids.items():
        for run_id in ids:
            run = store.get_run(run_id)
            if run["status"] != Status.COMPLETED or not run["summary"]:
                continue
            m = store.metrics(run_id)
            rows = m[m["task"].eq(task) & m["split"].eq("val") & m["metric"].eq("loss")]
            curve = rows.sort_values("epoch")["value"].astype(float).tolist()
            runs.append((arm, int(run["config"]["seed"]), run["summary"], curve))
    runs.sort(key=lambda r: r[1])
    return arm_results(runs, list(run_ids))


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    diff: ClaimDifference | None  # None when a run is missing or failed
    p_holm: float | None  # Holm-corrected over the lesson's claims (raw p with one claim)
    outcome: str  # "held" | "did not hold" | "unclear"
    sentence: str  # the paired sentence and the outcome in words


def _paired(claim: Claim, results: dict[str, ArmResult], task: str) -> str | None:
    """Why the claim cannot be judged on ``results`` (None: it can)."""
    arms = [claim.a] + ([claim.b] if claim.b else [])
    for arm in arms:
        if arm not in results or not results[arm].seeds:
            return f"no finished run of '{arm}'"
    if claim.b and results[claim.a].seeds != results[claim.b].seeds:
        missing = set(results[claim.a].seeds) ^ set(results[claim.b].seeds)
        return f"seed {min(missing)} lacks a finished run in one arm, so the seeds are not paired"
    if len(results[claim.a].seeds) < 2:
        return "fewer than 2 finished seeds"
    for arm, name in [(claim.a, claim.measure)] + ([(claim.b, claim.b_measure)] if claim.b else []):
        for seed, summary in zip(results[arm].seeds, results[arm].summaries, strict=True):
            if not has_measure(summary, name, task):
                return (
                    f"the run of '{arm}' at seed {seed} was stored before its {name} was "
                    "recorded: delete it and run again"
                )
    return None


def verdicts(lesson: Lesson, results: dict[str, ArmResult]) -> list[Verdict]:
    """One verdict per claim of the lesson, in the preset's order, with Holm's correction
    over the claims that could be judged (a claim missing runs is "unclear")."""
    judged: dict[int, ClaimDifference] = {}
    missing: dict[int, str] = {}
    for i, claim in enumerate(lesson.preset.claims):
        why = _paired(claim, results, lesson.preset.config.tasks[0])
        if why:
            missing[i] = why
        else:
            judged[i] = claim_difference(lesson.preset, claim, results)
    adjusted = dict(zip(judged, holm([d.p_value for d in judged.values()]), strict=True))
    out = []
    for i, claim in enumerate(lesson.preset.claims):
        if i in missing:
            text = f"{claim.text}. It cannot be judged: {missing[i]}."
            out.append(Verdict(claim, None, None, "unclear", text))
            continue
        diff, p = judged[i], adjusted[i]
        result = outcome(claim, diff, p)
        out.append(Verdict(claim, diff, p, result, sentence(claim, diff, p, len(judged), result)))
    return out
