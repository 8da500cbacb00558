"""Config: JSON round trips, unknown fields refused, every error names its field."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtl_core.config import DEFAULT, FIELDS, RunConfig, from_dict, from_json, validate
from mtl_core.errors import ConfigError

NON_DEFAULT = {
    "affinity_every": 5,
    "dataset": "digits",
    "variant": "rotated",
    "train_size": 123,
    "task_sizes": {"digit": 50, "angle": 400},
    "tasks": ["digit", "bbox"],
    "task_weights": {"bbox": 0.25},
    "aux": ["angle", "parity"],
    "aux_weight": 0.5,
    "aux_weights": {"parity": 2.0},
    "shuffle_aux": 0.25,
    "aux_shuffle": {"angle": 1.0},
    "sharing": "soft",
    "soft_penalty": "trace",
    "soft_lambda": 0.1,
    "weighting": "uncertainty",
    "dwa_temperature": 3.0,
    "gradnorm_alpha": 0.5,
    "cagrad_c": 0.2,
    "nash_max_norm": 0.0,
    "gradvac_beta": 0.1,
    "fairgrad_alpha": 2.0,
    "excess_step": 0.5,
    "famo_lr": 0.05,
    "famo_decay": 0.001,
    "stitch_init": 0.8,
    "stitch_lr": 2.0,
    "backbone": "cnn",
    "pieces": 3,  # maxout's; kept (and unused) with another backbone
    "shared_layers": 1,  # hard sharing's; kept (and unused) with another mode
    "width": 48,
    "depth": 3,
    "dropout": 0.2,
    "optimizer": "sgd",
    "lr": 0.05,
    "momentum": 0.5,
    "weight_decay": 1e-4,
    "batch_size": 64,
    "epochs": 7,
    "early_stop": 4,
    "seed": 11,
    "data_seed": 12,
    "threads": 2,
    "device": "cuda:1",  # valid as config; only training needs the device
}


def refused(data: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        from_dict(data)
    return info.value


# An aggregator needs hard sharing (the default), so it gets an example of its own.
AGGREGATED = {"aux": ["parity"], "aggregator": "upgrad", "weighting": "equal"}


def test_non_default_examples_set_every_field():
    """The round-trip examples below really exercise every field, none left at its default."""
    assert set(NON_DEFAULT) | set(AGGREGATED) == set(FIELDS)
    for example in (NON_DEFAULT, AGGREGATED):
        config = from_dict(example)
        for name in example:
            assert getattr(config, name) != getattr(DEFAULT, name), name


def test_dict_and_json_round_trip():
    """to_dict/from_dict and to_json/from_json give back an equal config, through real JSON."""
    config = from_dict(NON_DEFAULT)
    assert from_dict(config.to_dict()) == config
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert from_json(config.to_json()) == config
    assert json.loads(config.to_json()) == {**json.loads(DEFAULT.to_json()), **NON_DEFAULT}
    aggregated = from_dict(AGGREGATED)
    assert from_json(aggregated.to_json()) == aggregated


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"aggregator": "mgda"}, "aggregator", "two or more tasks"),
        ({"aux": ["parity"], "sharing": "soft", "aggregator": "pcgrad"}, "aggregator", "hard"),
        (
            {"aux": ["parity"], "aggregator": "upgrad", "weighting": "dwa"},
            "aggregator",
            "fixed or equal",
        ),
        (
            {"aux": ["parity"], "weighting": "gradnorm", "sharing": "single"},
            "weighting",
            "sharing=hard",
        ),
        ({"sharing": "cross-stitch"}, "sharing", "two or more tasks"),
        ({"aggregator": "gradnorm"}, "aggregator", "mgda, pcgrad, upgrad, cagrad"),
        ({"stitch_init": 1.5}, "stitch_init", "between 0 and 1"),
    ],
)
def test_method_combinations_that_cannot_work_are_refused_naming_why(data, field, words):
    """Aggregators and GradNorm need a shared trunk; cross-stitch needs two tasks."""
    error = refused(data)
    assert error.field == field and words in str(error), str(error)


def test_default_config_is_valid_and_round_trips():
    """The default config validates and survives JSON."""
    validate(DEFAULT)
    assert from_json(DEFAULT.to_json()) == DEFAULT


def test_replace_changes_one_field_and_validates():
    """replace() keeps the other fields and refuses an invalid change."""
    config = from_dict(NON_DEFAULT)
    changed = config.replace(width=64)
    assert changed.width == 64
    assert changed.replace(width=48) == config
    with pytest.raises(ConfigError) as info:
        config.replace(width=0)
    assert info.value.field == "width"


def test_text_values_are_coerced_to_the_field_types():
    """Numbers as text and comma-separated task lists (as in URL query strings) are accepted."""
    config = from_dict(
        {"width": "64", "lr": "0.01", "tasks": "digit, parity", "task_sizes": {"digit": "100"}}
    )
    assert config.width == 64 and isinstance(config.width, int)
    assert config.lr == 0.01
    assert config.tasks == ("digit", "parity")
    assert config.task_sizes == {"digit": 100}
    assert from_dict({"epochs": 5.0}).epochs == 5


@pytest.mark.parametrize("name", ["widht", "learning_rate", "Tasks"])
def test_unknown_fields_are_refused(name):
    """A misspelt or unknown field is named in the error, never silently ignored."""
    error = refused({"width": 32, name: 1})
    assert error.field == name
    assert str(error).startswith(f"{name}: unknown field")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("width", "wide"),
        ("width", 1.5),
        ("width", True),
        ("width", None),
        ("epochs", float("inf")),
        ("lr", "fast"),
        ("lr", [0.1]),
        ("dropout", {"p": 0.1}),
        ("tasks", 5),
        ("tasks", [1, 2]),
        ("aux", {"parity": 1}),
        ("dataset", 3),
        ("device", None),
        ("task_sizes", [100]),
        ("task_sizes.digit", "many"),
        ("aux_weights.parity", True),
        ("task_weights", [0.5]),
        ("task_weights.digit", "heavy"),
    ],
)
def test_type_errors_name_the_field(field, value):
    """A value of the wrong type raises ConfigError whose message starts with the field."""
    if "." in field:
        outer, key = field.split(".")
        data = {"aux": ["parity"], outer: {key: value}}
    else:
        data = {field: value}
    error = refused(data)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dataset": "cifar"}, "dataset"),
        ({"variant": "blurry"}, "variant"),
        ({"tasks": []}, "tasks"),
        ({"tasks": ["nope"]}, "tasks"),
        ({"aux": ["nope"]}, "aux"),
        ({"tasks": ["digit", "digit"]}, "tasks"),
        ({"aux": ["digit"]}, "aux"),
        ({"tasks": ["class"]}, "tasks"),
        ({"aux": ["angle"]}, "aux"),
        ({"train_size": 3001}, "train_size"),
        ({"train_size": 5}, "train_size"),
        ({"task_sizes": {"parity": 10}}, "task_sizes"),
        ({"task_sizes": {"digit": 0}}, "task_sizes.digit"),
        ({"task_sizes": {"digit": 3001}}, "task_sizes.digit"),
        ({"aux_weights": {"digit": 1.0}}, "aux_weights"),
        ({"aux": ["parity"], "aux_weights": {"parity": -1}}, "aux_weights.parity"),
        ({"aux": ["parity"], "task_weights": {"parity": 1.0}}, "task_weights"),
        ({"task_weights": {"nope": 1.0}}, "task_weights"),
        ({"task_weights": {"digit": -0.1}}, "task_weights.digit"),
        ({"task_weights": {"digit": 1001}}, "task_weights.digit"),
        ({"task_weights": {"digit": float("nan")}}, "task_weights.digit"),
        ({"tasks": ["digit", "parity"], "task_weights": {"digit": 0, "parity": 0}}, "task_weights"),
        ({"aux": ["parity"], "aux_shuffle": {"parity": 1.5}}, "aux_shuffle.parity"),
        ({"aux_weight": -0.5}, "aux_weight"),
        ({"shuffle_aux": 2}, "shuffle_aux"),
        ({"sharing": "medium"}, "sharing"),
        ({"sharing": "soft"}, "sharing"),
        ({"soft_penalty": "l1"}, "soft_penalty"),
        ({"soft_lambda": -1}, "soft_lambda"),
        ({"weighting": "magic"}, "weighting"),
        ({"backbone": "resnet"}, "backbone"),
        ({"width": 0}, "width"),
        ({"depth": 9}, "depth"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": float("nan")}, "dropout"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"lr": 0}, "lr"),
        ({"lr": -0.1}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"early_stop": -1}, "early_stop"),
        ({"seed": -1}, "seed"),
        ({"data_seed": 2**31}, "data_seed"),
        ({"threads": 0}, "threads"),
        ({"device": "tpu"}, "device"),
    ],
)
def test_invalid_values_name_the_field(changes, field):
    """Each invalid value is refused by validate with a one-line message naming its field."""
    error = refused(changes)
    assert error.field == field
    assert str(error).startswith(f"{field}: ")
    assert "\n" not in str(error)


def test_validate_refuses_a_directly_built_config():
    """validate() checks configs built without from_dict too."""
    with pytest.raises(ConfigError) as info:
        validate(RunConfig(epochs=0))
    assert info.value.field == "epochs"


def test_defaults_and_overrides_of_per_task_values():
    """Main tasks weigh 1 and are never shuffled; aux tasks use the shared value or an override."""
    config = from_dict(
        {
            "dataset": "digits",
            "tasks": ["digit"],
            "aux": ["parity", "magnitude"],
            "train_size": 100,
            "task_sizes": {"parity": 1000},
            "aux_weight": 0.3,
            "aux_weights": {"magnitude": 2.0},
            "shuffle_aux": 0.5,
            "aux_shuffle": {"parity": 1.0},
        }
    )
    assert config.all_tasks == ("digit", "parity", "magnitude")
    assert [config.task_size(t) for t in config.all_tasks] == [100, 1000, 100]
    assert [config.weight_of(t) for t in config.all_tasks] == [1.0, 0.3, 2.0]
    assert [config.shuffle_of(t) for t in config.all_tasks] == [0.0, 1.0, 0.5]


def test_main_task_weights_default_to_one_and_override_per_task():
    """A main task not named in task_weights weighs 1 (so configs saved before the field
    keep their meaning); a named one weighs its value, 0 included; auxiliary weights stay."""
    config = from_dict(
        {
            "dataset": "digits",
            "tasks": ["digit", "parity"],
            "aux": ["magnitude"],
            "aux_weight": 0.3,
            "task_weights": {"parity": 0.0},
        }
    )
    assert [config.weight_of(t) for t in config.all_tasks] == [1.0, 0.0, 0.3]
    assert from_dict({"tasks": ["digit", "parity"]}).weight_of("parity") == 1.0
    weighted = from_dict({"tasks": ["digit", "parity"], "task_weights": {"digit": 0.7}})
    assert from_json(weighted.to_json()) == weighted


@given(st.integers(min_value=-10, max_value=10_000))
def test_width_is_accepted_exactly_in_its_range(width):
    """Property: any integer width is accepted iff it lies in [1, 4096], else 'width' is named."""
    try:
        config = from_dict({"width": width})
    except ConfigError as error:
        assert not 1 <= width <= 4096
        assert error.field == "width"
    else:
        assert 1 <= width <= 4096 and config.width == width


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_lr_is_accepted_exactly_when_positive_finite_and_at_most_10(lr):
    """Property: lr is accepted iff 0 < lr <= 10; otherwise the error names 'lr'."""
    try:
        config = from_dict({"lr": lr})
    except ConfigError as error:
        assert not 0 < lr <= 10
        assert error.field == "lr"
    else:
        assert 0 < lr <= 10 and config.lr == lr


def test_configs_saved_by_earlier_code_load_with_their_meaning():
    """Stored runs, links and sweep files keep working: every config saved before the
    refactor into layers (tests/golden/saved_configs.json) loads and saves back unchanged,
    and a config written before a field existed reads that field's default."""
    import json
    from pathlib import Path

    from mtl_core.config import DEFAULT, from_dict

    saved = json.loads((Path(__file__).parent / "golden" / "saved_configs.json").read_text())
    assert len(saved["configs"]) >= 20
    for name, config in saved["configs"].items():
        assert from_dict(config).to_dict() == {**DEFAULT.to_dict(), **config}, name
    oldest = {k: v for k, v in next(iter(saved["configs"].values())).items() if k != "seeds"}
    for field in ("aux_weights", "aux_shuffle", "stitch_init", "stitch_lr", "early_stop"):
        partial = {k: v for k, v in oldest.items() if k != field}
        assert from_dict(partial).to_dict()[field] == DEFAULT.to_dict()[field], field
