"""Export a stored run as one standalone PyTorch script that trains it again.

``python -m mtl_core export RUN --format script`` and the Live and History download
buttons write one readable file: the run's setup as constants at the top, its dataset's
loader, then the seeded streams, split, model, losses, sampling rule and training loop
written out (the ``parts_*`` modules). It imports only torch, numpy and the dataset's own
loader package, and ``python run.py`` writes ``curves.csv`` in the format of
``export --format csv`` whose numbers match the stored run's (tests/test_script_export.py).

The script covers the most common runs. Anything else is refused before a file is
written, with one line naming what is not exportable yet (``NotExportable``); the tables
below are the whole list of what exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtl_core.config import DEFAULT, FIELDS, RunConfig, from_dict
from mtl_core.data.datasets import get_dataset
from mtl_core.data.tasks import FASHION_GROUP_OF, LOOPS_OF_DIGIT, get_task
from mtl_core.data.variants import VARIANT_HELP
from mtl_core.errors import MtlError
from mtl_core.models.counting import image_shape, trunk_layers
from mtl_core.store.schema import LIVE, Status
from mtl_core.store.script import parts_data, parts_model, parts_training
from mtl_core.user_files import write_output

# task -> the class of each base label 0-9 (tests/test_script_export.py checks them
# against the task registry)
LABEL_TABLES: dict[str, tuple[int, ...]] = {
    "digit": tuple(range(10)),
    "parity": tuple(d % 2 for d in range(10)),
    "magnitude": tuple(int(d >= 5) for d in range(10)),
    "loops": LOOPS_OF_DIGIT,
    "class": tuple(range(10)),  # Fashion-MNIST
    "group": FASHION_GROUP_OF,
}
# The config fields a script reads, or that change no curve it writes (what the run only
# measured: affinity; where it trained). A field added later is refused when it is set.
KNOWN_FIELDS = frozenset(
    [
        "dataset",
        "variant",
        "train_size",
        "task_sizes",
        "tasks",
        "aux",
        "aux_weight",
        "aux_weights",
        "task_weights",
        "shuffle_aux",
        "aux_shuffle",
        "sharing",
        "shared_layers",
        "soft_penalty",
        "soft_lambda",
        "weighting",
        "dwa_temperature",
        "gradnorm_alpha",
        "aggregator",
        "cagrad_c",
        "nash_max_norm",
        "gradvac_beta",
        "fairgrad_alpha",
        "excess_step",
        "famo_lr",
        "famo_decay",
        "stitch_init",
        "stitch_lr",
        "backbone",
        "pieces",
        "width",
        "depth",
        "dropout",
        "optimizer",
        "lr",
        "momentum",
        "weight_decay",
        "batch_size",
        "epochs",
        "early_stop",
        "seed",
        "data_seed",
        "threads",
        "device",
        "affinity_every",
    ]
)
# Tasks whose target is a label the variant drew (the rotation angle; a multi image's two
# classes), and tasks whose target is a quantity of the image.
EXTRA_TASKS = ("angle", "left", "right")
IMAGE_TASKS = tuple(parts_data.TARGET_FUNCTIONS)
# config field -> the values a script covers
COVERED = {
    "variant": ("plain", *parts_data.VARIANTS),
    "backbone": tuple(parts_model.TRUNKS),
    "sharing": ("single", "hard", "soft"),
    "weighting": tuple(parts_training.WEIGHTINGS),
    "aggregator": ("none",),
    "optimizer": ("adam", "sgd"),
}
LINE_LENGTH = 100  # the script is laid out as ``ruff format`` lays out this project
PLACES = {"variant": "variant", "backbone": "backbone", "sharing": "sharing mode"}


class NotExportable(MtlError):
    """A run uses something the script does not cover yet; the message names it."""


def _names(values: tuple[str, ...] | list[str]) -> str:
    return ", ".join(values)


def refusal(config: RunConfig) -> str | None:
    """One line naming the first thing of ``config`` a script cannot train yet, or None."""
    for name in FIELDS:
        value = getattr(config, name)
        if name not in KNOWN_FIELDS and value != getattr(DEFAULT, name):
            return f"{name}={value!r} is not exportable yet: scripts do not know that field"
    if config.dataset not in parts_data.LOADERS:
        return (
            f"dataset {config.dataset!r} is not exportable yet: scripts load "
            f"{_names(list(parts_data.LOADERS))} (the datasets whose loader a script writes out)"
        )
    for field, covered in COVERED.items():
        value = getattr(config, field)
        if value not in covered:
            what = PLACES.get(field, field)
            return f"{what} {value!r} is not exportable yet: scripts cover {what} {_names(covered)}"
    for task in config.all_tasks:
        covered = [*LABEL_TABLES, *EXTRA_TASKS, *IMAGE_TASKS]
        if task not in covered:
            return f"task {task!r} is not exportable yet: scripts cover the tasks {_names(covered)}"
    return None


def _config_of(run: dict[str, Any]) -> RunConfig:
    config = from_dict(run["config"])
    reason = refusal(config)
    if reason is not None:
        raise NotExportable(f"run {run['id']}: {reason}")
    return config


def _method_lines(config: RunConfig) -> list[tuple[str, Any, str]]:
    """The constants of the run's backbone, sharing mode and weighting."""
    tasks = config.all_tasks
    hard = config.sharing == "hard"
    trunk_of = {t: ("shared" if hard else t) for t in tasks}
    groups: dict[tuple[str, bool], list[str]] = {}
    for t in tasks:
        groups.setdefault((trunk_of[t], get_task(t).masks_input), []).append(t)
    sharing = {
        "single": "single: a trunk per task",
        "hard": "hard: one shared trunk (or its first SHARED_LAYERS layers)",
        "soft": "soft: a trunk per task, tied by a penalty on their weights",
    }[config.sharing]
    lines: list[tuple[str, Any, str]] = [
        ("BACKBONE", config.backbone, ""),
        ("WIDTH", config.width, "units per dense layer"),
        ("DEPTH", config.depth, "dense layers in a trunk"),
    ]
    if config.backbone == "maxout":
        lines.append(("PIECES", config.pieces, "linear pieces per maxout unit"))
    lines += [
        ("DROPOUT", config.dropout, ""),
        ("SHARING", config.sharing, sharing),
        ("SHARED_LAYERS", config.shared_layers if hard else -1, "-1: all layers"),
        ("TRUNK_LAYERS", trunk_layers(config.backbone, config.depth), "layers in a trunk"),
        ("TRUNK_OF", trunk_of, "the trunk each task trains through"),
        ("GROUPS", groups, "(trunk, masked input) -> tasks: they share one forward pass"),
    ]
    if config.sharing == "soft":
        lines.append(("SOFT_PENALTY", config.soft_penalty, "l2 or trace"))
        lines.append(("SOFT_LAMBDA", config.soft_lambda, "the penalty's weight"))
    lines.append(("WEIGHTING", config.weighting, "how the task losses make one objective"))
    if config.weighting == "equal":
        lines.append(("LOSS_WEIGHTS", dict.fromkeys(tasks, 1.0), "equal: every task weighs 1"))
    elif config.weighting == "fixed":
        weights = {t: config.weight_of(t) for t in tasks}
        lines.append(("LOSS_WEIGHTS", weights, "1 for main tasks, the auxiliary weight for others"))
    elif config.weighting == "dwa":
        lines.append(("DWA_TEMPERATURE", config.dwa_temperature, "T"))
    return lines


