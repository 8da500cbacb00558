"""Property tests (hypothesis) of the three ways a config comes in.

Entry points: command-line flags (``mtl_core.cli.main``), a JSON config (``--config`` and
``from_json``) and the dashboard's URL query parameters (``params_to_config``).

Invalid configs are generated one bad field at a time, mixed into an otherwise valid
config, so the field the error must name is known in advance; the tests of one bad field
are parametrized by field (40 examples each) so that every field gets its share. Valid
configs are drawn from the registries; they must round-trip through every form, and tiny
ones must train one epoch (marked slow: 200 trainings take about a minute on 2 cores).
Their draw rarely reaches some method cells (an aggregator, GradNorm) and trains one
epoch only: ``test_method_cells.py`` trains every valid (sharing, weighting, aggregator,
backbone, variant) cell for three epochs, and draws values inside each method cell.
Every test is derandomized (the same examples on every run), so CI stays stable.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mtl_core.cli.main import build_parser, config_from_args, main
from mtl_core.config import (
    AGGREGATORS,
    BACKBONES,
    DEFAULT,
    FIELDS,
    MIN_TRAIN_SIZE,
    OPTIMIZERS,
    SHARING_MODES,
    SOFT_PENALTIES,
    RunConfig,
    from_dict,
    from_json,
    trunk_layers,
    validate,
)
from mtl_core.dashboard.urlstate import (
    MAX_PARAM_LENGTH,
    NON_CONFIG_PARAMS,
    config_to_params,
    params_to_config,
)
from mtl_core.data.datasets import DATASETS
from mtl_core.data.tasks import TASKS, valid_tasks
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError
from mtl_core.methods import catalog
from mtl_core.methods.weighting import WEIGHTINGS
from mtl_core.training.trainer import train

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Tests parametrized by field: every field gets its share, not whatever the draw favours.
PER_FIELD = settings(PROPERTY, max_examples=40)
OFFLINE = ("mnist-5k", "digits")  # need no files: the datasets a test may train on
MAX_CAPACITY = max(spec.train_capacity for spec in DATASETS.values())
CHOICES = {
    "dataset": tuple(DATASETS),
    "variant": tuple(VARIANTS),
    **{kind: tuple(table) for kind, table in catalog.KINDS.items()},  # the declared methods
}
TINY_CAP = {"soft_lambda": 1000.0, "stitch_lr": 100.0, "momentum": 0.9}  # tiny: fast to train
FLAG = {name: "--" + name.replace("_", "-") for name in FIELDS} | {
    "task_sizes": "--task-size",
    "aux_weights": "--aux-weight",
    "task_weights": "--task-weight",
    "aux_shuffle": "--shuffle-aux",
}


# -- helpers ---------------------------------------------------------------------------------


def shown(name: str) -> str:
    """How an error names a key that does not print on one line: by its repr."""
    return name if name.isprintable() else repr(name)


def parses(kind: type, text: str) -> bool:
    try:
        kind(text)
    except ValueError:
        return False
    return True


def valid_device(text: str) -> bool:
    return text in ("cpu", "cuda") or re.fullmatch(r"cuda:[0-9]+", text) is not None


def number_text(value: int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def flag_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(value)
    return number_text(value) if isinstance(value, int | float) else str(value)


def assert_one_line_naming(error: ConfigError, field: str) -> None:
    message = str(error)
    assert error.field == field, message[:300]
    assert message.startswith(f"{field}: ")
    assert message.splitlines() == [message]


def refusal(load) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load()
    return info.value


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_cli_refused(code: int, out: str, err: str, field: str) -> None:
    assert (code, out) == (2, ""), err[:300]
    assert err.endswith("\n") and err[:-1].splitlines() == [err[:-1]], err[:300]
    assert err.startswith(f"error: {field}: "), err[:300]


@dataclass(frozen=True)
class Range:
    """The numbers a field accepts: [low, high], either end optionally open."""

    low: float
    high: float
    integer: bool = False
    low_open: bool = False
    high_open: bool = False

    def holds(self, x: int | float) -> bool:
        if isinstance(x, float) and not math.isfinite(x):
            return False
        if self.integer and x != int(x):
            return False
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below


def ranges(capacity: int) -> dict[str, Range]:
    """Each numeric field's accepted range (task_sizes etc.: the range of each value)."""
    whole = {"integer": True}
    return {
        "train_size": Range(MIN_TRAIN_SIZE, capacity, **whole),
        "task_sizes": Range(1, capacity, **whole),
        "affinity_every": Range(0, 10000, **whole),
        "aux_weight": Range(0, 1000),
        "aux_weights": Range(0, 1000),
        "task_weights": Range(0, 1000),
        "shuffle_aux": Range(0, 1),
        "aux_shuffle": Range(0, 1),
        # every declared hyperparameter, as methods/catalog.py declares it (shared_layers
        # also at most the trunk's layers)
        **{
            p.field: Range(
                p.low,
                p.high,
                integer=isinstance(getattr(DEFAULT, p.field), int),
                high_open=p.high_open,
            )
            for p in catalog.params()
        },
        "width": Range(1, 4096, **whole),
        "depth": Range(1, 8, **whole),
        "dropout": Range(0, 1, high_open=True),
        "lr": Range(0, 10, low_open=True),
        "weight_decay": Range(0, 10),
        "batch_size": Range(1, 65536, **whole),
        "epochs": Range(1, 10000, **whole),
        "early_stop": Range(0, 10000, **whole),
        "seed": Range(0, 2**31 - 1, **whole),
        "data_seed": Range(0, 2**31 - 1, **whole),
        "threads": Range(1, 256, **whole),
    }


