"""Reading an AppTest page: its Plotly figures (drawn by dashboard/plot.py) and its text."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest


def figures(at: AppTest) -> dict[str, dict]:
    """The Plotly figure of every chart on the page, by chart key."""
    out = {}
    for element in at.get("bidi_component"):
        data = json.loads(element.proto.json)
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
