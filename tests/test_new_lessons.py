"""The lessons on sharing depth and on the tuned baseline compare what they say they do.

"Where to branch" must differ from 'Sharing helps' only in how deep the trunk is shared,
and "Is it just regularisation?" must give its single-task baseline nothing but the
chosen regularisation: otherwise a verdict would mix two causes. Their claims themselves
are checked on held-out seeds by the slow preset test (tests/test_presets.py); here only
the declarations, without training.
"""

from __future__ import annotations

from mtl_core.config import validate
from mtl_core.models.counting import trunk_layers
from mtl_core.studies.lessons import LESSONS
from mtl_core.studies.presets import PRESETS, arm_configs

SEED = 7


def test_where_to_branch_shares_the_first_of_two_layers_and_reuses_the_sharing_helps_runs():
    arms = arm_configs(PRESETS["Where to branch"], SEED)
    helps = arm_configs(PRESETS["Sharing helps"], SEED)
    first = arms["first layer shared"]
    validate(first)
    assert trunk_layers(first.backbone, first.depth) == 2 and first.shared_layers == 1
    assert first.sharing == "hard"
    # the other arms are the very runs of 'Sharing helps', so a class reuses them
    assert arms["all shared"] == helps["hard sharing"]
    assert arms["single task"] == helps["single task"]
    # and branching is the only difference between the two sharing arms
    assert first.replace(shared_layers=-1) == arms["all shared"]


def test_the_tuned_baseline_differs_from_the_plain_one_only_in_its_regularisation():
    arms = arm_configs(PRESETS["Just regularisation?"], SEED)
    helps = arm_configs(PRESETS["Sharing helps"], SEED)
    tuned, plain = arms["tuned single task"], arms["single task"]
    validate(tuned)
    assert tuned.sharing == "single" and not tuned.aux
    assert (tuned.dropout, tuned.weight_decay) != (plain.dropout, plain.weight_decay)
    assert tuned.replace(dropout=plain.dropout, weight_decay=plain.weight_decay) == plain
    assert arms["hard sharing"] == helps["hard sharing"] and plain == helps["single task"]


def test_the_new_lessons_claim_a_direction_against_single_task_baselines():
    branch = LESSONS["where-to-branch"].preset.claims
    assert [(c.a, c.b, c.direction) for c in branch] == [
        ("first layer shared", "single task", 1),
        ("all shared", "single task", 1),
    ]
    (regular,) = LESSONS["just-regularisation"].preset.claims
    assert (regular.a, regular.b, regular.direction) == ("hard sharing", "tuned single task", 1)
    # the same comparison, the same runs: the recorded interval is Sharing helps' own
    assert branch[1].recorded == PRESETS["Sharing helps"].claims[0].recorded
