"""The dashboard's server process imports no torch, scikit-learn or scipy when it loads the
page's modules: they cost it hundreds of MB and seconds per start (issue "fast from the
first click"). Training, data previews, data hashes and maps run in worker processes;
statistics load scipy on first use. The browser test tests/e2e/test_light_server.py
checks the same of a real server after a run and every view."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sklearn", "scipy")


@pytest.mark.parametrize(
    "module",
    ["mtl_core", "mtl_core.config", "mtl_core.dashboard.app", "mtl_core.dashboard.serve"],
)
def test_loading_the_page_imports_no_heavy_library(module):
    code = (
        f"import json, sys; import {module}; "
        f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [], f"{module} imports them"


def test_a_worker_trains_without_scikit_learn_scipy_or_pandas(tmp_path):
    """What a worker imports before its first run (the forkserver's preload,
    mtl_core/execution/forkserver.py) and what a run imports are a cold first click's wait:
    scikit-learn alone took 1.1 s of it (the split now draws in numpy,
    mtl_core/data/stratify.py), pandas 0.4 s (the store makes frames only for readers)."""
    code = (
        "import json, sys\n"
        "from mtl_core.execution import forkserver\n"
        "for name in forkserver.PRELOAD: __import__(name)\n"
        "from mtl_core.execution.worker import warm_up\n"
        "from mtl_core.config import RunConfig\n"
        "from mtl_core.store.runs import RunStore\n"
        "from mtl_core.training.trainer import train\n"
        "warm_up()\n"
        f"store = RunStore({str(tmp_path / 'runs.db')!r})\n"
        "result = train(RunConfig(epochs=2, train_size=200), store=store)\n"
        "assert result.status == 'completed', result.message\n"
        "print(json.dumps([m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
