"""Lessons: Holm's correction, the three verdicts, the seeds of a link, the declarations,
paired configs, and reading a lesson's runs back from a store.

The verdicts are checked on constructed results (numbers chosen by hand, no training), so
each outcome, and Holm turning a "held" into "unclear", is shown exactly; one test trains
tiny runs on the bundled digits to read them back through a real store.
"""

from __future__ import annotations

import dataclasses
import random
import re
from pathlib import Path

import pytest

from mtl_core.analysis.stats import holm
from mtl_core.config import RunConfig
from mtl_core.errors import MtlError
from mtl_core.store.runs import RunStore
from mtl_core.store.schema import Status
from mtl_core.studies.claims import ArmResult, Claim
from mtl_core.studies.lessons import (
    KINDS,
    LESSONS,
    MAX_SEEDS,
    MIN_SEEDS,
    Lesson,
    fresh_seeds,
    lesson_configs,
    lesson_results,
    parse_seeds,
    seeds_text,
    verdicts,
)
from mtl_core.studies.presets import Preset
from mtl_core.training.trainer import train
from tests.conftest import tiny_config

SEEDS = [11, 12, 13, 14, 15]

# -- Holm ------------------------------------------------------------------------------


def test_holm_matches_a_hand_worked_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> raised to 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1, never below a smaller p's
    assert holm([0.03]) == [0.03]  # one claim: unchanged
    assert holm([]) == []


def test_holm_keeps_the_order_and_carries_the_running_maximum():
    """Worked by hand: sorted 0.005, 0.01, 0.03, 0.04, 0.04, 0.2 times 6, 5, 4, 3, 2, 1
    give 0.03, 0.05, 0.12, 0.12, 0.08 (raised to the running maximum 0.12), 0.2."""
    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04]
    assert holm(p) == pytest.approx([0.05, 0.12, 0.12, 0.03, 0.2, 0.12])


# -- verdicts on constructed results ----------------------------------------------------


def _arm(values: list[float], curves: list[list[float]] | None = None) -> ArmResult:
    summaries = [{"main": {"digit": {"test_metric": v}}} for v in values]
    return ArmResult(summaries, curves or [[1.0, 0.5]] * len(values), list(SEEDS[: len(values)]))


def _lesson(*claims: Claim, arms: tuple[str, ...] = ("A", "B", "C")) -> Lesson:
    preset = Preset("test", "", RunConfig(), {a: {} for a in arms}, tuple(claims))
    return Lesson("test", "Test", "Q?", "Setup.", preset)


B = [0.70, 0.75, 0.72, 0.68, 0.74]
A_BETTER = [b + d for b, d in zip(B, [0.05, 0.06, 0.04, 0.05, 0.07], strict=True)]
A_WORSE = [b - d for b, d in zip(B, [0.05, 0.06, 0.04, 0.05, 0.07], strict=True)]
A_MIXED = [b + d for b, d in zip(B, [0.02, -0.01, 0.01, -0.02, 0.005], strict=True)]
# Differences whose two-sided p lies between 0.025 and 0.05: held alone, not after Holm x2.
A_MARGINAL = [b + d for b, d in zip(B, [0.03, 0.005, 0.02, 0.03, 0.005], strict=True)]
BEATS = Claim("A beats B", "A", "B", "test_metric")
BEATS_C = Claim("A beats C", "A", "C", "test_metric")


def test_a_clear_gain_in_the_claimed_direction_holds():
    (v,) = verdicts(_lesson(BEATS), {"A": _arm(A_BETTER), "B": _arm(B)})
    assert v.outcome == "held"
    assert v.diff is not None and v.diff.low > 0 and v.p_holm == v.diff.p_value
    assert v.sentence.startswith("A beats B. ")  # the claim first: the badge says "held"
    assert "95% CI" in v.sentence and "5 seeds" in v.sentence
    assert v.sentence.endswith("The whole interval lies above zero.")
    assert "Holm" not in v.sentence  # one claim: the raw p, and not called corrected


def test_an_interval_on_the_other_side_did_not_hold():
    (v,) = verdicts(_lesson(BEATS), {"A": _arm(A_WORSE), "B": _arm(B)})
    assert v.outcome == "did not hold"
    assert v.sentence.endswith("The whole interval lies below zero.")


def test_an_interval_across_zero_is_unclear():
    (v,) = verdicts(_lesson(BEATS), {"A": _arm(A_MIXED), "B": _arm(B)})
    assert v.diff.low < 0 < v.diff.high
    assert v.outcome == "unclear"
    assert v.sentence.endswith(
        "The interval includes zero: these seeds cannot tell; more seeds may."
    )


