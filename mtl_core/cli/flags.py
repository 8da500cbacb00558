"""The flags that describe a run, shared by every CLI verb that trains (train, seeds,
compare, learning-curve, sweep), and the config they give.

The method flags (sharing, weighting, aggregator, ... and each one's hyperparameters) come
from the declarations in ``mtl_core/methods/catalog.py``, with their help and ranges.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mtl_core.config import DEFAULT, RunConfig, from_dict, one_line
from mtl_core.data.datasets import DATASETS, get_dataset
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from mtl_core.user_files import read_text
from mtl_core.written import as_written

# flag -> config field, for flags whose value goes straight into the config
_SIMPLE = [
    "dataset",
    "variant",
    "tasks",
    "aux",
    "sharing",
    "soft_penalty",
    "soft_lambda",
    "weighting",
    "dwa_temperature",
    "gradnorm_alpha",
    "aggregator",
    "cagrad_c",
    "stitch_init",
    "stitch_lr",
    "backbone",
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
    "affinity_every",
    "seed",
    "data_seed",
    "threads",
    "device",
]


def _add_method_flags(p: argparse.ArgumentParser) -> None:
    """A flag per kind of method and per declared hyperparameter (methods/catalog.py)."""
    for kind, table in catalog.KINDS.items():
        lines = "; ".join(m.describe() for m in table.values())
        default = getattr(DEFAULT, kind)
        p.add_argument("--" + kind.replace("_", "-"), help=f"{lines} (default {default})")
    for param in catalog.params():
        default = getattr(DEFAULT, param.field)
        span = (
            f"{as_written(param.low)} to {'below ' if param.high_open else ''}"
            f"{as_written(param.high)}"
        )
        p.add_argument(param.flag, help=f"{param.help} ({span}; default {as_written(default)})")


def add_train_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="start from this JSON config (flags override it)")
    p.add_argument("--save-config", metavar="PATH", help="write the final config as JSON")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (default {DEFAULT.dataset})")
    p.add_argument("--variant", help=f"one of {', '.join(VARIANTS)} (default {DEFAULT.variant})")
    p.add_argument("--data-dir", help="folder holding IDX files for mnist / fashion-mnist")
    p.add_argument("--train-size", help=f"training images, or 'all' (default {DEFAULT.train_size})")
    p.add_argument(
        "--task-size",
        action="append",
        default=[],
        metavar="TASK=N",
        help="label budget of one task (repeatable; default: the train size)",
    )
    p.add_argument("--tasks", help="comma-separated main tasks (default digit)")
    p.add_argument("--aux", help="comma-separated auxiliary tasks (default none)")
    p.add_argument(
        "--task-weight",
        action="append",
        default=[],
        metavar="TASK=W",
        help="loss weight of one main task under fixed weighting, 0 to 1000 (repeatable; "
        "default 1): linear scalarisation, as the pareto study sweeps it",
    )
    p.add_argument(
        "--aux-weight",
        action="append",
        default=[],
        metavar="W|TASK=W",
        help="weight of every auxiliary task, or of one (repeatable; default 1)",
    )
    p.add_argument(
        "--shuffle-aux",
        action="append",
        default=[],
        metavar="F|TASK=F",
        help="fraction of auxiliary targets to permute: the shuffled control",
    )
    _add_method_flags(p)
    for name in (
        "width",
        "depth",
        "dropout",
        "lr",
        "weight_decay",
        "batch_size",
        "epochs",
        "seed",
        "data_seed",
        "threads",
        "device",
    ):
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, help=f"default {getattr(DEFAULT, name)}")
    p.add_argument(
        "--early-stop",
        metavar="PATIENCE",
        help="stop after this many epochs "
        "without a better validation loss and restore the best weights (default off)",
    )
    p.add_argument(
        "--affinity-every",
        metavar="STEPS",
        help="measure inter-task affinity (TAG) every this many steps of an epoch, in "
        f"hard-sharing runs of two or more tasks (default {DEFAULT.affinity_every}; 0 is off)",
    )
    p.add_argument(
        "--no-affinity",
        action="store_true",
        help="do not measure inter-task affinity (the same as --affinity-every 0)",
    )
    p.add_argument("--store", help="SQLite run store (default data/runs.sqlite)")
    p.add_argument("--name", default="", help="a name for the run")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _pairs(values: list[str], flag: str, kind: type) -> tuple[Any, dict[str, Any]]:
    """``W`` sets the shared value; ``TASK=W`` one task's. Returns (shared, per-task)."""
    shared, per_task = None, {}
    for value in values:
        key, sep, number = value.partition("=")
        try:
            if sep:
                per_task[key.strip()] = kind(number)
            else:
                shared = kind(key)
        except ValueError:
            raise ConfigError(flag, f"expected a number or TASK=number, got {value!r}") from None
    return shared, per_task


def _mapping(data: dict[str, Any], name: str) -> dict[str, Any]:
    """The config file's per-task values of ``name``, which flags add to: a mapping, or refused."""
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(name, f"expected a mapping of task name to number, got {value!r}")
    return value


def config_from_args(args: argparse.Namespace) -> RunConfig:
    data: dict[str, Any] = {}
    if args.config:
        where = one_line(args.config)
        text = read_text(args.config, "config")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                "config", f"{where} is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        except (ValueError, RecursionError):  # too many digits; nesting too deep
            raise ConfigError(
                "config", f"{where} is not readable JSON (a number or nesting too large)"
            ) from None
        if not isinstance(data, dict):
            raise ConfigError("config", f"{where} must hold a JSON object of config fields")
    for name in dict.fromkeys([*_SIMPLE, *(p.field for p in catalog.params())]):
        value = getattr(args, name)  # the declared hyperparameters' flags too
        if value is not None:
            data[name] = value
    if getattr(args, "no_affinity", False):
        if args.affinity_every not in (None, "0"):
            raise ConfigError(
                "affinity_every", "--no-affinity turns affinity off: drop --affinity-every"
            )
        data["affinity_every"] = 0
    dataset = data.get("dataset", DEFAULT.dataset)
    if args.train_size is not None:
        if args.train_size == "all":
            data["train_size"] = get_dataset(str(dataset)).train_capacity
        else:
            data["train_size"] = args.train_size
    shared_size, sizes = _pairs(args.task_size, "task_sizes", int)
    if shared_size is not None:
        raise ConfigError(
            "task_sizes",
            f"--task-size takes TASK=N, got {shared_size}; --train-size sets every task's size",
        )
    if sizes:
        data["task_sizes"] = {**_mapping(data, "task_sizes"), **sizes}
    shared_weight, weights = _pairs(args.task_weight, "task_weights", float)
    if shared_weight is not None:
        raise ConfigError(
            "task_weights",
            f"--task-weight takes TASK=W, got {shared_weight:g}; name the main task it weighs",
        )
    if weights:
        data["task_weights"] = {**_mapping(data, "task_weights"), **weights}
    for flag, shared_key, per_key, kind in (
        ("aux_weight", "aux_weight", "aux_weights", float),
        ("shuffle_aux", "shuffle_aux", "aux_shuffle", float),
    ):
        shared, per_task = _pairs(getattr(args, flag), flag, kind)
        if shared is not None:
            data[shared_key] = shared
        if per_task:
            data[per_key] = {**_mapping(data, per_key), **per_task}
    return from_dict(data)
