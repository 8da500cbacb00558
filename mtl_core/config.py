"""A run is a config: every field that changes a curve, validated in one place.

``RunConfig`` is frozen plain data. It round-trips through JSON (``to_dict`` /
``from_dict``) and so through files, URL query parameters and the run store.
``validate`` raises one ``ConfigError`` naming the first bad field and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from mtl_core.data.datasets import DATASETS, get_dataset
from mtl_core.data.tasks import TASKS, get_task
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from mtl_core.models.counting import trunk_layers  # no torch: plain arithmetic
from mtl_core.written import as_written

# The names each kind of method allows, from its declarations (mtl_core/methods/catalog.py).
SHARING_MODES = tuple(catalog.SHARING)
AGGREGATORS = tuple(catalog.AGGREGATORS)  # torchjd, on the shared trunk
SOFT_PENALTIES = tuple(catalog.PENALTIES)
BACKBONES = tuple(catalog.BACKBONES)
OPTIMIZERS = tuple(catalog.OPTIMIZERS)
WEIGHTINGS = tuple(catalog.WEIGHTINGS)
MIN_TRAIN_SIZE = 10


def declared_hyperparameters(cls: type) -> type:
    """Give ``cls`` a field per declared method hyperparameter, with its declared default
    (an int field when that is a whole number): a new method's hyperparameter needs no
    edit here, and configs saved before it existed read it with that default."""
    for param in catalog.params():
        if param.field in cls.__annotations__:
            raise TypeError(f"{param.field} is declared in the catalog: not in RunConfig too")
        kind = int if isinstance(param.default, int) else float
        cls.__annotations__[param.field] = kind.__name__
        setattr(cls, param.field, kind(param.default))
    return cls


@dataclass(frozen=True)
@declared_hyperparameters
class RunConfig:
    """Everything that changes a curve. Defaults: the dashboard's first-click setup.

    Every method hyperparameter (``soft_lambda``, ``shared_layers``, ``dwa_temperature``,
    ``momentum``, ...) is a field too, added with its default from its declaration in
    ``mtl_core/methods/`` (``declared_hyperparameters``).
    """

    dataset: str = "mnist-5k"
    variant: str = "plain"
    train_size: int = 200
    task_sizes: dict[str, int] = field(default_factory=dict)  # label budget per task
    tasks: tuple[str, ...] = ("digit",)  # main tasks: the summary is computed on these
    # A main task's loss weight under fixed weighting (linear scalarisation, docs/pareto.md);
    # a task not named weighs 1, so configs saved before the field keep their meaning.
    task_weights: dict[str, float] = field(default_factory=dict)
    aux: tuple[str, ...] = ()  # auxiliary tasks: they count in training only
    aux_weight: float = 1.0
    aux_weights: dict[str, float] = field(default_factory=dict)  # per-task override
    shuffle_aux: float = 0.0  # fraction of auxiliary targets permuted (Caruana's control)
    aux_shuffle: dict[str, float] = field(default_factory=dict)  # per-task override
    sharing: str = "hard"
    soft_penalty: str = "l2"
    weighting: str = "fixed"  # fixed | equal | uncertainty | dwa | gradnorm
    aggregator: str = "none"  # gradient aggregation on the shared trunk (hard sharing)
    backbone: str = "mlp"
    width: int = 256
    depth: int = 2
    dropout: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 60
    early_stop: int = 0  # patience in epochs; 0 = off
    # Inter-task affinity (TAG, training/affinity.py): measured every N steps of an epoch
    # in hard-sharing runs of two or more tasks; 0 = off. It changes no curve.
    affinity_every: int = 10
    seed: int = 0  # initial weights, batch order, dropout
    data_seed: int = 0  # split, subsample, variant draws
    threads: int = 1
    device: str = "cpu"

    def __post_init__(self) -> None:
        # Lists from callers become tuples, so equal configs compare equal.
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "aux", tuple(self.aux))

    @property
    def all_tasks(self) -> tuple[str, ...]:
        return self.tasks + self.aux

    def task_size(self, task: str) -> int:
        return self.task_sizes.get(task, self.train_size)

    def weight_of(self, task: str) -> float:
        if task in self.tasks:
            return self.task_weights.get(task, 1.0)
        return self.aux_weights.get(task, self.aux_weight)

    def shuffle_of(self, task: str) -> float:
        if task in self.tasks:
            return 0.0
        return self.aux_shuffle.get(task, self.shuffle_aux)

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["tasks"], out["aux"] = list(self.tasks), list(self.aux)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def replace(self, **changes: Any) -> RunConfig:
        return from_dict({**self.to_dict(), **changes})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        return from_dict(data)


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
# The fields that map task names to a value, and so follow the tasks when they change.
PER_TASK = ("task_sizes", "task_weights", "aux_weights", "aux_shuffle")
DEPTHS = (1, 8)  # dense layers in the trunk: the range a config and the sidebar allow
DEFAULT = RunConfig()
# Every field's range lies well within this: larger whole numbers are refused before
# they reach float() or math.isfinite (which raise OverflowError beyond ~1.8e308).
LARGEST_NUMBER = 2**53


def one_line(text: str) -> str:
    """``text`` as it may appear in a one-line message: its repr if it would not print."""
    return text if text.isprintable() else repr(text)


def _coerce(name: str, value: Any) -> Any:
    """Turn JSON-ish values (lists, numbers as text) into the field's type, or refuse."""
    default = getattr(DEFAULT, name)
    if isinstance(default, bool):
        raise AssertionError("no boolean fields")
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(name, f"expected a list of task names, got {value!r}")
        return tuple(value)
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise ConfigError(name, f"expected a mapping of task name to number, got {value!r}")
        kind = int if name == "task_sizes" else float
        return {str(k): _number(f"{name}.{one_line(str(k))}", v, kind) for k, v in value.items()}
    if isinstance(default, int):
        return _number(name, value, int)
    if isinstance(default, float):
        return _number(name, value, float)
    if not isinstance(value, str):
        raise ConfigError(name, f"expected text, got {value!r}")
    return value


