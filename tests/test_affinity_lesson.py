"""The lesson "Which tasks should share?" compares what it says, and its claim is evidence.

The arms must differ only in which auxiliary tasks train beside the digit (otherwise the
verdict would mix causes), and the all-in-one arm must be a run that measures inter-task
affinity (the setup quotes what it said). The slow test trains the all-in-one arm on
held-out seeds no setting was chosen on (100-104): its affinity must rank magnitude above
bbox for the digit's loss on every seed, as the setup says it did on the tuning seeds. The
claim itself (the digit trained with magnitude beats the digit trained with bbox, with the
interval the page shows) is checked on those seeds by tests/test_presets.py, with every
other preset's.
"""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_core.analysis.affinity import mean_affinity
from mtl_core.config import validate
from mtl_core.execution.parallel import run_configs
from mtl_core.studies.lessons import LESSONS, lesson_configs
from mtl_core.studies.presets import (
    PRESETS,
    arm_configs,
    claimed_arms,
)

SLUG = "which-tasks-share"
PRESET = PRESETS["Which tasks should share?"]
HELD_OUT = (100, 101, 102, 103, 104)
SEED = 7


def test_the_arms_differ_only_in_the_auxiliary_tasks_beside_the_digit():
    arms = arm_configs(PRESET, SEED)
    helps = arm_configs(PRESETS["Sharing helps"], SEED)
    everything = arms["all in one"]
    for label, config in arms.items():
        validate(config)
        assert config.tasks == ("digit",) and config.train_size == 100, label
    assert everything.aux == ("magnitude", "bbox") and everything.sharing == "hard"
    assert everything.affinity_every > 0  # the run whose affinity the setup quotes
    for partner in ("magnitude", "bbox"):
        pair = arms[f"digit + {partner}"]
        assert pair.aux == (partner,) and pair.task_sizes == {partner: 3000}
        # only the other partner is dropped: the same run otherwise
        assert pair.replace(aux=everything.aux, task_sizes=everything.task_sizes) == everything
    assert arms["single task"] == helps["single task"]  # reused from 'Sharing helps'


def test_the_lesson_claims_the_suggested_partner_beats_the_other():
    lesson = LESSONS[SLUG]
    assert (
        lesson.preset is PRESET and lesson.kind == "affinity"
    )  # the page adds what affinity picked
    (claim,) = PRESET.claims
    assert (claim.a, claim.b, claim.measure, claim.direction) == (
        "digit + magnitude",
        "digit + bbox",
        "test_metric",
        1,
    )
    assert claimed_arms(PRESET) == ["digit + magnitude", "digit + bbox"]
    assert claim.recorded is not None and claim.recorded.seeds == HELD_OUT
    assert claim.recorded.low > 0  # the page shows an interval that excludes zero
    # the setup names the partner affinity ranked first, and the other
    assert "magnitude" in lesson.setup and "bbox" in lesson.setup
    configs = lesson_configs(lesson, [11, 12, 13])
    assert [c.seed for c in configs["all in one"]] == [11, 12, 13]


def _digit_affinity(run, tasks: list[str]) -> pd.Series:
    frame = pd.DataFrame(run.rows, columns=["epoch", "task", "split", "metric", "value"])
    return mean_affinity(frame, tasks)["digit"]


@pytest.mark.slow
def test_affinity_ranks_magnitude_above_bbox_on_every_held_out_seed():
    configs = [arm_configs(PRESET, s)["all in one"] for s in HELD_OUT]
    runs = run_configs(configs, workers=2)
    for seed, config, run in zip(HELD_OUT, configs, runs, strict=True):
        assert run.status == "completed", run.message
        received = _digit_affinity(run, list(config.all_tasks))
        assert received["magnitude"] > received["bbox"], (seed, received.to_dict())