def test_a_claimed_loss_holds_when_the_arm_is_worse():
    loses = Claim("A loses to B", "A", "B", "test_metric", -1)
    (v,) = verdicts(_lesson(loses), {"A": _arm(A_WORSE), "B": _arm(B)})
    assert v.outcome == "held"
    (v,) = verdicts(_lesson(loses), {"A": _arm(A_BETTER), "B": _arm(B)})
    assert v.outcome == "did not hold"


def test_holm_turns_a_marginal_held_into_unclear_with_two_claims():
    results = {"A": _arm(A_MARGINAL), "B": _arm(B), "C": _arm(B)}
    (alone,) = verdicts(_lesson(BEATS), results)
    assert alone.diff.p_value == pytest.approx(0.033, abs=5e-4) and alone.outcome == "held"
    both = verdicts(_lesson(BEATS, BEATS_C), results)
    assert [v.outcome for v in both] == ["unclear", "unclear"]
    assert both[0].p_holm == pytest.approx(min(1.0, 2 * alone.diff.p_value))
    assert both[0].p_holm == pytest.approx(0.065, abs=1e-3)
    assert all("Holm-corrected over 2 claims" in v.sentence for v in both)
    assert "after Holm's correction" in both[0].sentence


def test_an_every_seed_claim_with_one_seed_the_other_way_did_not_hold():
    # best epoch share: epoch 1 of 10 on four seeds, epoch 8 on the fifth
    early = [1.0, 0.2] + [0.3] * 9
    late = [1.0] + [0.9] * 7 + [0.1, 0.2, 0.3]
    turn = Claim("bottoms out early", "A", None, "best_epoch_share", -1, 0.5, every_seed=True)
    (v,) = verdicts(_lesson(turn, arms=("A",)), {"A": _arm(B, [early] * 5)})
    assert v.outcome == "held" and "bar of 50%" in v.sentence
    (v,) = verdicts(_lesson(turn, arms=("A",)), {"A": _arm(B, [early] * 4 + [late])})
    assert v.outcome == "did not hold" and "1 of 5 seeds go the other way" in v.sentence


def test_a_claim_missing_a_run_is_unclear_and_says_why():
    results = {"A": _arm(A_BETTER[:4]), "B": _arm(B)}
    (v,) = verdicts(_lesson(BEATS), results)
    assert v.diff is None and v.p_holm is None and v.outcome == "unclear"
    assert "seed 15" in v.sentence
    (v,) = verdicts(_lesson(BEATS), {"B": _arm(B)})
    assert v.outcome == "unclear" and "no finished run of 'A'" in v.sentence


def test_the_sentence_leaves_the_outcome_to_its_badge_so_the_line_names_it_once():
    """The page and the handout show the outcome as a badge right before the sentence:
    the sentence starts with the claim as declared (so "✓ held" + "a beats b. ..." read as
    one line) and gives the reason, never the outcome word."""
    turn = Claim("bottoms out early", "A", None, "best_epoch_share", -1, 0.5, every_seed=True)
    early, late = [1.0, 0.2] + [0.3] * 9, [1.0] + [0.9] * 7 + [0.1, 0.2, 0.3]
    cases = [
        (_lesson(BEATS), {"A": _arm(A_BETTER), "B": _arm(B)}),
        (_lesson(BEATS), {"A": _arm(A_WORSE), "B": _arm(B)}),
        (_lesson(BEATS), {"A": _arm(A_MIXED), "B": _arm(B)}),
        (_lesson(BEATS, BEATS_C), {"A": _arm(A_MARGINAL), "B": _arm(B), "C": _arm(B)}),
        (_lesson(turn, arms=("A",)), {"A": _arm(B, [early] * 4 + [late])}),
        (_lesson(BEATS), {"B": _arm(B)}),  # a missing arm
    ]
    found = [v for lesson, results in cases for v in verdicts(lesson, results)]
    assert {v.outcome for v in found} == {"held", "did not hold", "unclear"}
    for v in found:
        assert v.sentence.startswith(v.claim.text + ". ")  # "✓ held" + "A beats B. …"
        words = v.sentence.lower()
        assert not any(word in words for word in ("held", "hold", "unclear")), v.sentence


# -- seeds -----------------------------------------------------------------------------


