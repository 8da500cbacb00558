"""AppTest helpers: open the dashboard on a temporary store, read its figures and text."""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mtl_core.config import RunConfig
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.urlstate import params_to_config


def components(at: AppTest) -> list[tuple[object, dict]]:
    """Each component element on the page with the data it was given ({} when none: a
    style-only component)."""
    return [(e, json.loads(e.proto.json) if e.proto.json else {}) for e in at.get("bidi_component")]


def figures(at: AppTest) -> dict[str, dict]:
    """The Plotly figure of every chart on the page, by chart key: the figures this script
    run sent (a live chart the tab holds is sent none: plot.py's ``held``)."""
    out = {}
    for _, data in components(at):
        # other components (e.g. the share-link button) draw no chart
        if data.get("figure") is not None:
            out[data["key"]] = json.loads(data["figure"])
    return out


def array(value) -> np.ndarray:
    """A Plotly JSON array: a plain list, or base64 with a dtype (and shape)."""
    if isinstance(value, dict) and "bdata" in value:
        flat = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        return flat.reshape([int(s) for s in str(shape).split(",")]) if shape else flat
    return np.asarray(value, dtype=float)


def texts(at: AppTest) -> str:
    """Every markdown, caption, info and error text on the page, one per line."""
    return "\n".join(e.value for e in [*at.markdown, *at.caption, *at.info, *at.error])


APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
# Seconds one script run of a page test may take. AppTest's own 60 s was exceeded on a
# shared machine at load 19 (the view-control test); a page that hangs still fails.
TIMEOUT = 180


def open_app(params: dict[str, str] | None = None, *, painted: bool = True, **state) -> AppTest:
    """The dashboard as a browser first shows it, with URL ``params`` and session ``state``
    set: its first script run, then the one the page asks for once the browser painted it
    (mtl_core/dashboard/widgets/after_paint.py), which draws the setup; with ``painted``
    False, the first script run alone."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    for name, value in state.items():
        at.session_state[name] = value
    at.run()
    assert not at.exception, at.exception
    if painted:
        at.run()
        assert not at.exception, at.exception
    return at


def cards(at: AppTest) -> dict[str, dict]:
    """The cards of the page's card grid (mtl_core/dashboard/widgets/card_grid.py), by id;
    {} when no grid is drawn."""
    for _, data in components(at):
        if "cards" in data:
            return {card["id"]: card for card in data["cards"]}
    return {}


def open_card(at: AppTest, card: str) -> AppTest:
    """Press card ``card``'s button and run the page, as the browser's click does: the
    grid's ``open`` trigger (``fire``)."""
    grids = [element for element, data in components(at) if "cards" in data]
    assert grids, "no card grid on the page"
    assert card in cards(at), f"no card {card!r}: {sorted(cards(at))}"
    (element,) = grids
    return fire(at, element, "open", card)


def fire(at: AppTest, element, event: str, value) -> AppTest:
    """Send component ``element``'s trigger ``event`` with ``value`` and run the page, as
    the browser does: with the page's other widget values. AppTest has no click for a
    component (its elements are not widgets here), so this builds the trigger Streamlit's
    component sends, on AppTest's own run with given widget values."""
    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    states = at._tree.get_widget_states()
    trigger = states.widgets.add()
    trigger.id = _make_trigger_id(element.proto.id, "events")
    trigger.json_trigger_value = json.dumps([{"event": event, "value": value}])
    at._run(states)
    return at


def address(at: AppTest) -> dict[str, str]:
    """The page's address bar, one value per parameter."""
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def shared(at: AppTest) -> str:
    """The query the Copy share link button holds."""
    for _, data in components(at):
        if "query" in data:
            return data["query"]
    raise AssertionError("no share link button on the page")


def use_store(mp: pytest.MonkeyPatch, root: Path) -> Path:
    """Point the dashboard at a fresh data root and run store under ``root``."""
    path = root / "runs.sqlite"
    mp.setenv("MTL_DATA_ROOT", str(root))
    mp.setenv("MTL_STORE", str(path))
    st.cache_resource.clear()  # the cached run manager reads the store it was made for
    return path


@contextlib.contextmanager
def trained_store(
    factory: pytest.TempPathFactory, folder: str, configs: dict[str, dict], owner: str = ""
) -> Iterator[tuple[Path, dict[str, int]]]:
    """The dashboard on a fresh store holding one finished run per entry of ``configs``
    (config fields; each run named by its key, owned by ``owner``): (store path,
    {key: run id}). For a module's fixture: the runs train once for all its tests."""
    from mtl_core.store.runs import RunStore
    from mtl_core.training.trainer import train

    with pytest.MonkeyPatch.context() as mp:
        path = use_store(mp, factory.mktemp(folder))  # a cached manager reads another store
        with RunStore(path) as store:
            ids = {}
            for key, fields in configs.items():
                result = train(RunConfig.from_dict(fields), store=store, name=key, owner=owner)
                assert result.status == "completed", result.message
                ids[key] = result.run_id
        yield path, ids
        st.cache_resource.clear()  # shuts the module's run manager (and its workers) down


def cut_short_after(mp: pytest.MonkeyPatch, name: str) -> list:
    """``RunManager.<name>`` stops the script run right after its first call, as Streamlit
    does when another request arrives (a rerun raised at the next Streamlit call); the list
    collects that call's result."""
    method = getattr(RunManager, name)
    cuts: list = []

    def cut(self, *args, **kwargs):
        out = method(self, *args, **kwargs)
        if not cuts:
            cuts.append(out)
            st.rerun()  # another request arrived: this script run stops here
        return out

    mp.setattr(RunManager, name, cut)
    return cuts


def queue_only(mp: pytest.MonkeyPatch) -> None:
    """Runs the page starts stay queued: no worker processes."""
    mp.setattr(RunManager, "warm", lambda self: None)
    mp.setattr(RunManager, "_dispatch", lambda self: None)


def url_config(at: AppTest) -> RunConfig:
    """The config the page's URL describes (it must have no notes)."""
    params = {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}
    config, notes = params_to_config(params)
    assert notes == []
    return config


def train_button(at: AppTest):
    return next(b for b in at.sidebar.button if b.key == "train")