def _number(name: str, value: Any, kind: type) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(name, f"expected a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ConfigError(name, f"expected a number, got {value!r}") from None
    if not isinstance(value, int | float):
        raise ConfigError(name, f"expected a number, got {value!r}")
    if isinstance(value, int) and abs(value) > LARGEST_NUMBER:
        digits = int(value.bit_length() * math.log10(2)) + 1
        raise ConfigError(name, f"far out of range: a number of about {digits} digits")
    if kind is int:
        if not math.isfinite(value) or value != int(value):
            raise ConfigError(name, f"expected a whole number, got {value!r}")
        return int(value)
    return float(value)


def coerce_field(name: str, value: Any) -> Any:
    """One field's value from JSON-like data, type-checked but not range-checked (a sweep
    file checks its values one by one before ``validate`` sees whole configs)."""
    if name not in FIELDS:
        raise ConfigError(one_line(str(name)), f"unknown field; known fields: {', '.join(FIELDS)}")
    return _coerce(name, value)


def from_dict(data: dict[str, Any]) -> RunConfig:
    """Build and validate a config from JSON-like data; unknown fields are refused."""
    if not isinstance(data, dict):
        raise ConfigError("config", "expected a JSON object of field names and values")
    unknown = sorted(str(k) for k in data if k not in FIELDS)
    if unknown:
        raise ConfigError(one_line(unknown[0]), f"unknown field; known fields: {', '.join(FIELDS)}")
    config = RunConfig(**{k: _coerce(k, v) for k, v in data.items()})
    validate(config)
    return config


def from_json(text: str) -> RunConfig:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError("config", f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):  # a number with too many digits; nesting too deep
        raise ConfigError("config", "not readable JSON (a number or nesting too large)") from None
    return from_dict(data)


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ConfigError(name, message)


def _in_range(name: str, value: float, low: float, high: float, what: str = "") -> None:
    ok = math.isfinite(value) and low <= value <= high
    _check(
        ok,
        name,
        f"must be between {as_written(low)} and {as_written(high)}{what}, got {as_written(value)}",
    )


def validate(config: RunConfig) -> None:
    """Raise ConfigError for the first invalid field; return None for a valid config."""
    _check(
        config.dataset in DATASETS,
        "dataset",
        f"unknown dataset {config.dataset!r}; allowed: {', '.join(DATASETS)}",
    )
    _check(
        config.variant in VARIANTS,
        "variant",
        f"unknown variant {config.variant!r}; allowed: {', '.join(VARIANTS)}",
    )
    spec = get_dataset(config.dataset)
    _check(len(config.tasks) > 0, "tasks", "name at least one main task")
    for role, names in (("tasks", config.tasks), ("aux", config.aux)):
        _check(
            len(set(names)) == len(names),
            role,
            f"a task is listed twice: {list(names)}",
        )
        for name in names:
            _check(name in TASKS, role, f"unknown task {name!r}; known: {', '.join(TASKS)}")
            task = get_task(name)
            _check(
                task.valid_on(spec.family, config.variant),
                role,
                f"task {name!r} does not fit dataset {config.dataset!r} with variant "
                f"{config.variant!r}; see `python -m mtl_core tasks`",
            )
    both = set(config.tasks) & set(config.aux)
    _check(not both, "aux", f"{sorted(both)} cannot be both main and auxiliary")
    capacity = spec.train_capacity
    _in_range(
        "train_size",
        config.train_size,
        MIN_TRAIN_SIZE,
        capacity,
        f" (the training split of {config.dataset})",
    )
    for name, size in config.task_sizes.items():
        _check(
            name in config.all_tasks,
            "task_sizes",
            f"{name!r} is not one of this run's tasks",
        )
        _in_range(f"task_sizes.{name}", size, 1, capacity)
    for label, mapping in (
        ("aux_weights", config.aux_weights),
        ("aux_shuffle", config.aux_shuffle),
    ):
        for name in mapping:
            _check(
                name in config.aux,
                label,
                f"{name!r} is not one of this run's auxiliary tasks",
            )
    for name, weight in config.aux_weights.items():
        _in_range(f"aux_weights.{name}", weight, 0, 1000)
    for name, weight in config.task_weights.items():
        _check(
            name in config.tasks,
            "task_weights",
            f"{name!r} is not one of this run's main tasks (auxiliary tasks take aux_weights)",
        )
        _in_range(f"task_weights.{name}", weight, 0, 1000)
    _check(
        any(config.weight_of(t) > 0 for t in config.tasks),
        "task_weights",
        "every main task weighs 0, so nothing trains them: give one a weight above 0",
    )
    for name, fraction in config.aux_shuffle.items():
        _in_range(f"aux_shuffle.{name}", fraction, 0, 1)
    _in_range("aux_weight", config.aux_weight, 0, 1000)
    _in_range("shuffle_aux", config.shuffle_aux, 0, 1)
    for kind, table in catalog.KINDS.items():  # every method named exists
        name = getattr(config, kind)
        what = kind.replace("_", " ").replace("sharing", "sharing mode")
        _check(name in table, kind, f"unknown {what} {name!r}; allowed: {', '.join(table)}")
    for param in catalog.params():  # and every hyperparameter is in its declared range
        value = getattr(config, param.field)
        ok = math.isfinite(value) and param.holds(value)
        words = "at least {} and below {}" if param.high_open else "between {} and {}"
        span = words.format(as_written(param.low), as_written(param.high))
        _check(ok, param.field, f"must be {span}, got {as_written(value)}")
    _check(
        config.sharing != "soft" or len(config.all_tasks) >= 2,
        "sharing",
        "soft sharing ties the trunks of two or more tasks; add a task or use single/hard",
    )
    _check(
        config.sharing != "cross-stitch" or len(config.all_tasks) >= 2,
        "sharing",
        "cross-stitch units mix the trunks of two or more tasks; add a task or use single/hard",
    )
    _check(
        config.weighting != "gradnorm" or (config.sharing == "hard" and len(config.all_tasks) >= 2),
        "weighting",
        "gradnorm balances gradients on a shared trunk: use sharing=hard with two or more tasks",
    )
    _check(
        config.aggregator == "none" or (config.sharing == "hard" and len(config.all_tasks) >= 2),
        "aggregator",
        f"{config.aggregator} combines task gradients on a shared trunk: use sharing=hard "
        "with two or more tasks, or aggregator=none",
    )
    _check(
        config.aggregator == "none" or config.weighting in ("fixed", "equal"),
        "aggregator",
        f"{config.aggregator} replaces the loss weighting; use weighting=fixed or equal with it",
    )
    _in_range("width", config.width, 1, 4096)
    _in_range("depth", config.depth, *DEPTHS)
    layers = trunk_layers(config.backbone, config.depth)
    _check(
        config.sharing != "hard" or config.shared_layers <= layers,
        "shared_layers",
        f"the {config.backbone} trunk of depth {config.depth} has {layers} layers; share at most "
        f"{layers} (or -1, all), got {config.shared_layers!r}",
    )
    nothing_shared = config.sharing == "hard" and config.shared_layers == 0
    _check(
        not nothing_shared or config.weighting != "gradnorm",
        "weighting",
        "gradnorm needs a shared layer, and shared_layers=0 shares none: share 1 or more",
    )
    _check(
        not nothing_shared or config.aggregator == "none",
        "aggregator",
        f"{config.aggregator} needs a shared layer, and shared_layers=0 shares none: "
        "share 1 or more, or use aggregator=none",
    )
    _check(
        0 <= config.dropout < 1,
        "dropout",
        f"must be in [0, 1), got {as_written(config.dropout)}",
    )
    _check(
        math.isfinite(config.lr) and 0 < config.lr <= 10,
        "lr",
        f"must be greater than 0 and at most 10, got {as_written(config.lr)}",
    )
    _in_range("weight_decay", config.weight_decay, 0, 10)
    _in_range("batch_size", config.batch_size, 1, 65536)
    _in_range("epochs", config.epochs, 1, 10000)
    _in_range("early_stop", config.early_stop, 0, 10000, " (0 turns it off)")
    _in_range("affinity_every", config.affinity_every, 0, 10000, " (0 turns it off)")
    _in_range("seed", config.seed, 0, 2**31 - 1)
    _in_range("data_seed", config.data_seed, 0, 2**31 - 1)
    _in_range("threads", config.threads, 1, 256)
    device_ok = (
        config.device == "cpu"
        or config.device == "cuda"
        or (
            config.device.startswith("cuda:")
            and config.device[5:].isascii()
            and config.device[5:].isdigit()
        )
    )
    _check(device_ok, "device", f"use cpu, cuda or cuda:N, got {config.device!r}")
