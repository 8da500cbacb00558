"""CLI: one-line errors naming the field, the task table, and train → list → show → export."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from mtl_core.cli.main import build_parser, config_from_args, main
from mtl_core.data.tasks import DIGIT_FAMILY, FASHION_FAMILY, TASKS
from mtl_core.paths import PROJECT_ROOT
from mtl_core.store.runs import RunStore

SMALL = ["--dataset", "digits", "--train-size", "60", "--width", "16", "--depth", "1"]
TINY = [*SMALL, "--epochs", "3", "--quiet"]


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write(path, text: str):
    path.write_text(text)
    return path


CONFIG_FILES = {
    "not_json": ("{ dataset: digits", "config"),
    "unknown_field": ('{"dataset": "digits", "learning_rate": 0.1}', "learning_rate"),
    "not_an_object": ("[1, 2, 3]", "config"),
    "bad_value": ('{"epochs": 0}', "epochs"),
}


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--tasks", "nope"], "tasks"),
        (["--aux", "nope"], "aux"),
        (["--tasks", "left"], "tasks"),
        (["--dataset", "digits", "--tasks", "class"], "tasks"),
        (["--variant", "rotated", "--aux", "left"], "aux"),
        (["--sharing", "soft"], "sharing"),
        (["--train-size", "5000"], "train_size"),
        (["--dataset", "digits", "--train-size", "1078"], "train_size"),
        (["--task-size", "digit=3001"], "task_sizes.digit"),
        (["--task-size", "100"], "task_sizes"),
        (["--task-size", "digit=many"], "task_sizes"),
        (["--lr", "0"], "lr"),
        (["--lr=-0.5"], "lr"),
        (["--lr", "fast"], "lr"),
        (["--epochs", "0"], "epochs"),
        (["--epochs", "-3"], "epochs"),
        (["--width", "abc"], "width"),
        (["--aux-weight", "heavy"], "aux_weight"),
        (["--dataset", "cifar"], "dataset"),
        (["--dataset", "cifar", "--train-size", "all"], "dataset"),
        (["--device", "tpu"], "device"),
        (["--config", "missing.json"], "config"),
        *[(["--config", f"{name}.json"], field) for name, (_, field) in CONFIG_FILES.items()],
    ],
)
def test_invalid_configs_give_one_line_naming_the_field(capsys, tmp_path, monkeypatch, args, field):
    """Each invalid config exits with status 2 and one stderr line 'error: <field>: …'."""
    monkeypatch.chdir(tmp_path)
    for name, (text, _) in CONFIG_FILES.items():
        write(tmp_path / f"{name}.json", text)
    code, out, err = run_cli(capsys, "train", *args, "--store", tmp_path / "runs.sqlite")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {field}: "), lines[0]
    assert not (tmp_path / "runs.sqlite").exists()  # refused before any run was created


def test_the_real_process_prints_no_traceback_and_exits_2(tmp_path):
    """`python -m mtl_core train` with an unknown task: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "train",
            "--tasks",
            "nope",
            "--store",
            str(tmp_path / "runs.sqlite"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith("error: tasks: unknown task 'nope'")


def test_tasks_prints_the_validity_table_from_the_registry(capsys):
    """`tasks` prints one line per registered task, whose variant cells match valid_on."""
    code, out, _ = run_cli(capsys, "tasks")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.split()}
    label = {DIGIT_FAMILY: "digits", FASHION_FAMILY: "fashion"}
    for name, task in TASKS.items():
        cells = re.findall(r"(?<!\S)(digits\+fashion|digits|fashion|-)(?!\S)", lines[name])[:4]
        expected = [
            "+".join(label[f] for f in (DIGIT_FAMILY, FASHION_FAMILY) if task.valid_on(f, v)) or "-"
            for v in ("plain", "rotated", "noisy", "multi")
        ]
        assert cells == expected, name
        assert task.category in lines[name]
    assert "digits: mnist-5k, digits, mnist" in out
    assert "fashion: fashion-mnist" in out


def test_flags_build_the_config(tmp_path):
    """Task sizes, per-task weights and shuffles, 'all' and lists parse into the config."""
    args = build_parser().parse_args(
        [
            "train",
            "--dataset",
            "digits",
            "--train-size",
            "all",
            "--tasks",
            "digit",
            "--aux",
            "parity,magnitude",
            "--task-size",
            "digit=100",
            "--task-size",
            "parity=1000",
            "--aux-weight",
            "0.5",
            "--aux-weight",
            "parity=2",
            "--shuffle-aux",
            "magnitude=1",
            "--sharing",
            "soft",
            "--soft-lambda",
            "0.1",
            "--lr",
            "0.01",
            "--early-stop",
            "4",
        ]
    )
    config = config_from_args(args)
    assert config.train_size == 1077
    assert config.aux == ("parity", "magnitude")
    assert config.task_sizes == {"digit": 100, "parity": 1000}
    assert (config.aux_weight, config.aux_weights) == (0.5, {"parity": 2.0})
    assert (config.shuffle_aux, config.aux_shuffle) == (0.0, {"magnitude": 1.0})
    assert (config.sharing, config.soft_lambda, config.lr) == ("soft", 0.1, 0.01)
    assert config.early_stop == 4


