"""The sidebar's parameter count: arithmetic (no torch) equal to the model's count."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from mtl_core.config import from_dict
from mtl_core.data.splits import load_bundle
from mtl_core.models.counting import image_shape, param_count
from mtl_core.training.control import RunControl
from mtl_core.training.loop import _Loop

CASES = [
    {},
    {"sharing": "single"},
    {"sharing": "soft"},
    {"sharing": "cross-stitch"},
    {"shared_layers": 0},
    {"shared_layers": 1},
    {"backbone": "maxout", "pieces": 3, "shared_layers": 1},
    {"backbone": "maxout", "sharing": "cross-stitch", "pieces": 4},
    {"backbone": "cnn", "shared_layers": 1},
    {"backbone": "cnn", "shared_layers": 3, "depth": 2},
    {"backbone": "cnn", "sharing": "cross-stitch"},
    {"dataset": "mnist-5k", "variant": "multi", "tasks": ["left", "right"], "aux": ["bbox"]},
]


@pytest.mark.parametrize("changes", CASES, ids=[str(c) for c in CASES])
def test_the_arithmetic_count_is_the_trained_models(changes):
    """Equal to the param_count the trainer stores in the run's provenance."""
    data = {"dataset": "digits", "aux": ["parity", "magnitude"], "width": 12, "epochs": 1}
    config = from_dict({**data, **changes})
    bundle = load_bundle(config.dataset, config.variant, config.data_seed)
    assert bundle.image_shape == image_shape(config.dataset)
    loop = _Loop(config, bundle, torch.device("cpu"), None, None, None, RunControl())
    assert param_count(config) == loop.model.param_count()


def test_counting_does_not_import_torch():
    """The dashboard's server may use it: it must not load torch."""
    code = "import sys, mtl_core.models.counting; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