# -- strategies: building blocks -------------------------------------------------------------

HUGE_TEXT = st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=4), st.integers(600, 5000))
GARBAGE_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "ten", "1,5", "0x10", "1e", "--1", "½", "1 000", "∞", "１e"]),
    HUGE_TEXT,
).filter(lambda s: not parses(float, s))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)
WRONG_TYPE = {
    "number": st.one_of(
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        GARBAGE_TEXT,
    ),
    "text": st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    "names": st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
        st.lists(st.one_of(st.integers(), st.none(), st.floats()), min_size=1, max_size=3),
    ),
    "mapping": st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=10),
        st.lists(st.integers(), max_size=3),
    ),
}
# Keys of every kind, often with characters that do not print (line breaks, controls).
KEY_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(
        lambda a, b, c: a + b + c,
        st.text(max_size=5),
        st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=3),
        st.text(max_size=5),
    ),
    HUGE_TEXT,
)
# A task name that the registry does not know, and that stays one name in a comma list.
UNKNOWN_NAME = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(["Digit", "digits", "parity2", "rotation", "ünïcode", "数字"]),
    HUGE_TEXT,
).filter(lambda s: "," not in s and s.strip() == s and s and s not in TASKS)


def floats(low: float, high: float, **kwargs: bool) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, **kwargs)


def out_of_range(rule: Range) -> st.SearchStrategy[int | float]:
    """Numbers the rule refuses: below, above, not finite, fractional, astronomically large."""
    options = [
        st.floats(max_value=rule.low),
        st.floats(min_value=rule.high),
        st.integers(max_value=math.floor(rule.low)),
        st.integers(min_value=math.ceil(rule.high)),
        st.sampled_from([math.nan, math.inf, -math.inf]),
        st.builds(
            lambda k, sign: sign * 10**k,
            st.one_of(st.sampled_from([309, 400]), st.integers(16, 400)),  # 309+: beyond floats
            st.sampled_from([1, -1]),
        ),
    ]
    if rule.integer:
        options.append(floats(rule.low, rule.high).filter(lambda x: not x.is_integer()))
    return st.one_of(options).filter(lambda x: not rule.holds(x))


def bad_number(rule: Range) -> st.SearchStrategy[Any]:
    """Any value a numeric field must refuse: a bad number, as a number or as text, or no number."""
    numbers = out_of_range(rule)
    return st.one_of(numbers, numbers.map(number_text), WRONG_TYPE["number"])


def unknown_choice(name: str) -> st.SearchStrategy[str]:
    typos = st.sampled_from(
        [
            "",
            " ",
            "CPU",
            "cuda:",
            "cuda:-1",
            "cuda: 1",
            "cuda:1.0",
            "cuda:١",
            "cuda:²",
            "mps",
            "Hard",
            "adam ",
            "cifar",
            "blurry",
            "l1",
            "rbf",
        ]
    )
    text = st.one_of(typos, st.text(max_size=20), HUGE_TEXT)
    if name == "device":
        return text.filter(lambda s: not valid_device(s))
    return text.filter(lambda s: s not in CHOICES[name])


# -- strategies: valid configs ---------------------------------------------------------------


