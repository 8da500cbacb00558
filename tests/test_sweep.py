"""Sweep files: parsing, the stored spec's shape, expansion, one-line errors for bad files;
the plan of a resumed sweep; and the ``sweep`` command on the local backend (dry run,
confirmation, a run, a resume that trains only what did not complete)."""

from __future__ import annotations

import json

import pytest

from mtl_core.cli.main import main
from mtl_core.errors import ConfigError
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore
from mtl_core.studies.sweep import expand, load_sweep, parse_sweep
from mtl_core.studies.sweep_runner import plan_sweep

TINY_BASE = "{dataset: digits, train_size: 60, width: 16, depth: 1, epochs: 2, batch_size: 16}"
EXAMPLE = """\
name: sharing grid
base: {dataset: digits, width: 16, epochs: 2, lr: 1e-3}
axes:
  sharing: [single, hard, soft]
  train_size: [100, 300, 1000]
  aux: [[], [parity, magnitude]]
seeds: 2
"""


def write(tmp_path, text: str, name: str = "sweep.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_expands_and_its_spec_has_the_stored_shape(tmp_path):
    """3 × 3 × 2 combinations, soft sharing without aux left out on request: 15 × 2 seeds;
    the spec is plain JSON with typed values (YAML's 1e-3 is a string until coerced)."""
    spec = load_sweep(write(tmp_path, EXAMPLE))
    assert spec.to_dict() == {
        "name": "sharing grid",
        "base": {"dataset": "digits", "width": 16, "epochs": 2, "lr": 0.001},
        "axes": {
            "sharing": ["single", "hard", "soft"],
            "train_size": [100, 300, 1000],
            "aux": [[], ["parity", "magnitude"]],
        },
        "seeds": [0, 1],
        "vary_data": False,
    }
    assert json.loads(json.dumps(spec.to_dict())) == spec.to_dict()
    with pytest.raises(
        ConfigError,
        match=r"^axes: the combination sharing=soft, "
        r"train_size=100, aux=none is invalid \(sharing: ",
    ):
        expand(spec)
    expansion = expand(spec, skip_invalid=True)
    assert len(expansion.runs) == 30 and len(expansion.skipped) == 3
    first, last = expansion.runs[0], expansion.runs[-1]
    assert first.name == "sharing=single, train_size=100, aux=none, seed 0"
    assert last.name == "sharing=soft, train_size=1000, aux=parity+magnitude, seed 1"
    assert (last.config.sharing, last.config.train_size, last.config.aux) == (
        "soft",
        1000,
        ("parity", "magnitude"),
    )
    assert (last.config.seed, last.config.data_seed, last.config.lr) == (1, 0, 0.001)
    assert [r.config.seed for r in expansion.runs] == [0] * 15 + [1] * 15  # seeds outermost


def test_the_example_file_in_examples_expands():
    spec = load_sweep(PROJECT_ROOT / "examples" / "sharing_grid.yaml")
    assert spec.size() == 54 and spec.vary_data
    assert len(expand(spec, skip_invalid=True).runs) == 45


def test_json_files_seed_lists_and_vary_data(tmp_path):
    data = {
        "base": {"dataset": "digits", "train_size": 60},
        "axes": {"lr": [0.01, "0.1"]},
        "seeds": [3, 7],
        "vary_data": True,
    }
    spec = load_sweep(write(tmp_path, json.dumps(data), "lr.json"))
    assert spec.name == "lr" and spec.axes == {"lr": [0.01, 0.1]} and spec.seeds == (3, 7)
    runs = expand(spec).runs
    assert [(r.config.lr, r.config.seed, r.config.data_seed) for r in runs] == [
        (0.01, 3, 3),
        (0.1, 3, 3),
        (0.01, 7, 7),
        (0.1, 7, 7),
    ]
    assert runs[0].name == "lr=0.01, seed 3, data seed 3"
    assert [r.name for r in expand(parse_sweep({"seeds": 2})).runs] == ["seed 0", "seed 1"]


BAD_FILES = {
    "not_yaml": ("axes: [sharing: {", "sweep: ", "is not valid YAML or JSON"),
    "not_json": ('{"axes": ', "sweep: ", "is not valid JSON"),
    "not_a_mapping": ("- 1\n- 2\n", "sweep: ", "expected a mapping"),
    "unknown_key": ("axis: {lr: [0.1]}\n", "axis: ", "unknown key; a sweep file has name"),
    "unknown_axis_field": (
        "axes: {learning_rate: [0.1]}\n",
        "axes.learning_rate: ",
        "unknown config field",
    ),
    "unknown_base_field": (
        "base: {learning_rate: 0.1}\n",
        "base.learning_rate: ",
        "unknown config field",
    ),
    "empty_axis": ("axes: {lr: []}\n", "axes.lr: ", "empty list"),
    "axis_not_a_list": ("axes: {lr: 0.1}\n", "axes.lr: ", "expected a list of values"),
    "repeated_value": ("axes: {lr: [0.1, 1e-1]}\n", "axes.lr: ", "0.1 is listed twice"),
    "value_of_wrong_type": (
        "axes: {train_size: [100, many]}\n",
        "axes.train_size: ",
        "expected a number, got 'many'",
    ),
    "value_invalid_for_field": (
        "axes: {sharing: [hard, sideways]}\n",
        "axes.sharing: ",
        "sideways is invalid here: sharing: unknown sharing mode",
    ),
    "value_out_of_range": (
        f"base: {TINY_BASE}\naxes: {{dropout: [0.1, 1.5]}}\n",
        "axes.dropout: ",
        "1.5 is invalid here: dropout: must be in [0, 1)",
    ),
    "base_invalid_everywhere": (
        "base: {lr: 0}\naxes: {sharing: [hard, single]}\n",
        "base.lr: ",
        "must be greater than 0 and at most 10, got 0 (in every",
    ),
    "k_zero": ("seeds: 0\n", "seeds: ", "K must be a whole number from 1 to 100, got 0"),
    "k_too_big": ("seeds: 101\n", "seeds: ", "K must be a whole number from 1 to 100, got 101"),
    "k_not_a_number": ("seeds: many\n", "seeds: ", "expected K (seeds 0..K-1) or a list"),
    "seed_repeated": ("seeds: [1, 1]\n", "seeds: ", "a seed is listed twice"),
    "seed_negative": ("seeds: [-1]\n", "seeds: ", "whole number from 0 to 2,147,483,647, got -1"),
    "seed_as_axis": ("axes: {seed: [0, 1]}\n", "axes.seed: ", "give seeds with the top-level"),
    "data_seed_and_vary_data": (
        "vary_data: true\naxes: {data_seed: [0, 1]}\n",
        "axes.data_seed: ",
        "vary_data sets data_seed",
    ),
    "vary_data_not_bool": ("vary_data: sometimes\n", "vary_data: ", "expected true or false"),
    "axis_also_in_base": ("base: {lr: 0.1}\naxes: {lr: [0.1]}\n", "axes.lr: ", "also set in base"),
    "too_many_runs": (
        "axes: {lr: [" + ", ".join(f"0.{i + 1}" for i in range(9)) + "], "
        "width: [" + ", ".join(str(i + 1) for i in range(200)) + "]}\nseeds: 10\n",
        "axes: ",
        "the sweep expands to 18,000 runs; the limit is 10,000",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_sweep_files_give_one_line_naming_the_problem(tmp_path, case):
    text, field, words = BAD_FILES[case]
    path = write(tmp_path, text, "sweep.json" if case == "not_json" else "sweep.yaml")
    with pytest.raises(ConfigError) as info:
        expand(load_sweep(path))
    message = str(info.value)
    assert message.startswith(field) and words in message, message
    assert "\n" not in message


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"^sweep: cannot read .*nope\.yaml: No such file"):
        load_sweep(tmp_path / "nope.yaml")


def test_resume_plan_keeps_completed_runs_and_replaces_the_others(tmp_path):
    """Runs are matched to the grid by config; a newer completed run wins; failed,
    stopped, interrupted and queued runs are replaced; runs of other sweeps are ignored."""
    spec = parse_sweep(
        {
            "base": {"dataset": "digits", "train_size": 60},
            "axes": {"lr": [0.01, 0.1, 1.0]},
            "seeds": 2,
        }
    )
    runs = expand(spec).runs
    path = tmp_path / "runs.sqlite"
    with RunStore(path) as store:
        other = store.create_sweep("other", {"name": "other"})
        store.create_run(runs[0].config.to_dict(), sweep=other, status="completed")
        sweep = store.create_sweep(spec.name, spec.to_dict())
        statuses = ["completed", "failed", "stopped", "interrupted", "queued", "diverged"]
        ids = [
            store.create_run(r.config.to_dict(), sweep=sweep, status=s)
            for r, s in zip(runs, statuses, strict=True)
        ]
        newer = store.create_run(runs[1].config.to_dict(), sweep=sweep, status="completed")
    plan = plan_sweep(spec, path, resume=True)
    assert plan.sweep_id == sweep
    assert plan.kept == {0: ids[0], 1: newer, 5: ids[5]}
    assert sorted(plan.replaced) == ids[1:5]
    assert [r.name for r in plan.to_start] == [runs[i].name for i in (2, 3, 4)]
    with RunStore(path) as store:
        store.set_status(ids[2], "running")
    with pytest.raises(ConfigError, match=r"^resume: runs \[\d+\] of sweep 2 are still training"):
        plan_sweep(spec, path, resume=True)
    changed = parse_sweep({**spec.to_dict(), "seeds": 3})
    with pytest.raises(ConfigError, match=r"^resume: no sweep in .* has this spec"):
        plan_sweep(changed, path, resume=True)


# -- the command, on the local backend ---------------------------------------------------

GRID = f"name: tiny\nbase: {TINY_BASE}\naxes:\n  sharing: [single, hard]\n  aux: [[parity]]\nseeds: 2\n"


def stored(path):
    with RunStore(path) as reader:
        return reader.sweeps(), reader.runs().sort_values("id").reset_index(drop=True)


def test_dry_run_prints_the_runs_and_stores_nothing(capsys, tmp_path):
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(capsys, "sweep", write(tmp_path, GRID), "--dry-run", "--store", store)
    assert code == 0, err
    assert out.splitlines() == [
        "sweep 'tiny': 4 runs (2 sharing × 1 aux × 2 seeds), 4 to start",
        "  start          sharing=single, aux=parity, seed 0",
        "  start          sharing=hard, aux=parity, seed 0",
        "  start          sharing=single, aux=parity, seed 1",
        "  start          sharing=hard, aux=parity, seed 1",
        "dry run: nothing was stored or started",
    ]
    assert not store.exists()


def test_a_no_at_the_prompt_starts_nothing(capsys, tmp_path, monkeypatch):
    store = tmp_path / "runs.sqlite"
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = run_cli(capsys, "sweep", write(tmp_path, GRID), "--store", store)
    assert code == 1 and out.splitlines()[-1] == "not started"
    assert not store.exists()


def test_local_sweep_then_resume_trains_only_what_did_not_complete(capsys, tmp_path):
    """Four runs stored with the sweep's id and readable names; then one is marked failed
    and one deleted: --resume trains exactly two (new ids), keeps the other two; a second
    --resume has nothing to do."""
    store, grid = tmp_path / "runs.sqlite", write(tmp_path, GRID)
    code, out, err = run_cli(capsys, "sweep", grid, "--store", store, "--yes")
    assert code == 0, err
    assert out.splitlines()[-2] == "sweep 1 'tiny': 4 completed"
    assert "4/4" in err and "0 running, 0 failed" in err
    sweeps, runs = stored(store)
    assert list(sweeps["id"]) == [1] and sweeps["spec"][0] == load_sweep(grid).to_dict()
    assert list(runs["sweep"]) == [1] * 4 and set(runs["status"]) == {"completed"}
    assert list(runs["name"])[:2] == [
        "sharing=single, aux=parity, seed 0",
        "sharing=hard, aux=parity, seed 0",
    ]
    with RunStore(store) as writer:
        writer.finish(2, "failed", "pretend", {}, {})
        writer.delete([4])

    code, out, err = run_cli(capsys, "sweep", grid, "--store", store, "--resume", "--quiet")
    assert code == 0, err
    assert out.splitlines()[0].endswith("resuming sweep 1: 2 completed kept, 2 to run")
    assert "sweep 1 'tiny': 2 completed (2 kept from before)" in out
    _, runs = stored(store)
    assert list(runs["id"]) == [1, 3, 5, 6] and set(runs["status"]) == {"completed"}
    assert sorted(runs["name"]) == sorted(r.name for r in expand(load_sweep(grid)).runs)

    code, out, _ = run_cli(capsys, "sweep", grid, "--store", store, "--resume")
    assert code == 0 and out.splitlines()[-1].startswith("nothing to run: every run of sweep 1")


@pytest.mark.parametrize(
    ("args", "start"),
    [
        (["--workers", "0"], "error: workers: must be a whole number from 1 to 32"),
        (["--workers", "x"], "error: workers: expected a whole number, got 'x'"),
        (["--backend", "ray", "--workers", "0"], "error: workers: must be a whole number from 1"),
        (["--address", "127.0.0.1:1"], "error: address: connects to a Ray cluster: add "),
        (["--resume"], "error: resume: no run store at "),
        (
            ["--backend", "ray", "--address", "127.0.0.1:1", "--yes"],
            "error: address: cannot reach 127.0.0.1:1 (Connection refused)",
        ),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(capsys, tmp_path, args, start):
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(capsys, "sweep", write(tmp_path, GRID), *args, "--store", store)
    assert code == 2 and ("--address" in args or out == "")
    assert len(err.strip().splitlines()) == 1 and err.startswith(start), err
    assert not store.exists()


def test_a_bad_file_is_one_line_and_exit_2(capsys, tmp_path):
    path = write(tmp_path, "axes: {sharing: [hard, sideways]}\n")
    code, out, err = run_cli(capsys, "sweep", path, "--store", tmp_path / "runs.sqlite")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith("error: axes.sharing: sideways is invalid here: sharing: unknown")
