"""Golden curves: today's code reproduces the stored outputs of the golden cells bit for bit.

The determinism tests compare two runs of today's code, so a change that moves every run
the same way passes them. These tests compare today's runs and splits with records written
by ``python -m tests.golden.make_golden`` (tests/golden/, docs/golden.md). The runs train
in a fresh process at one torch thread: the thread count is process-wide state, and the
data cache is per process, so nothing another test did can change the numbers.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest

from mtl_core.data.datasets import DATASETS
from mtl_core.execution.identity import CURVE_VERSION
from mtl_core.paths import PROJECT_ROOT
from tests.golden import cells, make_golden

UPDATE = ".venv/bin/python -m tests.golden.make_golden --update"
OFFLINE_DATASETS = [d for d in cells.split_datasets() if DATASETS[d].offline]


def stored(path) -> dict:
    if path == cells.CURVES_FILE and not path.exists():
        pytest.fail(
            f"no golden curves for this machine's CPU kernels ({cells.cpu_capability()}): "
            f"write {path.name} with `{UPDATE}` on such a machine, from a commit whose "
            "curves another family's file already vouches for (docs/golden.md)"
        )
    return json.loads(path.read_text())


def fresh(cell_names: list[str], datasets: list[str]) -> dict:
    """Today's records, computed in a new Python process."""
    command = [
        sys.executable,
        "-m",
        "tests.golden.make_golden",
        "--emit",
        "--cells",
        *cell_names,
        "--splits",
        *datasets,
    ]
    proc = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def require_files(dataset: str) -> None:
    problem = cells.missing_files(dataset)
    if problem:
        pytest.fail(problem)


def assert_reproduced(what: str, golden: dict, now: dict, env_then: dict, env_now: dict) -> None:
    __tracebackhide__ = True  # the message says it all: no dump of the records
    lines = cells.report(golden, now, limit=10)
    if lines:
        count = sum(1 for _ in cells.differences(golden, now))
        pytest.fail(
            f"today's code does not reproduce the golden {what} ({count} difference(s)).\n"
            f"First: {lines[0]}\n"
            + "".join(f"  then: {line}\n" for line in lines[1:])
            + f"Golden written with {env_then}; now {env_now}.\n"
            "If the change is deliberate, bump CURVE_VERSION (mtl_core/training/provenance.py), run "
            f"`{UPDATE}` and commit the change with the new goldens and nothing else, "
            "saying why (docs/golden.md). If the code did not change and only last bits "
            "differ, this CPU rounds otherwise than the machine that wrote the file (see "
            f"kernel_probe): `{UPDATE} --this-machine` writes its own (docs/golden.md)."
        )


@pytest.fixture(scope="module")
def offline_now() -> dict:
    """One fresh process: every cell and split that needs no installed dataset files."""
    names = [n for n in cells.CELLS if cells.needs_files(n) is None]
    return fresh(names, OFFLINE_DATASETS)


def test_every_registered_name_has_a_golden_cell():
    """Each sharing mode, penalty, backbone, weighting, aggregator, variant, optimizer,
    dataset and task in mtl_core's registries, and each listed feature, is in a cell."""
    gaps = cells.coverage_gaps()
    assert not gaps, (
        f"no golden cell exercises {', '.join(gaps)}: add one to tests/golden/cells.py and "
        f"run `{UPDATE}`"
    )
    assert set(cells.NOT_COVERED) <= set(DATASETS)


def test_the_golden_files_hold_every_cell_and_dataset_with_todays_config():
    """Every cell is stored, with the full config today's defaults give it, in the curves
    of every CPU family (not only this machine's); every dataset's splits are stored."""
    families = sorted(cells.HERE.glob("curves-*.json"))
    assert cells.CURVES_FILE in families
    configs = {name: cells.config_of(name).to_dict() for name in cells.CELLS}
    for path in families:
        golden = stored(path)["cells"]
        assert list(golden) == list(cells.CELLS), f"{path.name}: cells changed: run `{UPDATE}`"
        lines = cells.report({n: r["config"] for n, r in golden.items()}, configs)
        assert not lines, f"{path.name}: a cell's config changed (a default?): " + "; ".join(lines)
    splits = stored(cells.SPLITS_FILE)["splits"]
    assert list(splits) == cells.split_datasets(), f"datasets changed: run `{UPDATE}`"


def test_the_golden_curves_were_written_at_todays_curve_version():
    """A bump of CURVE_VERSION says the curves changed: the goldens must be rewritten."""
    version = stored(cells.CURVES_FILE)["curve_version"]
    assert version == CURVE_VERSION, (
        f"the goldens were written at CURVE_VERSION {version}, the code is at {CURVE_VERSION}:"
        f" run `{UPDATE}`"
    )


