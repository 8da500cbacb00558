"""Without Ray (``pip install .`` leaves the ``ray`` extra out), ``--backend ray`` is
refused in one line naming the install command, not an internal error."""

from __future__ import annotations

import sys

import pytest

from mtl_core.cli.main import main
from mtl_core.errors import MtlError
from mtl_core.execution.ray_backend import RayBackend

GRID = (
    "name: tiny\nbase: {dataset: digits, train_size: 100, width: 16, epochs: 2}\n"
    "axes:\n  sharing: [single, hard]\nseeds: 1\n"
)


@pytest.fixture
def no_ray(monkeypatch):
    """``import ray`` raises ImportError, as in an environment without the extra."""
    monkeypatch.setitem(sys.modules, "ray", None)


def test_sweep_on_ray_without_ray_is_one_line_naming_the_install(no_ray, tmp_path, capsys):
    grid = tmp_path / "sweep.yaml"
    grid.write_text(GRID)
    store = tmp_path / "runs.sqlite"
    code = main(["sweep", str(grid), "--backend", "ray", "--yes", "--store", str(store)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "", out
    assert err == (
        'error: backend: Ray is not installed here: pip install ".[ray]" '
        "(or pip install -r requirements.txt), or use --backend local\n"
    ), err
    assert not store.exists()


def test_the_python_ray_backend_without_ray_raises_the_same_line(no_ray):
    with pytest.raises(MtlError, match=r'pip install "\.\[ray\]"'):
        RayBackend()
