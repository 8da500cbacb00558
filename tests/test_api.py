"""The public API (docs/api.md): ``import mtl_core`` gives every documented name, loads
them lazily (so it leaves torch out), and the doc's example runs as written."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys

import pytest

import mtl_core
from mtl_core.paths import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "api.md"


def python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_importing_mtl_core_and_its_config_leaves_torch_out():
    """What the dashboard server imports: no torch (it takes seconds and much memory); nor
    do a run's results and the sinks' module, which layers that never train import."""
    proc = python(
        "import sys, mtl_core, mtl_core.config\n"
        "mtl_core.RunConfig, mtl_core.ConfigError\n"
        "import mtl_core.training.results, mtl_core.training.sink\n"
        "dir(mtl_core)\n"
        "heavy = [m for m in ('torch', 'ray', 'torchjd') if m in sys.modules]\n"
        "print(heavy)\n"
        "assert not heavy, heavy"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_public_name_resolves_to_its_module_object():
    assert mtl_core.__all__ == sorted(mtl_core._API)
    for name in mtl_core.__all__:
        module, attribute = mtl_core._API[name]
        assert getattr(mtl_core, name) is getattr(importlib.import_module(module), attribute)
    assert set(mtl_core.__all__) <= set(dir(mtl_core))
    assert "importlib" not in dir(mtl_core)  # helpers of __init__ are not API


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        mtl_core.nonsense  # noqa: B018
    assert not hasattr(mtl_core, "nonsense")


def test_the_public_names_are_documented():
    doc = DOC.read_text()
    missing = [name for name in mtl_core.__all__ if f"`{name}" not in doc]
    assert not missing, f"docs/api.md does not mention {missing}"
    assert "private by convention" in doc


@pytest.mark.slow
def test_the_doc_example_runs_as_written():
    """Trains a run into memory and into a store (same rows), then a seeds comparison."""
    found = re.search(
        r"<!-- api-example -->\n```python\n(.*?)```\n<!-- /api-example -->", DOC.read_text(), re.S
    )
    assert found, "docs/api.md lacks its api-example block"
    proc = python(found.group(1), timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert proc.stdout.startswith("completed test accuracy")
    assert "paired seeds" in proc.stdout