def test_train_list_show_export(capsys, tmp_path):
    """A run trained by the CLI is listed, shown and exported from the same store."""
    store = tmp_path / "runs.sqlite"
    code, out, _ = run_cli(
        capsys, "train", *TINY, "--aux", "parity", "--name", "cli run", "--store", store
    )
    assert code == 0
    assert out.startswith("run 1: completed")
    assert "digit" in out and "best val loss" in out

    code, out, _ = run_cli(capsys, "list", "--store", store)
    assert code == 0
    row = next(line for line in out.splitlines() if "cli run" in line)
    assert "completed" in row and "digits/plain" in row and "digit +parity" in row

    code, out, _ = run_cli(capsys, "show", "1", "--store", store, "--last", "2")
    assert code == 0
    assert out.startswith("run 1 (cli run): completed")
    config_line = next(line for line in out.splitlines() if line.startswith("config: "))
    assert json.loads(config_line.removeprefix("config: "))["aux"] == ["parity"]
    assert "provenance: " in out
    epochs = [line.split()[0] for line in out.splitlines() if re.match(r"^\d+\s", line)]
    assert epochs == ["2", "3"]

    with RunStore(store) as reader:
        stored = reader.metrics(1)
    code, out, _ = run_cli(capsys, "export", "1", "--store", store, "--out", tmp_path / "a.csv")
    assert code == 0 and "a.csv" in out
    csv = pd.read_csv(tmp_path / "a.csv")
    assert len(csv) == len(stored) and set(csv["run_name"]) == {"cli run"}
    code, _, _ = run_cli(
        capsys, "export", "1", "--format", "json", "--store", store, "--out", tmp_path / "a.json"
    )
    assert code == 0
    exported = json.loads((tmp_path / "a.json").read_text())
    assert exported[0]["id"] == 1 and len(exported[0]["metrics"]) == len(stored)


def test_unknown_run_ids_are_one_line_errors(capsys, tmp_path):
    """show and export of a missing run exit 2 with one 'error:' line."""
    store = tmp_path / "runs.sqlite"
    for args in (["show", "7"], ["export", "7", "--out", tmp_path / "x.csv"]):
        code, out, err = run_cli(capsys, *args, "--store", store)
        assert code == 2 and out == ""
        assert err.strip().splitlines() == [
            "error: no run with id 7 in " + str(store) + "; see `python -m mtl_core list`"
        ]


def test_a_store_path_that_is_a_folder_is_a_one_line_error(capsys, tmp_path):
    """`list --store <folder>` exits 2 with one 'error:' line and leaves the folder alone."""
    code, out, err = run_cli(capsys, "list", "--store", tmp_path)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith(
        f"error: {tmp_path} is a folder, not a run store"
    )
    assert tmp_path.is_dir()


def test_list_of_an_empty_store(capsys, tmp_path):
    """list on a new store says there are no runs yet."""
    code, out, _ = run_cli(capsys, "list", "--store", tmp_path / "runs.sqlite")
    assert code == 0 and "no runs yet" in out


def test_config_file_round_trip(capsys, tmp_path):
    """--save-config writes the run's config; --config reads it back unchanged, and flags
    given with --config override its fields."""
    store, first, second, third = (tmp_path / n for n in ("r.sqlite", "a.json", "b.json", "c.json"))
    code, _, _ = run_cli(
        capsys,
        "train",
        *TINY,
        "--aux",
        "bbox",
        "--aux-weight",
        "0.3",
        "--store",
        store,
        "--save-config",
        first,
    )
    assert code == 0
    saved = json.loads(first.read_text())
    with RunStore(store) as reader:
        assert reader.get_run(1)["config"] == saved
    assert saved["aux"] == ["bbox"] and saved["aux_weight"] == 0.3 and saved["width"] == 16

    code, _, _ = run_cli(
        capsys, "train", "--config", first, "--quiet", "--store", store, "--save-config", second
    )
    assert code == 0
    assert json.loads(second.read_text()) == saved

    code, _, _ = run_cli(
        capsys,
        "train",
        "--config",
        first,
        "--epochs",
        "2",
        "--quiet",
        "--store",
        store,
        "--save-config",
        third,
    )
    assert code == 0
    assert json.loads(third.read_text()) == {**saved, "epochs": 2}
    with RunStore(store) as reader:
        assert reader.last_epoch(3) == 2


def test_a_diverged_run_exits_1_with_its_status(capsys, tmp_path):
    """A run that diverges is reported with its status and message, exit status 1."""
    code, out, err = run_cli(
        capsys,
        "train",
        "--dataset",
        "digits",
        "--train-size",
        "100",
        "--optimizer",
        "sgd",
        "--lr",
        "3",
        "--width",
        "512",
        "--depth",
        "3",
        "--epochs",
        "8",
        "--quiet",
        "--store",
        tmp_path / "r.sqlite",
    )
    assert code == 1
    assert out.startswith("run 1: diverged (the loss became non-finite")
    assert "Traceback" not in err


@pytest.mark.slow
def test_ctrl_c_stops_a_cli_run_cleanly(tmp_path):
    """SIGINT during `train` ends the run as stopped, keeps its epochs, and exits 0."""
    store = tmp_path / "runs.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mtl_core",
            "train",
            *SMALL,
            "--epochs",
            "10000",
            "--quiet",
            "--store",
            str(store),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60

        def wait(predicate) -> None:
            while not predicate():
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "timed out waiting for the trainer"
                time.sleep(0.05)

        wait(store.exists)
        with RunStore(store) as reader:
            wait(lambda: len(reader.runs()) == 1 and reader.last_epoch(1) >= 2)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
            run = reader.get_run(1)
            last = reader.last_epoch(1)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert out.startswith("run 1: stopped (stopped by request")
    assert "Traceback" not in err
    assert run["status"] == "stopped" and 2 <= last < 10000
    assert run["summary"]["epochs_run"] == last
