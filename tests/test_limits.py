"""Server limits: read from the environment in one place, enforced by the manager, and
explained in the page (AppTest), with the note about a store that was moved aside."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core import limits
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import K
from mtl_core.limits import LimitError, Limits
from mtl_core.store.runs import RunStore
from tests.helpers.apptest import open_app

DOCUMENTED = set(re.findall(r"``(MTL_[A-Z_]+)``", limits.__doc__ or ""))


class Recording(dict):
    """An environment that remembers which variables were asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_defaults_apply_when_nothing_is_set():
    env = Recording()
    assert Limits.from_env(env) == Limits(
        max_runs=2,
        max_epochs=None,
        max_train_size=None,
        max_runs_per_session=None,
        pause_timeout=600.0,
        abandon_after=600.0,
        stale_after=60.0,
        poll_seconds=1.0,
        worker_nice=10,
    )
    assert env.asked == DOCUMENTED  # every variable read is documented, and vice versa
    assert {
        "MTL_MAX_RUNS",
        "MTL_MAX_EPOCHS",
        "MTL_MAX_TRAIN_SIZE",
        "MTL_MAX_RUNS_PER_SESSION",
        "MTL_PAUSE_TIMEOUT",
        "MTL_ABANDON_AFTER",
        "MTL_STALE_AFTER",
        "MTL_POLL_SECONDS",
        "MTL_WORKER_NICE",
    } == DOCUMENTED


def test_every_variable_is_read():
    env = {
        "MTL_MAX_RUNS": "4",
        "MTL_MAX_EPOCHS": "100",
        "MTL_MAX_TRAIN_SIZE": " 2000 ",
        "MTL_MAX_RUNS_PER_SESSION": "30",
        "MTL_PAUSE_TIMEOUT": "120",
        "MTL_ABANDON_AFTER": "900.5",
        "MTL_STALE_AFTER": "3",
        "MTL_POLL_SECONDS": "2.5",
        "MTL_WORKER_NICE": "0",
        "MTL_OTHER": "x",
    }
    assert Limits.from_env(env) == Limits(4, 100, 2000, 30, 120.0, 900.5, 3.0, 2.5, 0)
    assert Limits.from_env({"MTL_MAX_EPOCHS": ""}) == Limits()  # empty means unset


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MTL_MAX_RUNS", "0"),
        ("MTL_MAX_EPOCHS", "abc"),
        ("MTL_MAX_TRAIN_SIZE", "1.5"),
        ("MTL_MAX_RUNS_PER_SESSION", "-3"),
        ("MTL_PAUSE_TIMEOUT", "-1"),
        ("MTL_ABANDON_AFTER", "nan"),
        ("MTL_STALE_AFTER", "inf"),
        ("MTL_PAUSE_TIMEOUT", "0"),
        ("MTL_WORKER_NICE", "-5"),
        ("MTL_WORKER_NICE", "20"),
        ("MTL_WORKER_NICE", "high"),
    ],
)
def test_a_malformed_value_is_a_one_line_error_naming_the_variable(name, value):
    with pytest.raises(LimitError) as info:
        Limits.from_env({name: value})
    message = str(info.value)
    assert message.startswith(f"{name} must be") and repr(value) in message
    assert "\n" not in message


def test_a_config_over_a_limit_is_refused_naming_the_field_and_the_limit(make_config):
    capped = Limits(max_epochs=50, max_train_size=500)
    assert capped.refusal(make_config(epochs=50, train_size=500)) is None
    assert capped.refusal(make_config(epochs=51)) == (
        "epochs: 51 is over this server's limit of 50 (MTL_MAX_EPOCHS)"
    )
    assert capped.refusal(make_config(train_size=600, epochs=5)) == (
        "train_size: 600 is over this server's limit of 500 (MTL_MAX_TRAIN_SIZE)"
    )
    budget = make_config(aux=["parity"], task_sizes={"parity": 900})
    assert capped.refusal(budget) == (
        "task_sizes.parity: 900 is over this server's limit of 500 (MTL_MAX_TRAIN_SIZE)"
    )
    assert Limits().refusal(make_config(epochs=10_000, train_size=1000)) is None


def test_the_manager_refuses_over_the_limits_without_storing_anything(tmp_path, make_config):
    manager = RunManager(tmp_path / "runs.sqlite", Limits(max_epochs=10, max_runs_per_session=2))
    try:
        with pytest.raises(LimitError, match="epochs: 20 is over"):
            manager.start(make_config(epochs=20), owner="a")
        for _ in range(2):
            manager.store.create_run(make_config().to_dict(), owner="a", status="completed")
        with pytest.raises(LimitError, match=r"2 stored runs.*MTL_MAX_RUNS_PER_SESSION=2"):
            manager.start(make_config(), owner="a")
        assert len(manager.store.runs()) == 2
        assert manager.refusal(make_config(), owner="b") is None  # another session
        assert manager.refusal(make_config(), owner="") is None  # the CLI is no session
    finally:
        manager.shutdown()