def _setup(run: dict[str, Any], config: RunConfig) -> str:
    """The run's whole setup as constants, one per line, with what each one means."""
    spec = get_dataset(config.dataset)
    tasks = config.all_tasks
    tables = {t: LABEL_TABLES[t] for t in tasks if t in LABEL_TABLES}
    shape = image_shape(config.dataset)
    scales = {t: get_task(t).metric_scale for t in tasks if get_task(t).metric == "mae"}
    lines = [
        ("RUN_ID", run["id"], "the stored run this script repeats"),
        ("RUN_NAME", run["name"], ""),
        ("DATASET", config.dataset, spec.description),
        ("VARIANT", config.variant, VARIANT_HELP[config.variant]),
        ("VAL_SIZE", spec.val_size, "validation images, a stratified draw"),
        ("TEST_SIZE", spec.test_size, "test images, a stratified draw; 0: its own test set"),
        *_idx_lines(config),
        ("TASKS", config.tasks, "main tasks: early stopping and test scores follow them"),
        ("AUX", config.aux, "auxiliary tasks: they count in training only"),
        ("ALL_TASKS", tasks, ""),
        ("CLASS_OF_LABEL", tables, "each task's class of labels 0-9"),
        ("HEAD_SIZE", {t: get_task(t).out_dim(*shape) for t in tasks}, "outputs per task"),
        ("METRIC", {t: get_task(t).metric for t in tasks}, "accuracy, or mae for regression"),
        ("POOL", {t: config.task_size(t) for t in tasks}, "labelled training images per task"),
        ("METRIC_SCALE", scales, "regression tasks: their mae is in target units × this"),
        ("SHUFFLE", {t: config.shuffle_of(t) for t in tasks}, "fraction of targets permuted"),
        *_method_lines(config),
        ("OPTIMIZER", config.optimizer, ""),
        ("LR", config.lr, "learning rate"),
        ("MOMENTUM", config.momentum, "SGD only"),
        ("WEIGHT_DECAY", config.weight_decay, ""),
        ("BATCH_SIZE", config.batch_size, ""),
        ("EPOCHS", config.epochs, "an epoch is one pass over the main tasks' pool"),
        ("EARLY_STOP", config.early_stop, "patience in epochs; 0: off"),
        ("SEED", config.seed, "initial weights, batch order, dropout"),
        ("DATA_SEED", config.data_seed, "split, variant draws, label shuffle"),
        ("THREADS", config.threads, "torch threads: the run's own count"),
        ("EVAL_CHUNK", 4096, "images per forward pass when measuring"),
    ]
    out = ["", "# -- the run's setup " + "-" * 69, ""]
    for name, value, note in lines:
        if note:
            out.append(f"# {note}")
        out.append(_assignment(name, value))
    return "\n".join(out) + "\n"