@st.composite
def valid_dicts(draw, datasets: tuple[str, ...] = tuple(DATASETS), tiny: bool = False) -> dict:
    """A valid config as JSON-like data, drawn from the registries.

    ``tiny``: one epoch of at most 200 images through a network of width ≤ 32, with
    learning rates and weights in ranges where one epoch stays finite: a config to train.
    Fields equal to their default are sometimes left out, as a user would.
    """
    dataset = draw(st.sampled_from(datasets))
    spec = DATASETS[dataset]
    variant = draw(st.sampled_from(list(VARIANTS)))
    names = valid_tasks(spec.family, variant)
    count = draw(st.integers(1, min(len(names), 3 if tiny else len(names))))
    chosen = draw(st.permutations(names))[:count]
    n_main = draw(st.integers(1, count))
    tasks, aux = chosen[:n_main], chosen[n_main:]
    top = 200 if tiny else spec.train_capacity
    optimizer = draw(st.sampled_from(OPTIMIZERS))
    weight = floats(0, 10) if tiny else floats(0, 1000)
    # tiny: sgd at lr 0.0625 with momentum 0.75 and batches of one image diverged in one
    # epoch (a correct "diverged", not a bug), so tiny configs keep sgd's steps as adam's
    lr = floats(1e-4, 1e-2) if tiny else floats(0, 10, exclude_min=True)
    sharing = draw(st.sampled_from(SHARING_MODES if count >= 2 else ("single", "hard")))
    shared_trunk = sharing == "hard" and count >= 2  # what gradnorm and aggregators need
    weightings = [w for w in WEIGHTINGS if w != "gradnorm" or shared_trunk]
    weighting = draw(st.sampled_from(weightings))
    aggregator = "none"
    if shared_trunk and weighting in ("fixed", "equal"):
        aggregator = draw(st.sampled_from(AGGREGATORS))
    data = {
        "dataset": dataset,
        "variant": variant,
        "train_size": draw(st.integers(MIN_TRAIN_SIZE, top)),
        "task_sizes": draw(st.dictionaries(st.sampled_from(chosen), st.integers(1, top))),
        "tasks": tasks,
        "aux": aux,
        "aux_weight": draw(weight),
        "aux_weights": draw(st.dictionaries(st.sampled_from(aux), weight)) if aux else {},
        "shuffle_aux": draw(floats(0, 1)),
        "aux_shuffle": draw(st.dictionaries(st.sampled_from(aux), floats(0, 1))) if aux else {},
        "sharing": sharing,
        "soft_penalty": draw(st.sampled_from(SOFT_PENALTIES)),
        "weighting": weighting,
        "aggregator": aggregator,
        **{  # every declared hyperparameter, over its declared range
            p.field: draw(
                st.integers(int(p.low), int(p.high))
                if isinstance(getattr(DEFAULT, p.field), int)  # a whole-number field
                else floats(
                    p.low,
                    min(p.high, TINY_CAP.get(p.field, p.high)) if tiny else p.high,
                    exclude_max=p.high_open and not (tiny and p.field in TINY_CAP),
                )
            )
            for p in catalog.params()
        },
        "backbone": draw(st.sampled_from(BACKBONES)),
        "width": draw(st.integers(4, 32) if tiny else st.integers(1, 4096)),
        "depth": draw(st.integers(1, 2) if tiny else st.integers(1, 8)),
        "dropout": draw(floats(0, 0.5) if tiny else floats(0, 1, exclude_max=True)),
        "optimizer": optimizer,
        "lr": draw(lr),
        "weight_decay": draw(floats(0, 1e-2) if tiny else floats(0, 10)),
        "batch_size": draw(st.integers(1, 256) if tiny else st.integers(1, 65536)),
        "epochs": 1 if tiny else draw(st.integers(1, 10000)),
        "early_stop": draw(st.integers(0, 3) if tiny else st.integers(0, 10000)),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "data_seed": draw(st.integers(0, 1) if tiny else st.integers(0, 2**31 - 1)),
        "threads": 1 if tiny else draw(st.integers(1, 256)),
        "device": "cpu" if tiny else draw(st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:12"])),
    }
    if sharing == "hard":  # at most the trunk's layers; one at least for what needs sharing
        needs_one = weighting == "gradnorm" or aggregator != "none"
        top = trunk_layers(data["backbone"], data["depth"])
        data["shared_layers"] = draw(st.sampled_from([-1, *range(int(needs_one), top + 1)]))
    if draw(st.booleans()):
        default = DEFAULT.to_dict()
        data = {k: v for k, v in data.items() if v != default[k]}
    return data


def full_dict(data: dict) -> dict:
    """Every field of a (possibly partial) config dict."""
    return {**DEFAULT.to_dict(), **data}


# -- strategies: one bad field in a valid config ---------------------------------------------

BAD_FIELDS = [*FIELDS, "unknown field", "soft with one task"]


def bad_names(draw, role: str, full: dict, as_text: bool = False) -> Any:
    """A bad ``tasks`` or ``aux`` value: a list, comma text (always, ``as_text``) or other."""
    family = DATASETS[full["dataset"]].family
    fitting = [t for t in valid_tasks(family, full["variant"]) if t not in full["aux"]]
    if role == "aux":
        fitting = [t for t in valid_tasks(family, full["variant"]) if t not in full["tasks"]]
    unfit = [t for t in TASKS if t not in valid_tasks(family, full["variant"])]
    how = draw(st.sampled_from(["wrong type", "empty", "unknown", "unfit", "twice", "main"]))
    if role == "tasks" and how == "main":
        how = "unfit"
    if (role == "aux" and how == "empty") or (as_text and how == "wrong type"):
        how = "unknown"
    if how == "wrong type":
        return draw(WRONG_TYPE["names"])
    if how == "empty":
        return draw(st.sampled_from(["", " , ", ","] if as_text else [[], "", " , ", ","]))
    good = draw(st.lists(st.sampled_from(fitting), unique=True, max_size=2)) if fitting else []
    if how == "twice" and fitting:
        bad = [draw(st.sampled_from(fitting))] * 2
    elif how == "main":
        bad = [draw(st.sampled_from(full["tasks"]))]
    elif how == "unfit":
        bad = [draw(st.sampled_from(unfit))]
    else:
        bad = [draw(UNKNOWN_NAME)]
    names = [n for n in good if n not in bad]
    where = draw(st.integers(0, len(names)))
    names[where:where] = bad
    return ",".join(names) if as_text or draw(st.booleans()) else names


def allowed_keys(name: str, full: dict) -> list[str]:
    """The tasks a per-task mapping may name: every task's label budget, the main tasks'
    weights, the auxiliary tasks' weights and shuffles."""
    if name == "task_sizes":
        return list(full["tasks"]) + list(full["aux"])
    return list(full["tasks"]) if name == "task_weights" else list(full["aux"])


def bad_mapping(draw, name: str, full: dict, rule: Range) -> tuple[Any, str]:
    """A bad task_sizes / aux_weights / aux_shuffle / task_weights and the field its error
    must name."""
    allowed = allowed_keys(name, full)
    current = dict(full[name])
    how = draw(st.sampled_from(["wrong type", "key", "value", "not a number"]))
    if how == "wrong type":
        return draw(WRONG_TYPE["mapping"]), name
    if how == "key" or (how == "value" and not allowed):
        key = draw(st.one_of(st.sampled_from(list(TASKS)), KEY_TEXT))
        if key in allowed:
            key += "?"
        return {**current, key: 5 if name == "task_sizes" else 0.5}, name
    if how == "value":
        key = draw(st.sampled_from(allowed))
        return {**current, key: draw(out_of_range(rule))}, f"{name}.{key}"
    key = draw(st.one_of(st.sampled_from(list(TASKS)), KEY_TEXT))
    not_number = [st.none(), st.booleans(), GARBAGE_TEXT, st.lists(st.integers(), max_size=2)]
    if rule.integer:  # a whole number is required before the range is checked
        not_number.append(st.sampled_from([math.nan, math.inf, 2.5, "1.5", "nan"]))
    return {**current, key: draw(st.one_of(not_number))}, f"{name}.{shown(key)}"


def bad_value(draw, name: str, full: dict) -> tuple[Any, str]:
    """A value the field ``name`` must refuse in the context of ``full``; the field to name."""
    rule = ranges(DATASETS[full["dataset"]].train_capacity).get(name)
    if name in ("tasks", "aux"):
        return bad_names(draw, name, full), name
    if name in ("task_sizes", "aux_weights", "aux_shuffle", "task_weights"):
        return bad_mapping(draw, name, full, rule)
    if rule is not None:
        return draw(bad_number(rule)), name
    return draw(st.one_of(WRONG_TYPE["text"], unknown_choice(name))), name


def soft_with_one_task(full: dict) -> dict:
    main = full["tasks"][0]
    sizes = {k: v for k, v in full["task_sizes"].items() if k == main}
    return {
        "tasks": [main],
        "aux": [],
        "sharing": "soft",
        "task_sizes": sizes,
        "aux_weights": {},
        "aux_shuffle": {},
        "task_weights": {},
    }


@st.composite
def invalid_dicts(draw, name: str | None = None) -> tuple[dict, str]:
    """A valid config dict with exactly one bad field (``name``, or any), and the field
    the error must name."""
    base = draw(valid_dicts())
    full = full_dict(base)
    name = name or draw(st.sampled_from(BAD_FIELDS))
    if name == "unknown field":
        key = draw(KEY_TEXT.filter(lambda k: k not in FIELDS))
        return {**base, key: draw(JSON_VALUES)}, shown(key)
    if name == "soft with one task":
        return {**base, **soft_with_one_task(full)}, "sharing"
    value, field = bad_value(draw, name, full)
    return {**base, name: value}, field


def not_a_json_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except (ValueError, RecursionError):
        return True


@st.composite
def truncated_json(draw) -> str:
    text = json.dumps(draw(valid_dicts()))
    return text[: draw(st.integers(0, len(text) - 1))]


GARBAGE_JSON = st.one_of(
    st.text().filter(not_a_json_object),
    truncated_json(),
    JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    st.sampled_from(
        [
            "",
            "{",
            "{}}",
            "{'width': 3}",
            '{"width": 3,}',
            "NaN",
            "\ufeff{}",
            "[" * 100_000 + "]" * 100_000,  # nesting too deep for the parser
            '{"width": ' + "9" * 5000 + "}",  # more digits than Python converts
        ]
    ),
)


# -- 1. valid configs round-trip and train ---------------------------------------------------


def flags_for(data: dict) -> list[str]:
    """Command-line flags that set exactly the fields of ``data``."""
    flags = []
    for name, value in data.items():
        if isinstance(value, dict):
            flags += [f"{FLAG[name]}={k}={flag_value(v)}" for k, v in value.items()]
        else:
            flags.append(f"{FLAG[name]}={flag_value(value)}")
    return flags


@st.composite
def file_and_flags(draw, data: dict) -> tuple[dict, dict]:
    """Split a config between a JSON file and flags; mappings may be split entry by entry."""
    in_file, in_flags = {}, {}
    for name, value in data.items():
        if isinstance(value, dict) and draw(st.booleans()):
            keys = draw(st.sets(st.sampled_from(list(value)))) if value else set()
            in_file[name] = {k: v for k, v in value.items() if k in keys}
            in_flags[name] = {k: v for k, v in value.items() if k not in keys}
        elif draw(st.booleans()):
            in_file[name] = value
        else:
            in_flags[name] = value
    return in_file, in_flags


@PROPERTY
@given(data=valid_dicts(), split=st.data())
def test_valid_configs_round_trip_through_dict_json_url_and_cli(tmp_path, data, split):
    """Property: a valid config survives to_dict, JSON, URL parameters, flags and a file."""
    config = from_dict(data)
    validate(config)
    assert from_dict(config.to_dict()) == config
    assert from_json(config.to_json()) == config
    assert from_json(json.dumps(data)) == config
    assert params_to_config(config_to_params(config)) == (config, [])

    assert config_from_args(build_parser().parse_args(["train", *flags_for(data)])) == config
    in_file, in_flags = split.draw(file_and_flags(data))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(in_file))
    args = build_parser().parse_args(["train", f"--config={path}", *flags_for(in_flags)])
    assert config_from_args(args) == config


