"""Every valid method cell trains: (sharing, weighting, aggregator, backbone, variant).

The property test of valid configs (test_properties.py) draws values inside cells and
trains one epoch, but its sample rarely reaches some cells (an aggregator, GradNorm). Here
every cell is listed from the registries in ``mtl_core``, invalid ones left out by the
rules docs/methods.md states (so none is skipped at run time), and a tiny run of three epochs
is trained: it completes, its curves are finite, and the store holds exactly the rows the
trainer returned, with the rows its sharing mode promises (trainer.py's docstring).

Each (sharing, weighting, aggregator) cell runs once in the quick set, on a backbone and
variant taken in turn so all of them appear; every method on every backbone, and every
sharing mode on every backbone and variant, is marked slow.
"""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_core.config import (
    AGGREGATORS,
    BACKBONES,
    MIN_TRAIN_SIZE,
    OPTIMIZERS,
    SHARING_MODES,
    SOFT_PENALTIES,
    RunConfig,
)
from mtl_core.data.tasks import TASKS, valid_tasks
from mtl_core.data.variants import VARIANTS
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train

EPOCHS, TRAIN_SIZE, BATCH = 3, 24, 8


def valid_method(sharing: str, weighting: str, aggregator: str) -> bool:
    """docs/methods.md: GradNorm and the aggregators work on a shared trunk (hard sharing); an
    aggregator replaces the loss weighting, so only fixed or equal go with it."""
    if weighting == "gradnorm" and sharing != "hard":
        return False
    return aggregator == "none" or (sharing == "hard" and weighting in ("fixed", "equal"))


METHODS = [m for m in itertools.product(SHARING_MODES, WEIGHTINGS, AGGREGATORS) if valid_method(*m)]
SETTINGS = list(itertools.product(BACKBONES, VARIANTS))
QUICK = [(*m, *SETTINGS[i % len(SETTINGS)]) for i, m in enumerate(METHODS)]
# The slow set: every method on every backbone (variants in turn), and every sharing mode on
# every backbone and variant (fixed weighting). Each pair of a method with a backbone, and
# of a sharing mode with a backbone and variant, is met; the whole product (over 700 cells,
# about ten minutes here) adds only further pairings of the same code paths.
PAIRS = [
    (*m, backbone, list(VARIANTS)[(i + j) % len(VARIANTS)])
    for i, m in enumerate(METHODS)
    for j, backbone in enumerate(BACKBONES)
] + [(sharing, "fixed", "none", *s) for sharing in SHARING_MODES for s in SETTINGS]
FULL = list(dict.fromkeys(QUICK + PAIRS))
REST = [cell for cell in FULL if cell not in QUICK]