# -- the page ------------------------------------------------------------------------------


@pytest.fixture
def fresh_server(tmp_path, monkeypatch) -> Iterator[Path]:
    """A store of its own and a new RunManager (the cached one holds the old limits)."""
    monkeypatch.setenv("MTL_DATA_ROOT", str(tmp_path))
    monkeypatch.setenv("MTL_STORE", str(tmp_path / "runs.sqlite"))
    st.cache_resource.clear()  # releases (shuts down) the cached manager
    yield tmp_path / "runs.sqlite"
    st.cache_resource.clear()  # the next test must not inherit these limits


def run_app(params: dict[str, str], owner: str = "") -> AppTest:
    # the page's owner token (a browser sends it as a cookie: mtl_core/dashboard/state.py)
    return open_app(params, **({K.owner: owner} if owner else {}))


def train_button(at: AppTest):
    return next(b for b in at.sidebar.button if b.key == "train")


def test_the_page_refuses_a_config_over_a_limit_and_disables_train(fresh_server, monkeypatch):
    monkeypatch.setenv("MTL_MAX_EPOCHS", "50")
    at = run_app({"epochs": "80"})
    assert train_button(at).disabled
    errors = [e.value for e in at.sidebar.error]
    assert errors == ["epochs: 80 is over this server's limit of 50 (MTL_MAX_EPOCHS)"]
    at.sidebar.number_input(key="c_epochs").set_value(50)
    at.run()
    assert not train_button(at).disabled and not at.sidebar.error


def test_the_train_button_explains_a_full_session(fresh_server, monkeypatch, make_config):
    monkeypatch.setenv("MTL_MAX_RUNS_PER_SESSION", "2")
    token = secrets.token_hex(16)
    with RunStore(fresh_server) as store:
        for _ in range(2):
            store.create_run(make_config().to_dict(), owner=token, status="completed")
    at = run_app({}, owner=token)
    button = train_button(at)
    assert button.disabled
    assert "MTL_MAX_RUNS_PER_SESSION=2" in button.help and "delete some in History" in button.help
    assert any("Train is off" in c.value and "2 stored runs" in c.value for c in at.sidebar.caption)
    other = run_app({}, owner=secrets.token_hex(16))  # another browser session may train
    assert not train_button(other).disabled


def test_a_file_that_is_not_a_store_is_named_in_one_line_and_kept(fresh_server):
    fresh_server.write_bytes(b"this is not an SQLite file" * 100)
    at = run_app({})
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "\n" not in errors[0] and str(fresh_server) in errors[0]
    assert fresh_server.read_bytes() == b"this is not an SQLite file" * 100
    assert not list(fresh_server.parent.glob("runs.sqlite.broken-*"))


def test_every_store_opener_honours_mtl_stale_after(tmp_path, monkeypatch):
    """The CLI and the workers open stores without arguments: they read MTL_STALE_AFTER."""
    from mtl_core.store.runs import RunStore

    monkeypatch.setenv("MTL_STALE_AFTER", "7.5")
    with RunStore(tmp_path / "runs.sqlite") as store:
        assert store.stale_after == 7.5
    monkeypatch.delenv("MTL_STALE_AFTER")
    with RunStore(tmp_path / "runs.sqlite") as store:
        assert store.stale_after == 60.0


def test_live_pages_poll_less_often_when_many_are_open():
    """Updates cost the server about 0.1 s of CPU each: with many pages watching, each page's
    interval grows so that all of them together take at most half a core."""
    from mtl_core.limits import UPDATE_BUDGET, UPDATE_COST

    limits = Limits.from_env({"MTL_POLL_SECONDS": "1.5"})
    assert limits.poll_every(1) == limits.poll_every(5) == 1.5  # few pages: the operator's
    for pages in (10, 30, 100):
        every = limits.poll_every(pages)
        assert every > 1.5
        assert pages * UPDATE_COST / every <= UPDATE_BUDGET + 1e-9  # at most half a core
    with pytest.raises(LimitError, match="MTL_POLL_SECONDS"):
        Limits.from_env({"MTL_POLL_SECONDS": "0"})


def test_live_panels_redraw_less_often_than_their_charts_update():
    """The Live view's chart and progress line ask every MTL_POLL_SECONDS themselves; the
    panel around them redraws every PANEL_EVERY-th update, the updates being stretched
    for a crowd."""
    from mtl_core.limits import PANEL_EVERY

    limits = Limits.from_env({"MTL_POLL_SECONDS": "1"})
    assert limits.live_panel_every(1) == limits.live_panel_every(5) == PANEL_EVERY > 1
    for pages in (10, 30):
        assert limits.live_panel_every(pages) == PANEL_EVERY * limits.poll_every(pages) > 2.0
