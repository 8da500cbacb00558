"""The stored ``weight`` rows of an aggregator run are what docs/methods.md says they are: per
epoch, the mean over the epoch's steps of the weights the aggregator gave each task's
gradient, times the task's fixed weight (the trainer scales the losses, the Jacobian's
rows, by it first). The per-step weights are captured here, independently of the
trainer's bookkeeping, by wrapping the aggregation call, and compared with the store."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_core.methods import aggregation, catalog
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train

FIXED = {"digit": 1.0, "parity": 0.5, "loops": 2.0}  # the main task's weight is 1
TRAIN_SIZE, BATCH, EPOCHS = 60, 16, 3
STEPS = math.ceil(TRAIN_SIZE / BATCH)  # one epoch: one pass over the main task's pool


# GradDrop and ConFIG give no weights (declared so; tests/test_aggregation.py checks it).
WEIGHTED = [n for n, m in catalog.AGGREGATORS.items() if n != "none" and m.reports_weights]


@pytest.mark.parametrize("name", WEIGHTED)
def test_stored_weights_are_the_epoch_mean_of_the_step_weights_times_the_fixed_weight(
    make_config, monkeypatch, tmp_path, name
):
    steps: list[np.ndarray] = []
    real = aggregation.aggregated_backward

    def spy(losses, features, heads, shared, aggregator):
        weights = real(losses, features, heads, shared, aggregator)
        assert weights is not None, f"{name} gave no weights"
        steps.append(weights.detach().double().numpy().copy())
        return weights

    monkeypatch.setattr(aggregation, "aggregated_backward", spy)
    config = make_config(
        aux=["parity", "loops"],
        aux_weights={"parity": 0.5, "loops": 2.0},
        aggregator=name,
        train_size=TRAIN_SIZE,
        batch_size=BATCH,
        epochs=EPOCHS,
    )
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
        assert result.status == "completed", result.message
        metrics = store.metrics(result.run_id)
    assert len(steps) == STEPS * EPOCHS
    rows = metrics[(metrics.split == "train") & (metrics.metric == "weight")]
    stored = rows.pivot(index="epoch", columns="task", values="value")
    assert list(stored.index) == list(range(EPOCHS + 1))
    fixed = np.array([FIXED[t] for t in ("digit", "parity", "loops")])
    # before any step, the weights the run starts with: the fixed ones
    assert stored.loc[0, ["digit", "parity", "loops"]].tolist() == fixed.tolist()
    for epoch in range(1, EPOCHS + 1):
        per_step = np.stack(steps[(epoch - 1) * STEPS : epoch * STEPS])
        expected = per_step.mean(axis=0) * fixed
        got = stored.loc[epoch, ["digit", "parity", "loops"]].to_numpy(dtype=float)
        np.testing.assert_allclose(
            got, expected, rtol=1e-5, atol=1e-7, err_msg=f"{name}, epoch {epoch}"
        )
