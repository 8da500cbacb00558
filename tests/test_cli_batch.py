"""CLI batch commands end to end on tiny configs: seeds, compare (--regularised) and
learning-curve store every run and print tables and sentences; bad input is one line."""

from __future__ import annotations

import re

import pytest

from mtl_core.cli.main import main
from mtl_core.config import from_dict
from mtl_core.store.runs import RunStore
from mtl_core.studies.comparison import compare_arms

TINY = [
    "--dataset",
    "digits",
    "--train-size",
    "60",
    "--width",
    "16",
    "--depth",
    "1",
    "--epochs",
    "2",
    "--batch-size",
    "16",
]


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def stored_runs(path):
    with RunStore(path) as reader:
        return reader.runs().sort_values("id").reset_index(drop=True)


def test_seeds_prints_each_seed_and_mean_sd(capsys, tmp_path):
    """Two seeds with their data seeds: a row each, a mean ± sd line, progress on stderr,
    both runs stored under names that say their seeds."""
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(
        capsys,
        "seeds",
        *TINY,
        "--aux",
        "parity",
        "--k",
        "2",
        "--vary-data",
        "--name",
        "exp",
        "--store",
        store,
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "digit: 2 seeds, data seeds varied"
    assert re.match(r"^\s*1\s+0\s+0\s+completed\s", lines[2]), lines[2]
    assert re.match(r"^\s*2\s+1\s+1\s+completed\s", lines[3]), lines[3]
    assert re.match(
        r"^mean ± sd over 2 runs: best val loss \d\.\d{3} ± \d\.\d{3}, val "
        r"accuracy .* test accuracy \d\.\d{3} ± \d\.\d{3}$",
        lines[4],
    )
    assert "0 running, 0 failed" in err and "Traceback" not in err
    runs = stored_runs(store)
    assert list(runs["name"]) == ["exp, seed 0, data seed 0", "exp, seed 1, data seed 1"]
    assert list(runs["status"]) == ["completed", "completed"]


def test_compare_regularised_prints_both_sentences_from_the_stored_runs(capsys, tmp_path):
    """Multi-task vs its baseline, then vs the baseline tuned over the 3 × 3 grid: every
    run is stored, and the first sentence is what the stored summaries say."""
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(
        capsys,
        "compare",
        *TINY,
        "--aux",
        "parity",
        "--k",
        "2",
        "--regularised",
        "--quiet",
        "--store",
        store,
    )
    assert code == 0, err
    sentences = [line for line in out.splitlines() if line.startswith("With 60 training")]
    assert len(sentences) == 2
    assert re.match(
        r"^With 60 training images, hard sharing (raised|lowered|changed) digit "
        r"test accuracy by \d+\.\d points compared with single task, 95% CI "
        r"-?\d+\.\d to -?\d+\.\d points \(paired t-interval\), over 2 paired "
        r"seeds \(paired t-test p [=<] [\d.e-]+\)",
        sentences[0],
    )
    assert "compared with the tuned single-task baseline (weight decay " in sentences[1]
    assert re.search(
        r"^chosen on validation: weight decay [\d.e-]+, dropout [\d.]+$", out, re.MULTILINE
    )
    runs = stored_runs(store)
    # the grid's plain cell (no weight decay, no dropout) is the baseline stored above: reused
    assert len(runs) == 2 * 2 + 8 * 2 and set(runs["status"]) == {"completed"}
    assert "Reused 2 stored identical single-task grid runs (#2, #4)" in out
    arms = {"hard sharing": [], "single task": []}
    for run in runs.itertuples():
        if run.name.split(",")[0] in arms:
            arms[run.name.split(",")[0]].append((from_dict(run.config), run.summary))
    again = compare_arms(arms["hard sharing"], arms["single task"], label_a="hard sharing")
    assert again.sentence() == sentences[0]


def test_learning_curve_prints_one_row_per_size_and_arm(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(
        capsys,
        "learning-curve",
        *TINY,
        "--aux",
        "parity",
        "--sizes",
        "60,40",
        "--k",
        "2",
        "--quiet",
        "--store",
        store,
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "digit: mean ± sd over 2 seeds (each draws its own training images)"
    rows = [line.split()[:3] for line in lines[2:6]]
    assert rows == [
        ["40", "single", "task"],
        ["40", "hard", "sharing"],
        ["60", "single", "task"],
        ["60", "hard", "sharing"],
    ]
    assert sum(line.startswith("With 40 training images, hard sharing") for line in lines) == 1
    assert sum(line.startswith("With 60 training images, hard sharing") for line in lines) == 1
    runs = stored_runs(store)
    assert len(runs) == 8 and set(runs["status"]) == {"completed"}
    assert {(c["train_size"], c["seed"], c["data_seed"]) for c in runs["config"]} == {
        (n, s, s) for n in (40, 60) for s in (0, 1)
    }


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["seeds", "--k", "11"], "error: k: number of seeds must be a whole number from 1 to 10"),
        (["seeds", "--k", "abc"], "error: k: expected a whole number, got 'abc'"),
        (["seeds", "--workers", "0"], "error: workers: must be a whole number from 1 to 32"),
        (["seeds", "--lr", "0"], "error: lr: "),
        (["seeds", "--dataset", "mnist"], "error: mnist not found"),
        (["learning-curve", "--sizes", "abc"], "error: sizes: expected comma-separated"),
        (["learning-curve"], "error: sizes: expected comma-separated"),
        (["learning-curve", "--sizes", "100,5000"], "error: train_size: "),
        (["learning-curve", "--sizes", "100", "--k", "0"], "error: k: "),
        (["compare"], "error: aux: this config is already single-task"),
        (["compare", "--aux", "parity", "--k", "1"], "error: k: a paired comparison needs "),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, args, start):
    """Refused before any run is stored: no store file, no stdout, one stderr line."""
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("MTL_DATA_DIR", raising=False)
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(capsys, *args[:1], *TINY, *args[1:], "--store", store)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(start), err
    assert not store.exists()
