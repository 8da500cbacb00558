"""Links to the dashboard (mtl_core/dashboard/urlstate.py): presets, repeated and huge parameters,
a dataset without its main task, and no owner token."""

from __future__ import annotations

import re

import pytest

from mtl_core.config import DEFAULT
from mtl_core.dashboard.urlstate import config_to_params, link_preset, params_to_config
from mtl_core.studies.presets import PRESETS
from mtl_core.written import as_written, counted


def test_a_repeated_parameter_is_dropped_with_a_note_like_any_unusable_one():
    config, notes = params_to_config({"epochs": ["5", "7"], "lr": ["0.01"]})
    assert config == DEFAULT.replace(lr=0.01)
    assert notes == ["ignored URL parameter 'epochs': given 2 times ('5', '7'); keep one"]


@pytest.mark.parametrize("text", ["1e308", "1" + "0" * 400, "-" + "9" * 300])
def test_a_huge_number_is_shortened_in_its_note(text):
    config, notes = params_to_config({"train_size": text})
    assert config == DEFAULT and len(notes) == 1
    assert "'train_size'" in notes[0] and len(notes[0]) < 200
    assert not re.search(r"\d{17}", notes[0]), notes[0]


def test_the_note_for_1e308_reads_1e308():
    _, notes = params_to_config({"train_size": "1e308"})
    assert notes[0].endswith("got 1e+308")


@pytest.mark.parametrize(
    ("name", "text", "says"),
    [  # ``:g`` printed the first as "between 0 and 2.14748e+09"
        ("seed", "-3", "must be between 0 and 2,147,483,647, got -3"),
        ("data_seed", "3000000000", "must be between 0 and 2,147,483,647, got 3,000,000,000"),
        ("epochs", "20000", "must be between 1 and 10,000, got 20,000"),
        ("batch_size", "0", "must be between 1 and 65,536, got 0"),
        ("aux_weight", "2000", "must be between 0 and 1,000, got 2,000"),
        (
            "train_size",
            "5000",
            "must be between 10 and 3,000 (the training split of mnist-5k), got 5,000",
        ),
        ("soft_lambda", "2e6", "must be between 0 and 1,000,000, got 2,000,000"),  # declared
        ("dwa_temperature", "0.001", "must be between 0.01 and 100, got 0.001"),
        ("momentum", "1", "must be at least 0 and below 1, got 1"),
    ],
)
def test_numbers_in_a_range_note_read_as_people_write_them(name, text, says):
    config, notes = params_to_config({name: text})
    assert config == DEFAULT
    assert notes == [f"ignored URL parameter {name!r}: {name}: {says}"]


def test_as_written_groups_whole_numbers_and_keeps_fractions_exact():
    assert [as_written(v) for v in (2**31 - 1, 1e6, -1000, 0, 2.0)] == [
        "2,147,483,647",
        "1,000,000",
        "-1,000",
        "0",
        "2",
    ]
    assert [as_written(v) for v in (0.001, 1e-6, 0.1 + 0.2)] == ["0.001", "1e-06", repr(0.1 + 0.2)]
    assert [as_written(v) for v in (1e308, int(1e308), float("nan"))] == ["1e+308"] * 2 + ["nan"]
    assert as_written(10**400) == "about 1e+400"


def test_counted_puts_the_noun_in_the_plural_unless_there_is_one():
    assert [counted(n, "seed") for n in (0, 1, 2, 1200)] == [
        "0 seeds",
        "1 seed",
        "2 seeds",
        "1,200 seeds",
    ]


def test_the_cli_help_writes_its_ranges_as_people_write_them(capsys):
    from mtl_core.cli.main import main

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert "0 to 1,000,000; default" in shown  # a task weight's range: "0 to 1e+06" before
    assert not re.search(r"\de[+-]0", shown), re.findall(r"\S*\de[+-]0\S*", shown)


@pytest.mark.parametrize(
    ("dataset", "variant", "main"),
    [
        ("fashion-mnist", "plain", ("class",)),
        ("mnist-5k", "multi", ("left",)),
        ("fashion-mnist", "multi", ("left",)),
        ("digits", "plain", ("digit",)),
    ],
)
def test_a_dataset_or_variant_alone_switches_to_a_main_task_that_fits(dataset, variant, main):
    config, notes = params_to_config({"dataset": dataset, "variant": variant})
    assert notes == []
    assert (config.dataset, config.variant, config.tasks) == (dataset, variant, main)


def test_a_main_task_the_link_sets_that_does_not_fit_is_noted_then_replaced():
    config, notes = params_to_config({"dataset": "fashion-mnist", "tasks": "digit"})
    assert (config.dataset, config.tasks) == ("fashion-mnist", ("class",))
    assert len(notes) == 1 and notes[0].startswith("ignored URL parameter 'tasks'")
    assert "does not fit dataset 'fashion-mnist'" in notes[0]


def test_aux_tasks_of_a_preset_that_do_not_fit_the_dataset_give_way():
    params = {"preset": "Sharing helps", "dataset": "fashion-mnist"}
    config, notes = params_to_config(params)
    assert notes == [] and config.dataset == "fashion-mnist"
    assert config.tasks == ("class",) and config.aux == () and config.task_sizes == {}


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_link_names_the_preset_and_reproduces_a_changed_setup(name):
    preset = PRESETS[name].config
    for config in (
        preset,
        preset.replace(epochs=7),
        preset.replace(train_size=DEFAULT.train_size, seed=3),
    ):
        params = config_to_params(config, name)
        assert params["preset"] == name and link_preset(params) == name
        assert params_to_config(params) == (config, [])
    assert config_to_params(preset, name) == {"preset": name}


def test_an_unknown_or_repeated_preset_is_noted_and_not_applied():
    config, notes = params_to_config({"preset": "Nope", "epochs": "9"})
    assert config == DEFAULT.replace(epochs=9)
    assert len(notes) == 1 and "unknown preset 'Nope'" in notes[0]
    assert link_preset({"preset": "Nope"}) is None
    assert link_preset({"preset": ["Sharing helps", "Sharing hurts"]}) is None
    assert link_preset({"preset": ["Sharing helps"]}) == "Sharing helps"


def test_links_never_carry_an_owner_token_and_old_session_parameters_are_ignored():
    config, notes = params_to_config({"session": "0123456789abcdef", "epochs": "9"})
    assert config == DEFAULT.replace(epochs=9) and notes == []
    assert "session" not in config_to_params(config)


def test_a_preset_link_may_name_it_as_the_preset_box_does():
    """The Preset box says "Overfitting: the U" where links say "Maxout U-curve"; a teacher
    who typed the name on screen got "unknown preset" and a list of the other names."""
    config, notes = params_to_config({"preset": "Overfitting: the U"})
    assert notes == [] and config == PRESETS["Maxout U-curve"].config
    assert link_preset({"preset": "Overfitting: the U"}) == "Maxout U-curve"
    _, notes = params_to_config({"preset": "Nope"})
    assert "Overfitting: the U" in notes[0] and "Which tasks should share?" in notes[0]
