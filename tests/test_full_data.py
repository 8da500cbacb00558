"""The full Fashion-MNIST (Debian's dataset-fashion-mnist, which .ci/run installs) trains:
a short MultiFashion single-task run learns each side's class well above chance. These
tests fail, not skip, without the package: CI must run them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtl_core.config import RunConfig
from mtl_core.store.runs import RunStore
from mtl_core.training.trainer import train

pytestmark = pytest.mark.slow
DEBIAN = Path("/usr/share/datasets/fashion-mnist")
CHANCE = 0.1  # ten classes


@pytest.fixture(autouse=True)
def own_data_root(tmp_path, monkeypatch):
    assert (DEBIAN / "train-images-idx3-ubyte.gz").is_file(), (
        "Debian's dataset-fashion-mnist is missing: apt-get install -y dataset-fashion-mnist"
    )
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "data"))
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)


@pytest.mark.parametrize("task", ["left", "right"])
def test_a_short_multifashion_single_task_run_learns(task, tmp_path):
    config = RunConfig(
        dataset="fashion-mnist",
        variant="multi",
        tasks=(task,),
        train_size=2000,
        epochs=4,
        width=64,
        depth=1,
        threads=1,
    )
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(config, store=store)
    assert result.status == "completed"
    summary = result.summary["main"][task]
    assert summary["val_metric"] > CHANCE + 0.35, summary
    assert summary["test_metric"] > CHANCE + 0.35, summary
