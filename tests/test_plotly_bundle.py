"""The charts' Plotly.js (mtl_core/dashboard/static/, served by the launcher) is the
plotly.js version the pinned ``plotly`` package builds figures for, and has every trace
type the dashboard's figures use: a figure with a trace the bundle lacks would draw
nothing in the browser, with no error on the server."""

from __future__ import annotations

import re
from pathlib import Path

import plotly

from mtl_core.dashboard.serve import PLOTLY_JS

ROOT = Path(__file__).resolve().parents[1]
FULL = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _version(path: Path) -> str:
    head = path.read_text()[:400]
    return re.search(r"plotly\.js (?:\([^)]*\) )?v(\d+\.\d+\.\d+)", head).group(1)


def _traces(path: Path) -> set[str]:
    """The trace modules a bundle registers."""
    return set(re.findall(r'moduleType:"trace",name:"(\w+)"', path.read_text()))


def test_the_bundle_is_the_plotly_js_of_the_pinned_plotly_package():
    assert _version(PLOTLY_JS) == _version(FULL)


def test_the_bundle_has_every_trace_type_the_dashboard_draws():
    used = {
        name.lower()
        for path in (ROOT / "mtl_core").rglob("*.py")
        for name in re.findall(r"\bgo\.(\w+)\(", path.read_text())
        if name not in ("Figure", "FigureWidget")
    }
    assert used, "no trace found: the search above no longer matches the figures' code"
    assert used <= _traces(FULL), "the search reads a name that is no trace type"
    assert used <= _traces(PLOTLY_JS), f"missing from the bundle: {used - _traces(PLOTLY_JS)}"


def test_the_bundle_is_smaller_than_the_full_one():
    """What the copy is for (static/README.md): a first chart waits for it to load."""
    assert PLOTLY_JS.stat().st_size < FULL.stat().st_size / 2


def test_every_chart_goes_through_the_pages_own_component():
    """No view draws with ``st.plotly_chart``: it makes the browser fetch and compile
    Streamlit's own Plotly.js (4.7 MB) beside the page's bundle; a finished run's Live
    page did so for its confusion matrix (tests/test_views.py draws that one)."""
    callers = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "mtl_core").rglob("*.py")
        if re.search(r"\.plotly_chart\(", path.read_text())
    ]
    assert callers == []