def test_the_golden_cells_exercise_what_they_are_named_for():
    """Read from the stored records: every run completed; early stopping stopped and
    restored an earlier epoch; learned and dynamic weights moved; the soft penalty,
    cross-stitch weights and gradient conflict were recorded."""
    golden = stored(cells.CURVES_FILE)["cells"]
    assert {r["status"] for r in golden.values()} == {"completed"}
    early = golden["early-stop"]["summary"]
    assert 0 < early["restored_epoch"] < early["stopped_early_at"] < early["epochs_run"] + 1
    assert early["stopped_early_at"] < golden["early-stop"]["config"]["epochs"]
    for cell in ("hard-dwa", "hard-gradnorm", "hard-uncertainty", "aggregator-mgda"):
        weights = golden[cell]["series"]["digit/train/weight"]
        assert weights[-1] != weights[0], cell
    assert "_model/train/soft_penalty" in golden["soft-trace"]["series"]
    assert any(k.startswith("_stitch/") for k in golden["cross-stitch"]["series"])
    assert any(k.startswith("_conflict/") for k in golden["aggregator-pcgrad"]["series"])
    test_rows = golden["label-budgets"]["series"]["digit/test/loss"]
    assert sum(v is not None for v in test_rows) == 1


def test_todays_code_reproduces_the_golden_curves_bitwise(offline_now):
    golden = stored(cells.CURVES_FILE)
    names = list(offline_now["cells"])
    assert names == [n for n in cells.CELLS if cells.needs_files(n) is None]
    old = {n: golden["cells"][n] for n in names}
    assert_reproduced(
        "curves", old, offline_now["cells"], golden["environment"], offline_now["environment"]
    )


def test_todays_splits_match_their_golden_fingerprints(offline_now):
    """Split indices and prepared arrays of digits and mnist-5k, per variant and data seed."""
    golden = stored(cells.SPLITS_FILE)
    assert set(offline_now["splits"]) >= {"digits", "mnist-5k"}
    old = {d: golden["splits"][d] for d in offline_now["splits"]}
    assert_reproduced(
        "split fingerprints",
        old,
        offline_now["splits"],
        golden["environment"],
        offline_now["environment"],
    )


def test_fashion_mnist_cell_reproduces_its_golden_curves():
    names = [n for n in cells.CELLS if cells.needs_files(n) is not None]
    for dataset in {cells.needs_files(n) for n in names}:
        require_files(dataset)
    now = fresh(names, [])
    golden = stored(cells.CURVES_FILE)
    old = {n: golden["cells"][n] for n in names}
    assert_reproduced("curves", old, now["cells"], golden["environment"], now["environment"])


@pytest.mark.slow
def test_fashion_mnist_splits_match_their_golden_fingerprints():
    """70,000 images through every variant, twice: about 15 s and 2 GB."""
    require_files("fashion-mnist")
    now = fresh([], ["fashion-mnist"])
    golden = stored(cells.SPLITS_FILE)
    old = {"fashion-mnist": golden["splits"]["fashion-mnist"]}
    assert_reproduced(
        "split fingerprints", old, now["splits"], golden["environment"], now["environment"]
    )


# -- the tools themselves -------------------------------------------------------------------


def test_golden_runs_pin_the_blas_kernels_numpy_chose_by_cpu_model(offline_now):
    """Nash-MTL's solve runs in numpy's OpenBLAS, whose kernels follow the CPU model: a
    golden run that did not pin them could differ on a machine of the same torch family.
    So does torch's MKL (the rotated images' affine grids)."""
    pinned = cells.BLAS_KERNELS["OPENBLAS_CORETYPE"]
    assert offline_now["environment"]["openblas_kernels"] == pinned
    assert offline_now["environment"]["mkl_instructions"] == "AVX2"


def test_the_kernel_probe_reads_the_same_in_a_golden_run_and_in_the_tests(offline_now):
    """The test's process picks the curves file by the probe; the records come from a
    pinned golden run: a probe that followed the pins would pick one file and compare
    with another machine's."""
    assert offline_now["environment"]["kernel_probe"] == cells.kernel_probe()


