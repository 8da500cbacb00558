"""The dashboard script, headless (streamlit.testing AppTest): controls, errors, presets, URLs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtl_core.config import DEFAULT
from mtl_core.dashboard.urlstate import config_to_params, params_to_config
from mtl_core.studies.presets import PRESETS
from tests.helpers.apptest import open_app, train_button, url_config


@pytest.fixture(autouse=True)
def isolated_store(tmp_path_factory, monkeypatch):
    root = tmp_path_factory.mktemp("dash")
    monkeypatch.setenv("MTL_DATA_ROOT", str(root))
    monkeypatch.setenv("MTL_STORE", str(root / "runs.sqlite"))


def run_app(params: dict[str, str] | None = None) -> AppTest:
    return open_app(params)


def test_defaults_give_the_default_config_and_an_enabled_train_button():
    at = run_app()
    assert url_config(at) == DEFAULT
    assert not train_button(at).disabled
    assert not at.sidebar.error


def test_controls_map_to_the_config():
    at = run_app()
    at.sidebar.selectbox(key="c_dataset").set_value("digits")
    at.run()
    at.sidebar.checkbox(key="c_aux_parity").check()
    at.run()
    at.sidebar.radio(key="c_sharing").set_value("soft")
    at.run()
    at.sidebar.number_input(key="c_soft_lambda").set_value(0.5)
    at.sidebar.number_input(key="c_weight_parity").set_value(0.3)
    at.sidebar.number_input(key="c_size_parity").set_value(900)
    at.sidebar.number_input(key="c_epochs").set_value(7)
    at.run()
    expected = DEFAULT.replace(
        dataset="digits",
        aux=["parity"],
        sharing="soft",
        soft_lambda=0.5,
        aux_weights={"parity": 0.3},
        task_sizes={"parity": 900},
        epochs=7,
    )
    assert url_config(at) == expected
    assert not train_button(at).disabled


def test_shared_layers_are_offered_as_all_or_a_count():
    """-1 means every layer: the sidebar says "all", never "-1"."""
    at = run_app()
    box = at.sidebar.selectbox(key="c_shared_layers")
    assert box.value == -1 and box.format_func(box.value) == "all"
    assert box.options[:3] == ["all", "0", "1"]
    box.set_value(1)
    at.run()
    assert url_config(at) == DEFAULT.replace(shared_layers=1)


def test_main_task_weights_are_offered_with_two_main_tasks_and_reach_the_config():
    at = run_app()
    assert not [n for n in at.sidebar.number_input if n.key.startswith("c_task_weight_")]
    at.sidebar.multiselect(key="c_tasks").set_value(["digit", "parity"])
    at.run()
    at.sidebar.number_input(key="c_task_weight_parity").set_value(0.25)
    at.run()
    weighted = DEFAULT.replace(tasks=["digit", "parity"], task_weights={"parity": 0.25})
    assert url_config(at) == weighted
    assert not train_button(at).disabled
    # a link (or History's "load config") with weights sets the controls, which keep them
    again = run_app(config_to_params(weighted))
    assert again.sidebar.number_input(key="c_task_weight_parity").value == 0.25
    assert url_config(again) == weighted


def test_removing_the_last_main_task_says_why_it_stays():
    """Clearing the Main tasks box put digit straight back, without a word."""
    at = run_app()
    assert not at.sidebar.info  # no note on a fresh page
    at.sidebar.multiselect(key="c_tasks").set_value([])
    at.run()
    assert at.sidebar.multiselect(key="c_tasks").value == ["digit"]
    notes = [i.value for i in at.sidebar.info]
    assert notes == ["A run needs a main task: digit stays until you pick another."]
    assert url_config(at) == DEFAULT and not train_button(at).disabled


def test_an_invalid_combination_is_explained_and_disables_train():
    at = run_app()
    at.sidebar.radio(key="c_sharing").set_value("soft")  # soft sharing with a single task
    at.run()
    assert train_button(at).disabled
    assert any("sharing" in e.value and "two or more tasks" in e.value for e in at.sidebar.error)


def test_a_preset_sets_every_control_and_round_trips_through_the_url():
    at = run_app()
    at.sidebar.selectbox(key="preset_choice").set_value("Sharing helps")
    at.run()
    at.sidebar.button(key="apply_preset").click()
    at.run()
    assert url_config(at) == PRESETS["Sharing helps"].config
    assert any("Sharing helps" in m.value for m in at.markdown)
    # The link reproduces the setup in a fresh session.
    again = run_app(config_to_params(PRESETS["Sharing helps"].config))
    assert url_config(again) == PRESETS["Sharing helps"].config


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_config_survives_the_url(name):
    config = PRESETS[name].config
    assert params_to_config(config_to_params(config)) == (config, [])


def test_a_hostile_url_falls_back_to_defaults_with_a_visible_note():
    at = run_app(
        {"lr": "abc", "tasks": "<script>", "epochs": "-5", "x" * 30: "1", "width": "9" * 600}
    )
    assert url_config(at) == DEFAULT
    text = " ".join(w.value for w in at.warning)
    for field in ("lr", "tasks", "epochs", "width", "unknown URL parameter"):
        assert field in text


def test_a_link_with_the_deepest_trunk_a_config_allows_loads_into_the_sidebar():
    """The Depth slider spans the range a config allows (config.DEPTHS): a link or a stored
    run at depth 8 loads, where a slider that stopped at 4 refused it."""
    from mtl_core.config import DEPTHS

    at = run_app({"depth": str(DEPTHS[1])})
    assert not at.exception, at.exception
    assert at.sidebar.slider(key="c_depth").value == DEPTHS[1]