@pytest.mark.slow
@PROPERTY
@given(data=valid_dicts(datasets=OFFLINE, tiny=True))
def test_valid_tiny_configs_train_one_epoch(data):
    """Property: every valid tiny config trains one epoch: completed, finite losses."""
    config = from_dict(data)
    assert params_to_config(config_to_params(config)) == (config, [])
    event(f"{config.dataset} {config.variant} {config.backbone}")
    event(f"{config.sharing} sharing, {len(config.all_tasks)} tasks, {config.weighting}")
    result = train(config)
    assert result.status == "completed", result.message
    for task in config.all_tasks:
        for split in ("train", "val"):
            assert math.isfinite(result.value(1, task, split, "loss")), (task, split)
    losses = [v for _, _, _, metric, v in result.rows if metric == "loss"]
    assert losses and all(math.isfinite(v) for v in losses)


# -- 2. invalid configs: from_dict, from_json and a --config file ----------------------------


@pytest.mark.parametrize("name", BAD_FIELDS)
@PER_FIELD
@given(draw=st.data())
def test_from_dict_and_from_json_refuse_one_bad_field_in_one_line_naming_it(name, draw):
    """Property: one bad field among valid ones: ConfigError naming it, in one line."""
    data, field = draw.draw(invalid_dicts(name), label="data, field")
    assert_one_line_naming(refusal(lambda: from_dict(data)), field)
    assert_one_line_naming(refusal(lambda: from_json(json.dumps(data))), field)


