"""A session's first script run draws the page without its setup, then asks for the rest.

The sidebar's setup controls cost a new page most of its time to show (docs/testing.md),
so the first script run leaves them out and draws a component that asks for the next run
once the browser painted (mtl_core/dashboard/widgets/after_paint.py; in a real browser:
tests/e2e/test_first_paint_browser.py). Here, headless: what the first run draws, that
the next draws the whole setup, and that Train in the first run is the link's setup.
"""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import components, open_app, train_button, url_config

LINK = {"epochs": "3", "dataset": "digits", "train_size": "100", "seed": "11"}


def first_script_run(params: dict[str, str]) -> AppTest:
    return open_app(params, painted=False)


def setup_controls(at: AppTest) -> set[str]:
    """The keys of the setup's widgets on the page (``c_<field>``)."""
    return {
        w.key
        for kind in ("number_input", "selectbox", "multiselect", "select_slider", "slider")
        for w in at.sidebar.get(kind)
        if isinstance(getattr(w, "key", None), str) and w.key.startswith("c_")
    }


def ask(at: AppTest) -> str | None:
    """The token of the page's ask for the setup, or None when it asks nothing."""
    for _, data in components(at):
        if "session" in data:
            return data["session"]
    return None


def test_the_first_script_run_draws_no_setup_and_asks_for_the_rest(fresh):
    at = first_script_run(LINK)
    assert setup_controls(at) == set()
    assert not [h for h in at.sidebar.header if h.value == "Setup"]
    assert not train_button(at).disabled and ask(at) is not None
    at.run()  # the run the component asks for, once the browser painted
    assert not at.exception, at.exception
    assert {"c_dataset", "c_epochs", "c_lr", "c_seeds"} <= setup_controls(at)
    assert ask(at) is None
    assert at.sidebar.number_input(key="c_epochs").value == 3
    assert at.sidebar.number_input(key="c_seed").value == 11


def test_train_clicked_before_the_setup_is_drawn_trains_the_links_setup_at_once(fresh, monkeypatch):
    """Train is on the page from the first script run: clicked before the browser asked
    for the setup, it trains the setup the link gave, started before the script body
    (widgets/train_start.py: its controls count as unchanged)."""
    seen: list[bool] = []
    real = control_state.unchanged_since_drawn
    monkeypatch.setattr(
        control_state, "unchanged_since_drawn", lambda: seen.append(real()) or seen[-1]
    )
    at = first_script_run(LINK)
    first_ask = ask(at)
    train_button(at).click().run()
    assert not at.exception, at.exception
    assert seen == [True]  # started in the click's callback
    with RunStore(fresh) as store:
        (config,) = store.runs().config
    assert config == url_config(at).to_dict() and config["seed"] == 11
    assert at.session_state[K.view] == V.live and at.session_state[K.focus] == 1
    assert setup_controls(at) == set() and ask(at) not in (None, first_ask)
    at.run()  # asked for once the run's page is painted
    assert not at.exception, at.exception
    assert "c_epochs" in setup_controls(at) and ask(at) is None


def test_any_other_action_before_the_setup_is_drawn_draws_it(fresh):
    at = first_script_run(LINK)
    at.button_group(key=picker_key(at.session_state)).set_value("History").run()
    assert not at.exception, at.exception
    assert "c_epochs" in setup_controls(at) and ask(at) is None


def test_a_dataset_that_is_not_here_disables_train_from_the_first_script_run(fresh):
    at = first_script_run({"dataset": "mnist"})
    assert train_button(at).disabled
    assert any(e.value.startswith("mnist is not installed") for e in at.sidebar.error)
