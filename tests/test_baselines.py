"""The matched single-task baseline, checked against rules written here, not computed by
``single_task_baselines``: for every combination of sharing, weighting, aggregator,
label budgets, shuffles and one or two main tasks, the baseline keeps what makes the
comparison fair (data, backbone, optimiser, lr, epochs, seeds, the main task's label
budget) and drops everything that only means something with two or more tasks, so it
is a valid config whatever the run combined."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from mtl_core.config import AGGREGATORS, SHARING_MODES, RunConfig, from_dict, validate
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.studies.baselines import single_task_baselines

# The run's fields a baseline keeps, each set away from its default so that a field
# reset by mistake shows.
KEPT = {
    "dataset": "digits",
    "variant": "rotated",
    "train_size": 150,
    "backbone": "cnn",
    "width": 24,
    "depth": 3,
    "dropout": 0.25,
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.5,
    "weight_decay": 1e-4,
    "batch_size": 20,
    "epochs": 7,
    "early_stop": 3,
    "seed": 11,
    "data_seed": 5,
    "threads": 2,
    "device": "cuda:1",
    "pieces": 3,
}
# The multi-task settings of the run: none is at its default either.
MULTI = {
    "aux": ["loops", "bbox"],
    "aux_weight": 0.3,
    "aux_weights": {"bbox": 2.0},
    "soft_penalty": "trace",
    "soft_lambda": 50.0,
    "stitch_init": 0.7,
    "stitch_lr": 3.0,
    "dwa_temperature": 4.0,
    "gradnorm_alpha": 0.5,
    "cagrad_c": 0.2,
    "shared_layers": 1,
    "nash_max_norm": 2.0,
    "gradvac_beta": 0.1,
    "fairgrad_alpha": 0.5,
    "excess_step": 0.5,
    "famo_lr": 0.05,
    "famo_decay": 0.0,
}
# What every baseline has instead, written out (RunConfig's documented defaults).
DROPPED = {
    "aux": [],
    "aux_weight": 1.0,
    "aux_weights": {},
    "task_weights": {},
    "shuffle_aux": 0.0,
    "aux_shuffle": {},
    "sharing": "single",
    "soft_penalty": "l2",
    "soft_lambda": 1000.0,
    "stitch_init": 0.9,
    "stitch_lr": 10.0,
    "weighting": "fixed",
    "dwa_temperature": 2.0,
    "gradnorm_alpha": 1.5,
    "aggregator": "none",
    "cagrad_c": 0.5,
    "shared_layers": -1,
    "affinity_every": 10,
    "nash_max_norm": 1.0,
    "gradvac_beta": 0.5,
    "fairgrad_alpha": 1.0,
    "excess_step": 1.0,
    "famo_lr": 0.025,
    "famo_decay": 0.01,
}
SHUFFLES = {
    "none": {},
    "all": {"shuffle_aux": 0.5},
    "per task": {"shuffle_aux": 0.2, "aux_shuffle": {"loops": 1.0}},
}
BUDGETS = {
    "none": {},
    "main": {"digit": 40},
    "aux": {"loops": 30},
    "all": {"digit": 40, "parity": 90, "loops": 30, "bbox": 120},
}
MAINS = (("digit",), ("digit", "parity"))


def valid_cell(sharing: str, weighting: str, aggregator: str) -> bool:
    """The rules of docs/methods.md: GradNorm and the aggregators need a shared trunk (hard
    sharing); an aggregator replaces the loss weighting (fixed or equal only)."""
    if weighting == "gradnorm" and sharing != "hard":
        return False
    if aggregator != "none":
        return sharing == "hard" and weighting in ("fixed", "equal")
    return True


CELLS = [
    cell for cell in itertools.product(SHARING_MODES, WEIGHTINGS, AGGREGATORS) if valid_cell(*cell)
]


def test_every_field_is_either_kept_or_dropped():
    """A new RunConfig field makes this fail until it is sorted into KEPT or DROPPED."""
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert fields == set(KEPT) | set(DROPPED) | {"tasks", "task_sizes"}
    assert not set(KEPT) & set(DROPPED)


@pytest.mark.parametrize(("sharing", "weighting", "aggregator"), CELLS)
def test_baselines_keep_the_protocol_and_drop_every_multi_task_setting(
    sharing, weighting, aggregator
):
    for mains, (budget_name, budgets), (shuffle_name, shuffles) in itertools.product(
        MAINS, BUDGETS.items(), SHUFFLES.items()
    ):
        sizes = {t: n for t, n in budgets.items() if t in mains + ("loops", "bbox")}
        run = from_dict(
            {
                **KEPT,
                **MULTI,
                **shuffles,
                "tasks": list(mains),
                "sharing": sharing,
                "weighting": weighting,
                "aggregator": aggregator,
                "task_sizes": sizes,
            }
        )
        where = f"{mains}, budgets {budget_name}, shuffles {shuffle_name}"
        baselines = single_task_baselines(run)
        assert [b.tasks for b in baselines] == [(t,) for t in mains], where
        for main, base in zip(mains, baselines, strict=True):
            validate(base)  # raises for an invalid config
            assert from_dict(base.to_dict()) == base
            expected = {
                **KEPT,
                **DROPPED,
                "tasks": [main],
                "task_sizes": {main: sizes[main]} if main in sizes else {},
            }
            assert base.to_dict() == expected, where
            # the main task's label budget, whichever way it was given
            assert base.task_size(main) == sizes.get(main, KEPT["train_size"]), where


def test_runs_that_differ_only_in_multi_task_settings_share_one_baseline():
    """The baseline is the same config, so a stored baseline is found and reused."""
    one = from_dict({**KEPT, **MULTI, "sharing": "soft", "soft_lambda": 5.0})
    other = from_dict({**KEPT, "aux": ["parity"], "aggregator": "pcgrad", "cagrad_c": 0.1})
    assert single_task_baselines(one) == single_task_baselines(other)


def test_the_cli_default_pcgrad_run_has_this_baseline():
    """`compare --aux parity --aggregator pcgrad`: the whole expected config, literally."""
    base = single_task_baselines(RunConfig(aux=("parity",), aggregator="pcgrad"))
    assert [b.to_dict() for b in base] == [
        {
            "dataset": "mnist-5k",
            "variant": "plain",
            "train_size": 200,
            "task_sizes": {},
            "tasks": ["digit"],
            "aux": [],
            "aux_weight": 1.0,
            "aux_weights": {},
            "task_weights": {},
            "shuffle_aux": 0.0,
            "aux_shuffle": {},
            "sharing": "single",
            "shared_layers": -1,
            "affinity_every": 10,
            "soft_penalty": "l2",
            "soft_lambda": 1000.0,
            "weighting": "fixed",
            "dwa_temperature": 2.0,
            "gradnorm_alpha": 1.5,
            "aggregator": "none",
            "cagrad_c": 0.5,
            "nash_max_norm": 1.0,
            "gradvac_beta": 0.5,
            "fairgrad_alpha": 1.0,
            "excess_step": 1.0,
            "famo_lr": 0.025,
            "famo_decay": 0.01,
            "stitch_init": 0.9,
            "stitch_lr": 10.0,
            "backbone": "mlp",
            "pieces": 2,
            "width": 256,
            "depth": 2,
            "dropout": 0.0,
            "optimizer": "adam",
            "lr": 1e-3,
            "momentum": 0.9,
            "weight_decay": 0.0,
            "batch_size": 32,
            "epochs": 60,
            "early_stop": 0,
            "seed": 0,
            "data_seed": 0,
            "threads": 1,
            "device": "cpu",
        }
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {},  # one task
        {"tasks": ["digit", "parity"], "sharing": "single"},  # separate trunks, no aux
        {"task_sizes": {"digit": 50}, "weight_decay": 0.1},
    ],
)
def test_a_single_task_run_has_no_baseline(changes):
    assert single_task_baselines(from_dict({**KEPT, **changes})) == []


def test_separate_trunks_with_an_auxiliary_task_have_a_baseline():
    """sharing=single with aux still trains the aux task (as its own network): the
    baseline is the same run without it."""
    run = from_dict({**KEPT, "sharing": "single", "aux": ["parity"], "aux_weight": 2.0})
    assert [b.to_dict() for b in single_task_baselines(run)] == [
        {**KEPT, **DROPPED, "tasks": ["digit"], "task_sizes": {}}
    ]
