"""The tuned single-task baseline: chosen on validation only, over the same seeds."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from mtl_core.errors import ConfigError, MtlError
from mtl_core.studies.replicates import seed_configs
from mtl_core.studies.tuned_baseline import (
    DEFAULT_GRID,
    baseline_config,
    best_val_metric,
    grid_cells,
    select_cell,
    tune_baseline,
    validation_table,
)


def hand_table() -> pd.DataFrame:
    """Four cells; the test column favours the cell validation does not choose."""
    return pd.DataFrame(
        {
            "weight_decay": [0.0, 0.0, 1e-4, 1e-4],
            "dropout": [0.0, 0.5, 0.0, 0.5],
            "val_mean": [0.80, 0.84, float("nan"), 0.79],
            "val_sd": [0.01, 0.02, float("nan"), 0.01],
            "n": [3, 3, 3, 3],
            "test_mean": [0.95, 0.70, 0.99, 0.60],
        }
    )


def test_selection_reads_validation_only():
    """Highest val_mean for accuracy, lowest for an error; a cell with a failed run (NaN)
    is never chosen; a test column changes nothing; ties go to the earlier cell."""
    table = hand_table()
    assert select_cell(table, higher_is_better=True) == {"weight_decay": 0.0, "dropout": 0.5}
    assert select_cell(table.drop(columns="test_mean"), True) == {
        "weight_decay": 0.0,
        "dropout": 0.5,
    }
    assert select_cell(table, higher_is_better=False) == {"weight_decay": 1e-4, "dropout": 0.5}
    tied = table.assign(val_mean=[0.8, 0.8, 0.8, 0.8])
    assert select_cell(tied, True) == {"weight_decay": 0.0, "dropout": 0.0}
    with pytest.raises(MtlError, match="every cell of the grid has a failed run"):
        select_cell(table.assign(val_mean=float("nan")), True)


def test_grid_and_validation_table():
    cells = grid_cells(DEFAULT_GRID)
    assert len(cells) == 9 and cells[0] == {"weight_decay": 0.0, "dropout": 0.0}
    assert cells[1] == {"weight_decay": 0.0, "dropout": 0.25}
    table = validation_table(cells[:2], [[0.5, 0.7], [0.6, math.nan]])
    assert list(table["val_mean"][:1]) == [pytest.approx(0.6)]
    assert table["val_sd"][0] == pytest.approx(0.1414213562373095)
    assert math.isnan(table["val_mean"][1]) and list(table["n"]) == [2, 2]
    with pytest.raises(ConfigError, match="^grid: "):
        grid_cells({"dropout": ()})


def test_a_single_task_config_has_no_baseline_to_tune(make_config):
    with pytest.raises(ConfigError, match="^aux: this config is already single-task"):
        baseline_config(make_config(sharing="single"))
    base = baseline_config(make_config(aux=["parity"], weight_decay=0.1))
    assert (base.tasks, base.aux, base.sharing, base.weight_decay) == (
        ("digit",),
        (),
        "single",
        0.1,
    )


def test_tune_baseline_trains_the_grid_and_keeps_the_chosen_cells_runs(make_config):
    """Two cells × two seeds: the chosen cell is the table's best, its K runs are the
    baseline's runs (same seeds as the multi-task config's), and its mean is theirs."""
    config = make_config(train_size=50, width=16, epochs=3, aux=["parity"], seed=4)
    tuned = tune_baseline(config, 2, grid={"dropout": (0.0, 0.5)}, workers=2)
    assert list(tuned.table.columns) == ["dropout", "val_mean", "val_sd", "n"]
    assert tuned.cell == select_cell(tuned.table, higher_is_better=True)
    expected = [
        c.replace(dropout=tuned.cell["dropout"]) for c in seed_configs(baseline_config(config), 2)
    ]
    assert tuned.configs == expected and [c.seed for c in tuned.configs] == [4, 5]
    assert [r.status for r in tuned.results] == ["completed", "completed"]
    chosen = tuned.table[tuned.table["dropout"] == tuned.cell["dropout"]].iloc[0]
    values = [best_val_metric(r, "digit") for r in tuned.results]
    assert chosen["val_mean"] == pytest.approx(sum(values) / 2)
    assert values[0] == max(tuned.results[0].curve("digit", "val", "accuracy"))
    assert [c.seed for c, _ in tuned.arm()] == [4, 5]
    assert tuned.label() == f"the tuned single-task baseline (dropout {tuned.cell['dropout']:g})"


@pytest.mark.parametrize("aggregator", ["mgda", "pcgrad", "upgrad", "cagrad"])
def test_an_aggregator_runs_baseline_and_every_grid_cell_are_valid_single_task(
    make_config, aggregator
):
    """An aggregator needs two tasks on a shared trunk: the baseline drops it (and the
    multi-task settings with it) and keeps the run's regularisation as the grid's start."""
    config = make_config(
        aux=["parity"],
        aggregator=aggregator,
        weighting="equal",
        cagrad_c=0.2,
        weight_decay=0.1,
        dropout=0.2,
    )
    base = baseline_config(config)
    assert (
        base.tasks,
        base.aux,
        base.sharing,
        base.weighting,
        base.aggregator,
        base.cagrad_c,
        base.weight_decay,
        base.dropout,
    ) == (("digit",), (), "single", "fixed", "none", 0.5, 0.1, 0.2)
    for cell in grid_cells(DEFAULT_GRID):
        tuned = base.replace(**cell)  # validates
        assert (tuned.weight_decay, tuned.dropout) == (cell["weight_decay"], cell["dropout"])
