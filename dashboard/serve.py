"""The dashboard's one entry point: ``streamlit run dashboard/serve.py`` (``make dashboard``).

Streamlit finds the ``st.App`` by reading this file's source, so the assignment stays
here; its parts (routes, cookie, server-start warming) are in ``mtl_core.dashboard.serve``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

from mtl_core.dashboard import serve  # noqa: E402

serve.mark_launcher()
app = st.App(
    "app.py",
    lifespan=serve.lifespan,
    routes=serve.routes(),
    middleware=serve.middleware(),
)
