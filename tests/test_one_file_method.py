"""A new loss weighting is one new file: its declaration and its implementation, nothing else.

The package is copied, one module is added under ``methods/weightings/`` (a toy method
whose every task weighs a declared ``toy_gain``), and a fresh interpreter on the copy
shows what follows from that file alone: the config's new field with its declared
default and range, the CLI's choice and flag with its help, the trainer's registry, and a
trained run whose weights are the gain. The declarations are also read, not imported
(the page stays free of torch), and each module's read declaration is its imported one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mtl_core.methods import catalog, weighting
from mtl_core.methods.declarations import read_method

ROOT = Path(__file__).resolve().parents[1]

TOY = '''
"""Toy weighting: every task weighs the declared gain (a test's new method)."""

from __future__ import annotations

from mtl_core.methods.declarations import Method, Param
from mtl_core.methods.weightings._base import Weighting, weighted_sum

METHOD = Method(
    "toy",
    "every task weighs the gain",
    params=(Param("toy_gain", "toy gain", 0.0, 5.0, 0.5, "each task's weight", "gain", default=0.5),),
)


class Toy(Weighting):
    def __init__(self, tasks, fixed, *, gain, **options):
        super().__init__(tasks, fixed, **options)
        self.gain = gain

    def combine(self, losses):
        return weighted_sum(dict.fromkeys(self.tasks, self.gain), losses)

    def current(self):
        return dict.fromkeys(self.tasks, self.gain)
'''

CHECK = """
import sys
import mtl_core
from mtl_core.config import RunConfig, from_dict
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
assert "torch" not in sys.modules, "reading the declarations imported torch"
assert list(catalog.WEIGHTINGS)[-1] == "toy", list(catalog.WEIGHTINGS)
assert RunConfig().toy_gain == 0.5
try:
    from_dict({"weighting": "toy", "toy_gain": 9})
except ConfigError as exc:
    assert "toy_gain" in str(exc), exc
else:
    raise AssertionError("toy_gain=9 was accepted")
from mtl_core.methods.weighting import WEIGHTINGS
assert WEIGHTINGS["toy"].__name__ == "Toy"
config = RunConfig(dataset="digits", train_size=60, tasks=("digit",), aux=("parity",),
                   width=16, depth=1, epochs=1, weighting="toy", toy_gain=2.0, batch_size=30)
result = mtl_core.train(config, sink=mtl_core.MemorySink())
assert result.status == "completed", result.message
weights = {t: result.value(1, t, "train", "weight") for t in ("digit", "parity")}
assert weights == {"digit": 2.0, "parity": 2.0}, weights
print("ok")
"""


@pytest.fixture(scope="module")
def copy_with_toy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("one_file")
    shutil.copytree(
        ROOT / "mtl_core", root / "mtl_core", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / "mtl_core" / "methods" / "weightings" / "toy.py").write_text(TOY.lstrip())
    return root


def run_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(root), "MTL_DATA_ROOT": str(root / "data")}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
    )


def test_one_new_file_gives_the_config_field_its_range_the_registry_and_a_trained_run(
    copy_with_toy,
):
    done = run_in(copy_with_toy, "-c", textwrap.dedent(CHECK))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_one_new_file_gives_the_cli_its_choice_and_its_flag(copy_with_toy):
    done = run_in(copy_with_toy, "-m", "mtl_core", "train", "--help")
    assert done.returncode == 0, done.stderr[-2000:]
    text = " ".join(done.stdout.split())
    assert "toy — every task weighs the gain" in text
    assert "--toy-gain" in text and "each task's weight" in text


def test_each_weighting_module_reads_as_it_imports():
    for path in sorted(weighting.FOLDER.glob("[!_]*.py")):
        name, _ = weighting.implementation(path.stem)
        module = sys.modules[f"{weighting.PACKAGE}.{path.stem}"]
        assert read_method(path) == module.METHOD == catalog.WEIGHTINGS[name]


def test_a_module_without_a_declaration_is_named_in_the_error(tmp_path):
    path = tmp_path / "nameless.py"
    path.write_text("x = 1\n")
    with pytest.raises(ValueError, match="nameless.py: no top-level METHOD"):
        read_method(path)