def cell_config(sharing, weighting, aggregator, backbone, variant) -> RunConfig:
    """A tiny run of the cell: the variant's first main task, two auxiliary tasks (one
    with its own label budget and weight, one half shuffled)."""
    names = valid_tasks("digits", variant)
    main = next(t for t in names if TASKS[t].category == "main")
    aux = [t for t in names if TASKS[t].category != "main"][:2]
    return RunConfig.from_dict(
        {
            "dataset": "digits",
            "variant": variant,
            "train_size": TRAIN_SIZE,
            "batch_size": BATCH,
            "epochs": EPOCHS,
            "width": 8,
            "depth": 1,
            "backbone": backbone,
            "tasks": [main],
            "aux": aux,
            "task_sizes": {aux[0]: 12},
            "aux_weights": {aux[0]: 0.5},
            "aux_shuffle": {aux[1]: 0.5},
            "sharing": sharing,
            "weighting": weighting,
            "aggregator": aggregator,
            "soft_lambda": 10.0,
        }
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with RunStore(tmp_path_factory.mktemp("cells") / "runs.sqlite") as opened:
        yield opened


def check_cell(store: RunStore, cell: tuple[str, ...]) -> None:
    check_run(store, cell_config(*cell))


def check_run(store: RunStore, config: RunConfig) -> None:
    """Trains; completed, finite, stored as returned, with its sharing mode's rows."""
    result = train(config, store=store)
    assert result.status == "completed", result.message
    metrics = store.metrics(result.run_id)
    stored = sorted(
        metrics[["epoch", "task", "split", "metric", "value"]].itertuples(index=False, name=None)
    )
    assert stored == sorted(result.rows)
    assert sorted(set(metrics.epoch)) == list(range(EPOCHS + 1))
    assert all(math.isfinite(v) for *_, v in stored), [r for r in stored if not math.isfinite(r[4])]
    got = {(e, t, s, m) for e, t, s, m, _ in stored}
    for epoch in range(EPOCHS + 1):
        for task in config.all_tasks:
            metric = TASKS[task].metric
            for split in ("train", "val"):
                assert {(epoch, task, split, "loss"), (epoch, task, split, metric)} <= got
            assert (epoch, task, "train", "weight") in got
            steps = math.ceil(max(config.task_size(m) for m in config.tasks) / config.batch_size)
        assert result.value(epoch, "_run", "train", "steps") == steps * epoch
    sharing = config.sharing
    kinds = {(t, m.split(":")[0]) for _, t, _, m in got}
    assert (("_conflict", "cos") in kinds) == (sharing == "hard")
    assert (("_stitch", "alpha") in kinds) == (sharing == "cross-stitch")
    assert (("_model", "trunk_distance") in kinds) == (sharing != "hard")
    assert (("_model", "soft_penalty") in kinds) == (sharing == "soft")


@pytest.mark.parametrize(("sharing", "weighting", "aggregator", "backbone", "variant"), QUICK)
def test_each_method_trains_three_epochs_with_finite_stored_curves(
    store, sharing, weighting, aggregator, backbone, variant
):
    check_cell(store, (sharing, weighting, aggregator, backbone, variant))


@pytest.mark.slow
@pytest.mark.parametrize(("sharing", "weighting", "aggregator", "backbone", "variant"), REST)
def test_every_method_backbone_and_variant_trains_three_epochs(
    store, sharing, weighting, aggregator, backbone, variant
):
    check_cell(store, (sharing, weighting, aggregator, backbone, variant))


def test_the_cells_cover_every_registered_choice():
    """The quick set reaches every sharing mode, weighting, aggregator, backbone and
    variant; quick and slow together meet every method with every backbone, and every
    sharing mode with every backbone and variant, each cell once."""
    for index, names in enumerate((SHARING_MODES, WEIGHTINGS, AGGREGATORS, BACKBONES, VARIANTS)):
        assert {cell[index] for cell in QUICK} == set(names)
    assert sorted(QUICK + REST) == sorted(FULL) and len(set(FULL)) == len(FULL)
    cells = set(FULL)
    assert {(c[:3], c[3]) for c in cells} >= {(m, b) for m in METHODS for b in BACKBONES}
    assert {(c[0], c[3], c[4]) for c in cells} >= {
        (sharing, *s) for sharing in SHARING_MODES for s in SETTINGS
    }
    assert ("hard", "gradnorm", "none") in METHODS and ("hard", "equal", "cagrad") in METHODS


VALUES = settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def values_in(draw, sharing: str, weighting: str, aggregator: str) -> RunConfig:
    """A tiny run of the method cell with its other values drawn: backbone, variant,
    weights, shuffles, label budgets, the method's hyperparameters and the optimiser."""
    variant = draw(st.sampled_from(list(VARIANTS)))
    names = valid_tasks("digits", variant)
    main = draw(st.sampled_from([t for t in names if TASKS[t].category == "main"]))
    others = [t for t in names if t != main]
    aux = draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))
    optimizer = draw(st.sampled_from(OPTIMIZERS))
    top = 0.01 if optimizer == "adam" else 0.05
    unit = st.floats(0, 1)
    return RunConfig.from_dict(
        {
            "dataset": "digits",
            "variant": variant,
            "epochs": EPOCHS,
            "width": 8,
            "depth": 1,
            "train_size": draw(st.integers(MIN_TRAIN_SIZE, 40)),
            "batch_size": draw(st.integers(4, 32)),
            "backbone": draw(st.sampled_from(BACKBONES)),
            "tasks": [main],
            "aux": aux,
            "task_sizes": draw(st.dictionaries(st.sampled_from([main, *aux]), st.integers(1, 60))),
            "aux_weight": draw(st.floats(0, 3)),
            "aux_weights": draw(st.dictionaries(st.sampled_from(aux), st.floats(0, 3))),
            "shuffle_aux": draw(unit),
            "aux_shuffle": draw(st.dictionaries(st.sampled_from(aux), unit)),
            "sharing": sharing,
            "weighting": weighting,
            "aggregator": aggregator,
            "soft_penalty": draw(st.sampled_from(SOFT_PENALTIES)),
            "soft_lambda": draw(st.floats(0, 100)),
            "dwa_temperature": draw(st.floats(0.5, 10)),
            "gradnorm_alpha": draw(st.floats(0, 3)),
            "cagrad_c": draw(st.floats(0, 1)),
            "stitch_init": draw(unit),
            "stitch_lr": draw(st.floats(0, 100)),
            "optimizer": optimizer,
            "lr": draw(st.floats(1e-4, top)),
            "dropout": draw(st.floats(0, 0.5)),
            "seed": draw(st.integers(0, 2**31 - 1)),
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize(("sharing", "weighting", "aggregator"), METHODS)
@VALUES
@given(draw=st.data())
def test_values_drawn_inside_each_method_cell_train_three_epochs(
    store, sharing, weighting, aggregator, draw
):
    """Hypothesis draws the values inside the cell (3 examples a cell, the same on every
    run); each run trains like the cell's fixed one above."""
    check_run(store, draw.draw(values_in(sharing, weighting, aggregator)))