def test_fresh_seeds_are_distinct_in_range_and_round_trip_through_the_link():
    for k in range(MIN_SEEDS, MAX_SEEDS + 1):
        seeds = fresh_seeds(k, random.Random(k))
        assert len(set(seeds)) == k and all(1000 <= s <= 99999 for s in seeds)
        assert parse_seeds(seeds_text(seeds)) == seeds
    assert fresh_seeds(5, random.Random(1)) == fresh_seeds(5, random.Random(1))
    assert fresh_seeds(5) != fresh_seeds(5)  # a fresh draw each Run (1 in ~10^24 to fail)
    for k in (0, 2, 11, 5.0, True):
        with pytest.raises(MtlError, match="3 to 10"):
            fresh_seeds(k)


def test_parse_seeds_reads_the_link():
    assert parse_seeds("1234-5678-9012") == (1234, 5678, 9012)
    assert parse_seeds(" 1-2-3-4 ") == (1, 2, 3, 4)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no seeds given"),
        ("12-abc-14", "'abc' is not a whole number"),
        ("12--14-15", "'' is not a whole number"),
        ("12-1e3-14", "'1e3' is not a whole number"),
        ("12-13-12", "seed 12 appears twice"),
        ("12-13", "2 seeds given"),
        ("-".join(str(i) for i in range(11)), "11 seeds given"),
    ],
)
def test_bad_seed_text_is_a_one_line_error_naming_problem_and_fix(text, problem):
    with pytest.raises(MtlError) as err:
        parse_seeds(text)
    message = str(err.value)
    assert problem in message and "\n" not in message
    assert message.startswith("seeds: ")


# -- the declarations --------------------------------------------------------------------


def test_every_slug_is_url_safe_and_unique_and_every_try_next_opens_a_lesson():
    assert LESSONS, "no lesson declared"
    for slug, lesson in LESSONS.items():
        assert slug == lesson.slug and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
        for step in lesson.try_next:
            assert step.lesson in LESSONS and step.lesson != slug, (slug, step)
    assert len({lesson.title for lesson in LESSONS.values()}) == len(LESSONS)


def test_every_lesson_is_complete_and_its_claims_name_its_arms():
    for lesson in LESSONS.values():
        assert lesson.kind in KINDS and MIN_SEEDS <= lesson.default_seeds <= MAX_SEEDS
        assert lesson.question.endswith("?") and "\n" not in lesson.question
        assert lesson.preset.claims, f"{lesson.slug} claims nothing: it has no verdict"
        assert lesson.minutes > 0
        for claim in lesson.preset.claims:
            assert claim.a in lesson.preset.arms and (claim.b in lesson.preset.arms or not claim.b)


def test_a_lesson_whose_claims_judge_the_loss_asks_about_the_loss():
    # "Does training longer always make a network better?" beside claims about the loss
    # alone: on those draws the test accuracy often held or rose while the loss climbed,
    # and "it gets worse after a while" was marked beside a held verdict
    from mtl_core.dashboard.widgets.lesson_state import chart_show

    on_loss = [lesson for lesson in LESSONS.values() if chart_show(lesson) == "loss"]
    assert {lesson.slug for lesson in on_loss} >= {"overfitting", "early-stopping"}
    for lesson in on_loss:
        assert "loss" in lesson.question, lesson.question
        for word in ("better", "worse"):
            assert not any(word in guess for guess in lesson.guesses), lesson.guesses


def test_a_lesson_offers_guesses_that_answer_its_own_question_and_refuses_bad_ones():
    # "Hard or soft?" is not answered by "helps": the lessons that ask another kind of
    # question declare their own answers, and every list ends with "can't tell"
    for lesson in LESSONS.values():
        assert lesson.guesses[-1] == "can't tell" and len(set(lesson.guesses)) >= 3
    assert LESSONS["hard-vs-soft"].guesses[:2] == ("hard is better", "soft is better")
    assert LESSONS["sharing-helps"].guesses == ("helps", "hurts", "can't tell")
    base = LESSONS["sharing-helps"]
    for bad in [("helps", "hurts"), ("helps", "helps", "can't tell"), ("a", "b", "c")]:
        with pytest.raises(ValueError, match="guess"):
            dataclasses.replace(base, guesses=bad)


def test_the_regularisation_lesson_names_the_tuned_setting_it_trains():
    lesson = LESSONS["just-regularisation"]
    tuned = lesson.preset.arms["tuned single task"]
    assert f"dropout {tuned['dropout']:g}" in lesson.setup
    assert ("no weight decay" if tuned["weight_decay"] == 0 else "weight decay") in lesson.setup