@PROPERTY
@given(
    case=st.one_of(
        invalid_dicts().map(lambda case: (json.dumps(case[0]), case[1])),
        GARBAGE_JSON.map(lambda text: (text, "config")),
        st.builds(lambda a, b: (a + b"\xff" + b, "config"), st.binary(max_size=20), st.binary()),
    )
)
def test_json_configs_are_refused_in_one_line_by_from_json_and_the_cli(capsys, tmp_path, case):
    """Property: a bad JSON config (bad field, garbage, not UTF-8) is refused naming the field.

    ``from_json`` raises ConfigError; ``train --config FILE`` prints one line and exits 2.
    """
    content, field = case
    if isinstance(content, str):
        assert_one_line_naming(refusal(lambda: from_json(content)), field)
        content = content.encode()
    path = tmp_path / "config.json"
    path.write_bytes(content)
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(capsys, "train", f"--config={path}", f"--store={store}", "--quiet")
    assert_cli_refused(code, out, err, field)
    assert not store.exists()


@PROPERTY
@given(
    name=st.one_of(
        st.sampled_from(["a\x00b", "two\nlines", "\u2028", "n" * 300, "/"]),
        KEY_TEXT,
        st.text(min_size=1),
    ).filter(lambda n: n.strip("."))
)
def test_a_config_path_that_cannot_be_read_is_refused_in_one_line(capsys, tmp_path, name):
    """Property: `--config PATH` naming no readable file (any text: line breaks, NUL, too
    long, a directory) exits 2 with one line `error: config: …`."""
    store = tmp_path / "runs.sqlite"
    code, out, err = run_cli(capsys, "train", f"--config={tmp_path}/{name}", f"--store={store}")
    assert_cli_refused(code, out, err, "config")
    assert not store.exists()


