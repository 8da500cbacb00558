"""The sidebar's controls in session state: how each is keyed, and the config they hold.

Every control is keyed ``c_<field>`` (per task: ``c_aux_<task>``, ``c_weight_<task>``,
``c_shuffle_<task>``, ``c_size_<task>``, ``c_task_weight_<task>``) and reads its value from
session state only. So a preset, a link, History's "load config" or a lesson sets every
control by writing a config here before the widgets are drawn (``load_into_state``), and
the page reads the setup back the same way (``config_from_state``); the widgets themselves
are drawn by controls.py. The Train batch (Seeds, *also vary the data seed*: no config
fields, mtl_core/dashboard/batch.py) and the study forms' Seeds are keyed the same way and
loaded from a link the same way (``load_batch``, ``batch_from_state``); a form's control
keeps its value while another view is shown (``keep_view_controls``).

The values the controls held at the end of the last script run are kept aside
(``keep_controls``): a rerun that interrupts another can make Streamlit drop a widget's
key, and ``restore_lost_controls`` puts it back before the widgets are drawn; Train's
callback asks ``unchanged_since_drawn`` whether a control changed with the click.
"""

from __future__ import annotations

import streamlit as st

from mtl_core.config import PER_TASK, RunConfig, from_dict
from mtl_core.dashboard.batch import BATCH, BatchParam
from mtl_core.data.tasks import TASKS


def key(name: str) -> str:
    return f"c_{name}"


def load_into_state(config: RunConfig) -> None:
    """Set every control to ``config`` (call before the widgets are drawn)."""
    for name, value in config.to_dict().items():
        if name in (*PER_TASK, "aux"):
            continue
        st.session_state[key(name)] = list(value) if name == "tasks" else value
    for task in TASKS:
        st.session_state[key(f"aux_{task}")] = task in config.aux
        st.session_state[key(f"weight_{task}")] = config.aux_weights.get(task, config.aux_weight)
        st.session_state[key(f"shuffle_{task}")] = config.aux_shuffle.get(task, config.shuffle_aux)
        st.session_state[key(f"size_{task}")] = config.task_sizes.get(task, 0)
        st.session_state[key(f"task_weight_{task}")] = config.task_weights.get(task, 1.0)


def config_from_state() -> RunConfig:
    """The config the controls describe; raises ConfigError naming the bad field."""
    s = st.session_state
    aux = [t for t in TASKS if s.get(key(f"aux_{t}")) and t not in s[key("tasks")]]
    data = {
        name: s[key(name)]
        for name in RunConfig.__dataclass_fields__
        if key(name) in s and name not in (*PER_TASK, "aux")
    }
    data["tasks"] = list(s[key("tasks")])
    data["aux"] = aux
    data["aux_weights"] = {
        t: s[key(f"weight_{t}")]
        for t in aux
        if s.get(key(f"weight_{t}"), 1.0) != data.get("aux_weight", 1.0)
    }
    data["aux_shuffle"] = {
        t: s[key(f"shuffle_{t}")]
        for t in aux
        if s.get(key(f"shuffle_{t}"), 0.0) != data.get("shuffle_aux", 0.0)
    }
    data["task_weights"] = {
        t: s[key(f"task_weight_{t}")]
        for t in data["tasks"]
        if len(data["tasks"]) >= 2 and s.get(key(f"task_weight_{t}"), 1.0) != 1.0
    }
    data["task_sizes"] = {
        t: s[key(f"size_{t}")] for t in [*data["tasks"], *aux] if s.get(key(f"size_{t}"), 0)
    }
    return from_dict(data)


def load_batch(batch: dict[str, int | bool]) -> None:
    """Set the Train batch's controls (call before the widgets are drawn)."""
    for p in BATCH:
        st.session_state[key(p.name)] = batch.get(p.name, p.default)


def batch_from_state() -> dict[str, int | bool]:
    """The Train batch the controls hold: each control's default until it is set."""
    return {p.name: st.session_state.get(key(p.name), p.default) for p in BATCH}


def keep_view_controls() -> None:
    """Keep the value of each control a view's form draws while another view is shown
    (call at the start of every script run). Streamlit drops the state of a widget a
    script run does not draw: a link's ``depth_seeds=5`` read 3 again, and left the
    address, after a look at Live. A value the script sets itself is kept."""
    for p in BATCH:
        if p.view is not None and key(p.name) in st.session_state:
            st.session_state[key(p.name)] = st.session_state[key(p.name)]


def view_control(p: BatchParam) -> str:
    """The key of the control a view's form draws for ``p``, holding ``p``'s default where
    nothing set it (the widget is drawn without a value of its own, which a link's would
    contradict)."""
    if key(p.name) not in st.session_state:
        st.session_state[key(p.name)] = p.default
    return key(p.name)


SHADOW = "controls_shadow"


def restore_lost_controls() -> None:
    """Put back control values Streamlit dropped (call before the controls are drawn).

    A rerun that interrupts another (two quick clicks) can leave a widget's key out of
    session state; the widget then falls back to its minimum (epochs 1, lr 1e-6). The
    last complete set of values is kept aside (``keep_controls``) and restored here.
    """
    for name, value in st.session_state.get(SHADOW, {}).items():
        if name not in st.session_state:
            st.session_state[name] = value


def _controls_now() -> dict:
    # One copy of session state, filtered here: each ``st.session_state[k]`` walks
    # Streamlit's state layers, and there are about a hundred controls.
    return {
        k: v
        for k, v in st.session_state.to_dict().items()
        if isinstance(k, str) and k.startswith("c_")
    }


def keep_controls() -> None:
    """Keep aside the values the controls hold now (each script run, once they are read)."""
    st.session_state[SHADOW] = _controls_now()


def unchanged_since_drawn() -> bool:
    """Whether every control holds the value the last script run drew (a click's callback
    asks: a control changed in the same request is sanitised by the sidebar first)."""
    shadow = st.session_state.get(SHADOW)
    return shadow is not None and _controls_now() == shadow