def test_a_machine_with_its_own_rounding_reads_its_own_curves_file(tmp_path, monkeypatch):
    """Its own file when there is one; else its torch family's, which every machine of
    the family that rounds as the writer did shares."""
    monkeypatch.setattr(cells, "HERE", tmp_path)
    monkeypatch.setattr(cells, "cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(cells, "kernel_probe", lambda: "0badcafe")
    assert cells.curves_file() == tmp_path / "curves-AVX512.json"
    (tmp_path / "curves-AVX512-0badcafe.json").write_text("{}")
    assert cells.curves_file() == tmp_path / "curves-AVX512-0badcafe.json"
    monkeypatch.setattr(cells, "kernel_probe", lambda: "12345678")
    assert cells.curves_file() == tmp_path / "curves-AVX512.json"


def test_the_kernel_probe_tells_two_summation_orders_apart(monkeypatch):
    """The AVX512 file's trunk distances match sums kept in four running partials; this
    probe must change when torch sums that way instead."""
    import torch

    before = cells.kernel_probe()

    def four_partials(x):
        lanes = torch.zeros(4)
        for start in range(0, len(x) - len(x) % 4, 4):
            lanes = lanes + x[start : start + 4]
        total = torch.zeros(())
        for value in [*lanes, *x[len(x) - len(x) % 4 :]]:
            total = total + value
        return total

    monkeypatch.setattr(torch.Tensor, "sum", four_partials)
    assert cells.kernel_probe() != before


def test_a_difference_is_named_by_cell_epoch_and_row_earliest_epoch_first():
    golden = stored(cells.CURVES_FILE)["cells"]
    changed = copy.deepcopy(golden)
    series = changed["hard-dwa"]["series"]
    series["parity/val/loss"][2] = series["parity/val/loss"][2] + 1e-12  # later row, epoch 2
    series["digit/train/loss"][3] = -0.0  # earlier row, epoch 3
    lines = cells.report(golden, changed)
    assert len(lines) == 2
    assert lines[0].startswith("cell 'hard-dwa', epoch 2, row 'parity/val/loss': golden ")
    assert lines[1].startswith("cell 'hard-dwa', epoch 3, row 'digit/train/loss'")
    assert not cells.report(golden, copy.deepcopy(golden))
    assert cells.report({"x": 0.0}, {"x": -0.0}) == [
        "x: golden 0.0 (0x0.0p+0), now -0.0 (-0x0.0p+0)"
    ]


def test_a_newly_registered_method_without_a_cell_is_a_coverage_gap(monkeypatch):
    from mtl_core.data import variants
    from mtl_core.methods import aggregation, weighting
    from mtl_core.methods.weightings.equal import EqualWeighting

    monkeypatch.setitem(weighting.WEIGHTINGS, "new-weighting", EqualWeighting)
    monkeypatch.setitem(aggregation.AGGREGATORS, "new-aggregator", lambda c: None)
    monkeypatch.setitem(variants.VARIANTS, "new-variant", variants.plain)
    assert cells.coverage_gaps() == [
        "weighting: new-weighting",
        "aggregator: new-aggregator",
        "variant: new-variant",
    ]


def test_make_golden_refuses_to_overwrite_without_update(tmp_path, monkeypatch, capsys):
    """It prints what changed and keeps the file; with --update it writes the new records."""
    monkeypatch.setattr(cells, "missing_files", lambda dataset: None)  # records are faked
    curves, splits = tmp_path / cells.CURVES_FILE.name, tmp_path / "splits.json"
    curves.write_text(cells.CURVES_FILE.read_text())
    splits.write_text(cells.SPLITS_FILE.read_text())
    monkeypatch.setattr(cells, "CURVES_FILE", curves)
    monkeypatch.setattr(cells, "SPLITS_FILE", splits)
    records = {
        "environment": cells.environment(),
        "cells": copy.deepcopy(stored(curves)["cells"]),
        "splits": stored(splits)["splits"],
    }
    records["cells"]["soft-l2"]["series"]["digit/val/loss"][1] *= 1.5
    monkeypatch.setattr(make_golden, "current", lambda names, datasets: records)
    before = curves.read_text()
    assert make_golden.main([]) == 1
    out = capsys.readouterr().out
    assert "cell 'soft-l2', epoch 1, row 'digit/val/loss'" in out
    assert "not overwritten; rerun with --update" in out
    assert curves.read_text() == before
    # Other numbers for an unchanged config: written only with CURVE_VERSION bumped.
    assert make_golden.main(["--update"]) == 1
    out = capsys.readouterr().out
    assert f"(soft-l2) but CURVE_VERSION is still {CURVE_VERSION}: bump it" in out
    assert curves.read_text() == before
    monkeypatch.setattr(make_golden, "curve_version", lambda: CURVE_VERSION + 1)
    assert make_golden.main(["--update"]) == 0
    assert stored(curves)["cells"] == records["cells"]
    assert stored(curves)["curve_version"] == CURVE_VERSION + 1
    assert make_golden.main([]) == 0
    assert f"{curves.name}: unchanged" in capsys.readouterr().out