# -- 3. invalid flags ------------------------------------------------------------------------


def bad_pair_flag(draw, name: str, full: dict, rule: Range) -> tuple[str, str]:
    """A bad ``--task-size`` / ``--aux-weight`` / ``--shuffle-aux`` value; the field to name."""
    flag_field = {
        "task_sizes": "task_sizes",
        "aux_weights": "aux_weight",
        "task_weights": "task_weights",
    }.get(name, "shuffle_aux")
    allowed = allowed_keys(name, full)
    kind = int if rule.integer else float
    key_text = st.text(max_size=12).filter(lambda k: "=" not in k)
    not_number = st.one_of(
        GARBAGE_TEXT, st.sampled_from(["1.5", "nan", "2e3"]) if rule.integer else st.nothing()
    ).filter(lambda s: not parses(kind, s))
    how = draw(st.sampled_from(["value", "key", "not a number", "no task"]))
    if how == "value" and allowed:
        key = draw(st.sampled_from(allowed))
        value = draw(out_of_range(rule).map(number_text).filter(lambda s: parses(kind, s)))
        return f"{key}={value}", f"{name}.{key}"
    if how in ("key", "value"):
        key = draw(key_text.filter(lambda k: k.strip() not in allowed))
        return f"{key}={'5' if rule.integer else '0.5'}", name
    if how == "not a number":
        return f"{draw(key_text)}={draw(not_number)}", flag_field
    # a bare number: --task-size and --task-weight need TASK=N; the others take it as the
    # shared value
    if name in ("task_sizes", "task_weights"):
        return draw(st.integers(1, 100).map(str) | not_number), flag_field
    shared = ranges(1)[flag_field]
    text = out_of_range(shared).map(number_text) | not_number
    return draw(text.filter(lambda s: "=" not in s)), flag_field


def bad_flag(draw, name: str, full: dict) -> tuple[list[str], str, set[str], set[str]]:
    """Flags that refuse ``name``; the field to name; the mapping keys and the fields of the
    valid config that the bad flag must not meet (a later flag would override it)."""
    rule = ranges(DATASETS[full["dataset"]].train_capacity).get(name)
    if name in ("task_sizes", "aux_weights", "aux_shuffle", "task_weights"):
        text, field = bad_pair_flag(draw, name, full, rule)
        key, sep, _ = text.partition("=")
        shared = {"aux_weights": "aux_weight", "aux_shuffle": "shuffle_aux"}.get(name)
        clash_fields = {shared} if shared and not sep else set()
        return [f"{FLAG[name]}={text}"], field, {key.strip()} if sep else set(), clash_fields
    if name in ("tasks", "aux"):
        return [f"{FLAG[name]}={bad_names(draw, name, full, as_text=True)}"], name, set(), set()
    if rule is not None:
        text = st.one_of(out_of_range(rule).map(number_text), GARBAGE_TEXT)
        if name == "train_size":
            text = text.filter(lambda s: s != "all")
        if name in ("aux_weight", "shuffle_aux"):  # TASK=W would set one task's value
            text = text.filter(lambda s: "=" not in s)
        return [f"{FLAG[name]}={draw(text)}"], name, set(), set()
    return [f"{FLAG[name]}={draw(unknown_choice(name))}"], name, set(), set()


