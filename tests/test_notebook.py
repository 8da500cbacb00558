"""examples/quickstart.ipynb runs as a reader runs it, headless, with no error output.

The notebook is executed in a fresh kernel of this environment, from its own folder (as
Jupyter starts it) and with nothing but the checkout there (no ``pip install``), into a
temporary run store. Any error or anything written to stderr fails the test. The live
chart must be one output redrawn after every epoch, not a new chart per epoch; the
comparison prints the paired sentence; the stored runs come back as a pandas table. The
notebook uses the public API only (docs/api.md), and is committed without outputs.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import mtl_core
from mtl_core.cli.main import build_parser, config_from_args

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"
PLOTLY = "application/vnd.plotly.v1+json"


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


class CountingClient(NotebookClient):
    """Counts the redraws of displayed outputs (``update_display_data`` messages)."""

    updates = 0

    def process_message(self, msg, *args, **kwargs):
        if msg["header"]["msg_type"] == "update_display_data":
            self.updates += 1
        return super().process_message(msg, *args, **kwargs)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook")
    saved = dict(os.environ)
    os.environ.update({"MTL_DATA_ROOT": str(root), "MTL_STORE": str(root / "runs.sqlite")})
    os.environ.pop("PYTHONPATH", None)  # the notebook finds the package by itself
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = CountingClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb, client, root


def test_the_notebook_is_committed_clean_and_valid():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, cell.source[:80]


def test_the_notebook_uses_only_the_public_api():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    source = "\n".join(cell.source for cell in code_cells(nb))
    tree = ast.parse(source)
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and getattr(node.value, "id", None) == "mtl_core":
            used.add(node.attr)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mtl_core"):
            raise AssertionError(f"the notebook imports from {node.module}: use `mtl_core.X`")
        if isinstance(node, ast.Import):
            inner = [a.name for a in node.names if a.name.startswith("mtl_core.")]
            assert not inner, f"the notebook imports {inner}: use `mtl_core.X`"
    assert used and used <= set(mtl_core.__all__), used - set(mtl_core.__all__)


@pytest.mark.slow
def test_the_notebook_runs_headless_without_error_output(executed):
    nb, _, _ = executed
    for cell in code_cells(nb):
        for out in cell.outputs:
            assert out.output_type != "error", "".join(out.get("traceback", []))[-3000:]
            assert out.get("name") != "stderr", f"{cell.source[:60]!r} wrote: {out.text[-2000:]}"


@pytest.mark.slow
def test_the_live_chart_is_one_output_redrawn_after_every_epoch(executed):
    nb, client, _ = executed
    charts = [
        (cell, out)
        for cell in code_cells(nb)
        for out in cell.outputs
        if PLOTLY in out.get("data", {})
    ]
    assert len(charts) == 1, f"{len(charts)} chart outputs; the live chart should be one"
    _, out = charts[0]
    figure = out.data[PLOTLY]
    figure = json.loads(figure) if isinstance(figure, str) else figure
    lengths = {len(trace["x"]) for trace in figure["data"]}
    config_cell = next(c for c in code_cells(nb) if "RunConfig(" in c.source)
    epochs = int(config_cell.source.split("epochs=")[1].split(",")[0])
    assert lengths == {epochs + 1}, lengths  # epoch 0 (untrained) to the last
    assert len(figure["data"]) == 4  # digit and parity, train and validation
    assert client.updates == epochs + 1  # one redraw per epoch, epoch 0 included


@pytest.mark.slow
def test_the_notebook_compares_over_seeds_and_reads_the_store_into_pandas(executed):
    nb, _, root = executed
    printed = "".join(
        out.text for cell in code_cells(nb) for out in cell.outputs if out.get("name") == "stdout"
    )
    assert f"run store: {root / 'runs.sqlite'}" in printed
    assert "over 3 paired seeds" in printed and "95% CI" in printed
    tables = [
        out.data["text/html"]
        for cell in code_cells(nb)
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]
    assert len(tables) == 2 and "quickstart multi seed 0" in tables[0]
    assert "quickstart single seed 2" in tables[1]  # the wide table's columns
    with mtl_core.RunStore(root / "runs.sqlite") as store:
        assert sorted(store.runs().name) == sorted(
            f"quickstart {arm} seed {seed}" for arm in ("multi", "single") for seed in range(3)
        )


def test_the_docs_link_the_notebook():
    for page in ("docs/notebooks.md", "docs/api.md"):
        assert "examples/quickstart.ipynb" in (ROOT / page).read_text(), page


DOC = ROOT / "docs" / "notebooks.md"


def doc_block(name: str) -> str:
    found = re.search(rf"<!-- {name} -->\n(.*?)\n<!-- /{name} -->", DOC.read_text(), re.S)
    assert found, f"docs/notebooks.md lacks its {name} block"
    return found.group(1)


def run_config_calls(source: str) -> list[dict]:
    """The configs of every ``mtl_core.RunConfig(...)`` call in ``source``."""
    configs = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "mtl_core.RunConfig":
            configs.append(eval(ast.unparse(node), {"mtl_core": mtl_core}).to_dict())
    return configs


def test_the_link_the_commands_and_the_notebook_build_one_config():
    """docs/notebooks.md runs one experiment three ways: the dashboard link, the CLI
    commands, the Python block and the notebook must all describe the same config."""
    from mtl_core.dashboard.urlstate import params_to_config

    link = doc_block("experiment-link").strip("`")
    params = {k: v for k, v in (p.split("=") for p in link.split("?", 1)[1].split("&"))}
    from_link, notes = params_to_config(params)
    assert notes == []
    commands = doc_block("experiment-cli").strip("`").removeprefix("sh\n").splitlines()
    from_cli = [
        config_from_args(build_parser().parse_args(c.split()[1:])).to_dict()
        for c in commands
        if c.split()[1] in ("train", "compare")
    ]
    python_block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    in_notebook = run_config_calls("\n".join(cell.source for cell in code_cells(nb)))
    every = [from_link.to_dict(), *from_cli, *run_config_calls(python_block), *in_notebook]
    assert len(every) == 5
    assert all(config == every[0] for config in every), every


@pytest.mark.slow
def test_the_python_block_of_the_page_runs_as_written(tmp_path):
    code = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S).group(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MTL_")}
    env.update({"MTL_DATA_ROOT": str(tmp_path), "MTL_STORE": str(tmp_path / "runs.sqlite")})
    proc = subprocess.run(
        [sys.executable, "-c", code + "\nprint(len(runs))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "epoch 15" in proc.stdout and "over 3 paired seeds" in proc.stdout
    assert proc.stdout.rstrip().endswith("\n6")  # the six stored runs, read back