def _idx_lines(config: RunConfig) -> list[tuple[str, Any, str]]:
    """Where an IDX dataset's files are: the folder this machine's runs read them from."""
    if parts_data.SOURCES[config.dataset] != parts_data.OWN_TEST:
        return []
    from mtl_core.data.download import find_idx_dir
    from mtl_core.paths import data_root

    folder = find_idx_dir(config.dataset) or data_root() / config.dataset
    return [("IDX_DIR", str(folder), "the IDX files (.gz or unpacked); else ./DATASET/")]


def _string(text: str) -> str:
    """A string literal in double quotes, or single ones when that needs fewer escapes."""
    quote = "'" if text.count('"') > text.count("'") else '"'
    out = []
    for char in text:
        if char in ("\\", quote):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:  # a newline, a control or format character: its escape
            out.append(repr(char)[1:-1])
    return quote + "".join(out) + quote


def _literal(value: Any) -> str:
    """Python source for a constant, in the layout ``ruff format`` gives it."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(map(_literal, value)) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(map(_literal, value)) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


def _assignment(name: str, value: Any) -> str:
    """``NAME = value``; a mapping or sequence too long for one line gets a line per item."""
    line = f"{name} = {_literal(value)}"
    if len(line) <= LINE_LENGTH or not isinstance(value, dict | list | tuple) or not value:
        return line
    if isinstance(value, dict):
        items = [f"{_literal(k)}: {_literal(v)}" for k, v in value.items()]
        ends = "{}"
    else:
        items = [_literal(v) for v in value]
        ends = "[]" if isinstance(value, list) else "()"
    body = "".join(f"    {item},\n" for item in items)
    return f"{name} = {ends[0]}\n{body}{ends[1]}"


def script_text(run: dict[str, Any], file_name: str = "run.py") -> str:
    """The script of a stored run (``run``: a record from ``get_run``)."""
    config = _config_of(run)
    package, import_line, loader = parts_data.LOADERS[config.dataset]
    source = parts_data.SOURCES[config.dataset]
    note = ""
    if config.device != "cpu":
        note = (
            f"\nThe stored run trained on {config.device}: on the CPU its numbers differ a little."
        )
    status = run.get("status", Status.COMPLETED)
    if status in LIVE:
        note += f"\nThe stored run was still {status} when this script was written."
    elif status != Status.COMPLETED:
        note += f"\nThe stored run ended {status}; the script trains the epochs it planned."
    name = "".join(c if c.isprintable() else " " for c in run["name"])
    name = name.replace("\\", "/").replace('"', "'")  # safe inside the docstring
    header = parts_data.HEADER.format(
        title=f"Run {run['id']} of mtl-curves: {name}",
        run_id=run["id"],
        file_name=file_name,
        loader_package=package,
        threads=config.threads,
        note=note,
        loader_import=import_line + "\n" if import_line else "",
        stdlib_import="import gzip\n" if source == parts_data.OWN_TEST else "",
    )
    # One blank line after the imports (as isort puts it before a comment), two elsewhere.
    return header.strip("\n") + "\n\n" + _joined([_setup(run, config), loader, *_body(config)])


def _joined(parts: list[str]) -> str:
    """The parts with two blank lines between them, as between top-level definitions."""
    return "\n\n\n".join(part.strip("\n") for part in parts if part.strip()) + "\n"


def _body(config: RunConfig) -> list[str]:
    """The code after the setup: only the parts this run needs."""
    variant = config.variant != "plain"
    penalty = ""
    if config.sharing == "soft" and config.soft_lambda > 0:
        penalty = (
            "\n            objective = objective + SOFT_LAMBDA * penalty(model)  # soft sharing"
        )
    data = parts_data.DATA.replace("{variant}", parts_data.APPLY_VARIANT if variant else "")
    load_line, test_part = parts_data.SOURCES[config.dataset]
    data = data.replace("{load_line}", load_line).replace("{test_part}", test_part)
    tasks = config.all_tasks
    image_tasks = [t for t in IMAGE_TASKS if t in tasks]
    masked = any(get_task(t).masks_input for t in tasks)
    data = data.replace("{masked}", parts_data.MASKED_INPUT if masked else "")
    if all(t in LABEL_TABLES for t in tasks):
        target, targets = parts_data.LABEL_TARGET, []
    elif all(t in ("left", "right") for t in tasks):
        target, targets = parts_data.EXTRA_TARGET, []
    else:
        target = parts_data.TARGET_OF.replace("{extras}", "extras" if variant else "{}")
        targets = [parts_data.TARGET_FUNCTIONS[t] for t in image_tasks]
        targets.append(parts_data.target_dispatch(image_tasks))
    parts = [
        parts_data.SEEDS,
        parts_data.SPLIT,
        parts_data.VARIANTS.get(config.variant, ""),
        *targets,
        data.replace("{target}", target),
        parts_model.LAYERS,
        parts_model.MAX_PIECES if config.backbone == "maxout" else "",
        parts_model.TRUNKS[config.backbone],
        parts_model.NET,
        parts_model.PENALTIES[config.soft_penalty] if config.sharing == "soft" else "",
        parts_training.WEIGHTINGS[config.weighting],
        parts_training.MEASURE,
        parts_training.SAMPLING,
        parts_training.MAIN.replace("{penalty}", penalty),
    ]
    return parts


def write_script(store: Any, run_id: int, out_path: str | Path) -> Path:
    """Write the script of run ``run_id`` of ``store`` to ``out_path``; the CLI's handler."""
    text = script_text(store.get_run(run_id), Path(out_path).name)
    return write_output(out_path, text)