@st.composite
def invalid_cli_cases(draw, name: str) -> tuple[dict, list[str], str]:
    """(JSON file content, flags, field): a valid tiny config split between a file and
    flags, with one bad value of field ``name``, in the file or in a flag."""
    base = draw(valid_dicts(tiny=True))
    full = full_dict(base)
    file_bad: dict = {}
    bad_flags: list[str] = []
    clash_keys: set[str] = set()
    clash_fields: set[str] = set()
    if name == "soft with one task":
        base, field = {**base, **soft_with_one_task(full)}, "sharing"
    elif draw(st.booleans()):
        file_bad[name], field = bad_value(draw, name, full)
        if isinstance(file_bad[name], dict):
            clash_keys = set(file_bad[name])
    else:
        bad_flags, field, clash_keys, clash_fields = bad_flag(draw, name, full)
    # The valid config keeps the bad field only as other entries of a mapping (flags and
    # file merge those); a value for the same key or field would override the bad one.
    if isinstance(base.get(name), dict):
        base[name] = {k: v for k, v in base[name].items() if k not in clash_keys}
    elif name in base and name != "soft with one task":
        del base[name]
    base = {k: v for k, v in base.items() if k not in clash_fields}
    in_file, in_flags = draw(file_and_flags(base))
    flags = draw(st.permutations([*flags_for(in_flags), *bad_flags]))
    return {**in_file, **file_bad}, flags, field


@pytest.mark.parametrize("name", [f for f in BAD_FIELDS if f != "unknown field"])
@PER_FIELD
@given(draw=st.data())
def test_cli_refuses_one_bad_value_in_one_line_naming_the_field(capsys, tmp_path, name, draw):
    """Property: `train` with one bad flag or file value exits 2 with `error: <field>: …`.

    (Unknown fields in a --config file: see the JSON test above.)"""
    file_data, flags, field = draw.draw(invalid_cli_cases(name), label="file, flags, field")
    store = tmp_path / "runs.sqlite"
    args = ["train", *flags, f"--store={store}", "--quiet"]
    if file_data:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(file_data))
        args.append(f"--config={path}")
    code, out, err = run_cli(capsys, *args)
    assert_cli_refused(code, out, err, field)
    assert not store.exists()


# -- 4. URL query parameters -----------------------------------------------------------------

PLAUSIBLE_PARAM = st.sampled_from(
    [
        "digits",
        "fashion-mnist",
        "multi",
        "rotated",
        "left,right",
        "digit",
        "digit,parity",
        "parity",
        "angle",
        "class",
        "soft",
        "single",
        "trace",
        "cnn",
        "sgd",
        "uncertainty",
        "0",
        "1",
        "5",
        "64",
        "0.5",
        "1e-3",
        "-1",
        "nan",
        "inf",
        "digit:50",
        "parity:2",
        "angle:0.5",
        "cuda",
        "cuda:1",
        "",
        "all",
    ]
)
PARAM_NAME = st.one_of(st.sampled_from([*FIELDS, *NON_CONFIG_PARAMS]), st.text(max_size=50))
UNKNOWN_NOTE = re.compile(r"ignored unknown URL parameter (.+)", re.DOTALL)
FIELD_NOTE = re.compile(r"ignored URL parameter '(\w+)'(: |$)")


def check_url_params(params: dict[str, str]) -> tuple[RunConfig, list[str]]:
    """The URL contract: never raise, return a valid config, one note per dropped parameter.

    A parameter without a note is in the config: the kept ones alone give the same config
    with no notes, and adding any kept one to the config's own parameters changes nothing.
    """
    config, notes = params_to_config(params)
    assert isinstance(config, RunConfig)
    validate(config)
    unknown, dropped = Counter(), Counter()
    for note in notes:
        assert note.splitlines() == [note], note[:300]
        if match := UNKNOWN_NOTE.fullmatch(note):
            unknown[ast.literal_eval(match[1])] += 1
        else:
            match = FIELD_NOTE.match(note)
            assert match, note[:300]
            dropped[match[1]] += 1
    assert unknown == Counter(
        k[:40] for k in params if k not in FIELDS and k not in NON_CONFIG_PARAMS
    )
    assert all(n == 1 and name in params for name, n in dropped.items()), dropped
    too_long = [k for k, v in params.items() if k in FIELDS and len(v) > MAX_PARAM_LENGTH]
    assert all(name in dropped for name in too_long), too_long
    kept = {k: v for k, v in params.items() if k in FIELDS and k not in dropped}
    assert params_to_config(kept) == (config, [])
    own = config_to_params(config)
    for name, text in kept.items():
        assert params_to_config({**own, name: text}) == (config, []), name
    return config, notes


@PROPERTY
@given(params=st.dictionaries(st.text(), st.text()))
def test_url_params_of_arbitrary_text_never_raise_and_note_every_drop(params):
    """Property: any dict of text gives a valid config and a note per dropped parameter."""
    check_url_params(params)