def test_docs_list_every_lesson_and_no_other():
    page = (Path(__file__).resolve().parents[1] / "docs" / "lessons.md").read_text()
    listed = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]+) \|", page, re.M)
    assert [(slug, name.strip()) for slug, name in listed] == [
        (slug, lesson.preset.name) for slug, lesson in LESSONS.items()
    ]


def test_lesson_configs_are_paired_by_seed_across_arms():
    for lesson in LESSONS.values():
        configs = lesson_configs(lesson, SEEDS)
        assert list(configs) == list(lesson.preset.arms)
        for arm, runs in configs.items():
            assert [(c.seed, c.data_seed) for c in runs] == [(s, s) for s in SEEDS], arm
            for c in runs:  # each arm differs from the setup only by its declared changes
                expected = lesson.preset.config.replace(**lesson.preset.arms[arm])
                assert c.replace(seed=0, data_seed=0) == expected.replace(seed=0, data_seed=0)
    with pytest.raises(MtlError, match="appears twice"):
        lesson_configs(next(iter(LESSONS.values())), [1, 2, 1])


# -- reading a lesson's runs from a store ------------------------------------------------


def test_lesson_results_reads_finished_runs_by_arm_and_seed(tmp_path):
    preset = Preset(
        "tiny",
        "",
        tiny_config(epochs=2, width=16),
        {"wide": {"width": 32}, "narrow": {}},
        (Claim("wide beats narrow", "wide", "narrow", "test_metric"),),
    )
    lesson = Lesson("tiny", "Tiny", "Q?", "Setup.", preset)
    seeds = (7, 5, 6)
    run_ids: dict[str, list[int]] = {"wide": [], "narrow": []}
    expected: dict[tuple[str, int], float] = {}
    with RunStore(tmp_path / "runs.sqlite") as store:
        for arm, configs in lesson_configs(lesson, seeds).items():
            for config in configs:
                result = train(config, sink=store)
                run_ids[arm].append(result.run_id)
                expected[(arm, config.seed)] = result.summary["main"]["digit"]["test_metric"]
                curve = result.curve("digit", "val", "loss")
        # runs that did not complete are left out, even with a summary: their arm lacks
        # that seed
        for status in (Status.STOPPED, Status.FAILED, Status.RUNNING):
            late = store.create_run(preset.config.replace(seed=9, data_seed=9).to_dict())
            store.finish(late, status, "", result.summary, {})
            run_ids["narrow"].append(late)
        results = lesson_results(store, lesson, run_ids)
    assert list(results) == ["wide", "narrow"]
    for arm, result in results.items():
        assert result.seeds == [5, 6, 7]  # ordered by seed, paired across arms
        got = [s["main"]["digit"]["test_metric"] for s in result.summaries]
        assert got == [expected[(arm, s)] for s in [5, 6, 7]]
        assert all(len(c) == 3 for c in result.val_curves)  # epoch 0 (untrained) to 2
    assert results["narrow"].val_curves[1] == pytest.approx(curve)  # last trained: seed 6
    (v,) = verdicts(lesson, results)
    assert v.diff is not None and v.diff.n == 3 and v.outcome in ("held", "did not hold", "unclear")


def test_a_claim_with_a_measure_per_arm_names_both_in_its_sentence():
    """Early stopping: arm A read at its best epoch, arm B with the weights it ends with."""
    claim = Claim(
        "A has the lower test loss", "A", "B", "test_loss", -1, measure_b="final_test_loss"
    )

    def arm(best: list[float], final: list[float]) -> ArmResult:
        main = [{"test_loss": x, "final_test_loss": y} for x, y in zip(best, final, strict=True)]
        return ArmResult([{"main": {"digit": m}} for m in main], [[1.0, 0.5]] * 5, list(SEEDS))

    lower = [0.80, 0.82, 0.79, 0.85, 0.81]
    # B's best-epoch loss equals A's: only its final loss, 0.2 higher, makes the claim hold
    results = {"A": arm(lower, [9.0] * 5), "B": arm(lower, [x + 0.2 for x in lower])}
    (v,) = verdicts(_lesson(claim, arms=("A", "B")), results)
    assert v.outcome == "held" and v.diff.mean == pytest.approx(-0.2)
    assert "Test loss at the validation-selected epoch (A) − test loss" in v.sentence
    assert "test loss of the weights the run ends with (B)" in v.sentence
    assert "-0.20 on average" in v.sentence  # a loss is shown to two decimals