@PROPERTY
@given(
    params=st.dictionaries(
        PARAM_NAME, st.one_of(PLAUSIBLE_PARAM, st.text(max_size=20), HUGE_TEXT), max_size=12
    )
)
def test_url_params_mixing_fields_and_junk_note_every_drop(params):
    """Property: the same, with real field names and plausible values mixed with junk."""
    check_url_params(params)


def bad_url_text(draw, name: str, config: RunConfig) -> str:
    """Text that ``name`` refuses whatever the other fields (the field is at its default)."""
    if draw(st.integers(0, 9)) == 0:
        return draw(HUGE_TEXT.filter(lambda s: len(s) > MAX_PARAM_LENGTH))
    family = DATASETS[config.dataset].family
    unfit = [t for t in TASKS if t not in valid_tasks(family, config.variant)]
    if name in ("tasks", "aux"):
        bad = draw(st.one_of(UNKNOWN_NAME, st.sampled_from(unfit)))
        if name == "aux":
            bad = draw(st.sampled_from([bad, config.tasks[0]]))
        names = draw(st.lists(st.sampled_from(valid_tasks(family, config.variant)), max_size=2))
        where = draw(st.integers(0, len(names)))
        names[where:where] = [bad]
        text = ",".join(names)
        return text if name == "aux" else draw(st.sampled_from([text, "", " , ", "digit,digit"]))
    if name in ("task_sizes", "aux_weights", "aux_shuffle", "task_weights"):
        key = draw(st.sampled_from(list(TASKS)))
        rule = ranges(MAX_CAPACITY)[name]
        return draw(
            st.sampled_from(
                [
                    key,  # no number
                    f"{key}:{draw(GARBAGE_TEXT.filter(lambda s: ',' not in s))}",
                    f"nope:{'5' if rule.integer else '0.5'}",
                    f"{key}:{number_text(draw(out_of_range(rule)))}",
                ]
            )
        )
    rule = ranges(MAX_CAPACITY).get(name)  # out of range whatever the dataset
    if rule is not None:
        return draw(st.one_of(out_of_range(rule).map(number_text), GARBAGE_TEXT))
    return draw(unknown_choice(name))


# What the URL's one bad parameter is: a name no field has, or a bad value of one field.
# (A dataset or variant the default task does not fit is not bad: the link switches to a
# main task that fits, tests/test_links.py.)
URL_CASES = ["unknown name", *FIELDS]
# Fields whose validity depends on others: left out, the rest of a valid config stays valid.
DEPENDENT = {
    "dataset",
    "variant",
    "train_size",
    "tasks",
    "aux",
    "task_sizes",
    "aux_weights",
    "aux_shuffle",
    "task_weights",
    "sharing",
    "weighting",
    "aggregator",
    "backbone",  # and depth: they bound shared_layers
    "depth",
    "shared_layers",
}


@st.composite
def urls_with_one_bad_param(draw, case: str) -> tuple[dict[str, str], RunConfig, str]:
    """A valid config's URL parameters plus one bad one, at a random place: (params,
    the config, the start of the one note expected)."""
    if case == "unknown name":
        config = from_dict(draw(valid_dicts()))
        name = draw(KEY_TEXT.filter(lambda k: k not in FIELDS and k not in NON_CONFIG_PARAMS))
        text = draw(st.one_of(PLAUSIBLE_PARAM, st.text()))
        note = f"ignored unknown URL parameter {name[:40]!r}"
    else:  # a config that leaves the field at its default, and a bad value for it
        data = {k: v for k, v in draw(valid_dicts()).items() if k != case}
        try:
            config = from_dict(data)
        except ConfigError:
            config = from_dict({k: v for k, v in data.items() if k not in DEPENDENT})
        name, text = case, bad_url_text(draw, case, config)
        note = f"ignored URL parameter {name!r}"
    items = list(config_to_params(config).items())
    items.insert(draw(st.integers(0, len(items))), (name, text))
    return dict(items), config, note


@pytest.mark.parametrize("case", URL_CASES)
@PER_FIELD
@given(draw=st.data())
def test_one_bad_url_param_is_dropped_alone_with_one_note(case, draw):
    """Property: a valid URL plus one bad parameter gives the valid config and one note
    naming the bad parameter; the good parameters all stay."""
    params, config, note = draw.draw(urls_with_one_bad_param(case), label="params, config, note")
    result, notes = params_to_config(params)
    assert result == config
    assert len(notes) == 1 and notes[0].startswith(note), (notes, note)
    assert notes[0].splitlines() == [notes[0]]
