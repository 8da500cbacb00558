"""What the page drew, read back from the browser, next to what the run store holds.

A name like "shows the stored losses" is only proved by comparing numbers: the charts'
traces (``div.data`` of each Plotly div, as ``Plotly.react`` left it; mtl_core/dashboard/widgets/plot.py)
against the rows the trainer wrote to the run store, read here with ``RunStore`` from
the same file the server uses (``MTL_STORE``, else ``runs.sqlite`` in the data root).

plotly.py sends numeric arrays as base64 typed arrays (``{dtype, bdata, shape}``);
``DRAWN`` decodes them itself, so a test sees plain lists of numbers (NaN for gaps).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtl_core.store.runs import RunStore

# Every Plotly div of the page: its traces (numbers decoded) and its axis and plot titles.
DRAWN = """() => {
  const TYPES = {f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array,
                 u1c: Uint8ClampedArray, i2: Int16Array, u2: Uint16Array, i4: Int32Array,
                 u4: Uint32Array};
  const number = (v) => (v === null || v === undefined ? NaN : v);
  function values(v) {
    if (v === null || v === undefined) return null;
    if (Array.isArray(v)) return v.map((e) => (typeof e === 'object' ? values(e) : number(e)));
    if (ArrayBuffer.isView(v)) return Array.from(v);
    if (typeof v === 'object' && typeof v.bdata === 'string') {
      const bytes = Uint8Array.from(atob(v.bdata), (c) => c.charCodeAt(0));
      const flat = Array.from(new TYPES[v.dtype](bytes.buffer));
      const shape = String(v.shape || flat.length).split(',').map(Number);
      if (shape.length !== 2) return flat;
      return Array.from({length: shape[0]}, (_, i) => flat.slice(i * shape[1], (i + 1) * shape[1]));
    }
    return v;
  }
  const title = (t) => (t && typeof t === 'object' ? t.text : t) || '';
  return Array.from(document.querySelectorAll('.js-plotly-plot')).map((div) => {
    const layout = div.layout || {};
    const axes = {};
    for (const [key, axis] of Object.entries(layout)) {
      if (/^[xy]axis\\d*$/.test(key)) axes[key] = title(axis && axis.title);
    }
    return {
      title: title(layout.title),
      axes,
      traces: (div.data || []).map((t) => ({
        name: t.name || '', type: t.type || 'scatter', mode: t.mode || '',
        symbol: (t.marker && t.marker.symbol) || '', xaxis: t.xaxis || 'x',
        x: values(t.x), y: values(t.y), z: values(t.z),
      })),
    };
  });
}"""


# What stands in the page instead of a chart: the text of chart divs that Plotly has not
# drawn (mtl_core/dashboard/widgets/plot.py writes an error there) and of the page's alerts.
UNDRAWN = """() => Array.from(document.querySelectorAll(
      '.mtl-plot:not(.js-plotly-plot), [data-testid=stAlert], [data-testid=stException]'))
    .map((div) => div.textContent.slice(0, 200))"""


def drawn_plots(page) -> list[dict[str, Any]]:
    """Every Plotly chart in the page, in document order."""
    return page.evaluate(DRAWN)


def live_chart(page) -> dict[str, Any]:
    """The curves chart: the one plot whose traces are named ``<task> · train``."""
    every = drawn_plots(page)
    plots = [p for p in every if any(t["name"].endswith(" · train") for t in p["traces"])]
    if len(plots) != 1:  # say what the page holds instead: other charts, a loading error
        charts = [[t["name"] for t in p["traces"]][:4] for p in every]
        raise AssertionError(
            f"expected one curves chart, found {len(plots)} (charts: {charts}; "
            f"undrawn charts and alerts: {page.evaluate(UNDRAWN)})"
        )
    return plots[0]


def trace(plot: dict[str, Any], name: str) -> dict[str, Any]:
    found = [t for t in plot["traces"] if t["name"] == name]
    assert len(found) == 1, (
        f"expected one trace named {name!r}, got {[t['name'] for t in plot['traces']]}"
    )
    return found[0]


def numbers(values: list | None) -> np.ndarray:
    """Drawn values as floats (a gap, drawn as null, is NaN)."""
    return np.array([np.nan if v is None else v for v in values or []], dtype=float)


def assert_drawn(drawn: list | None, expected, what: str) -> None:
    """The drawn values equal ``expected`` to float64 rounding (NaN where NaN)."""
    got, want = numbers(drawn), np.asarray(expected, dtype=float)
    assert got.shape == want.shape, f"{what}: drew {got.shape[0]} values, expected {want.shape[0]}"
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=what)


def settle(read: Callable[[], Any], check: Callable[[Any], None], timeout: float = 30) -> Any:
    """Read until ``read`` and ``check`` pass (a redraw may still be on its way); after
    ``timeout`` seconds their AssertionError stands. Returns the reading that passed."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = read()  # may itself fail while the chart is not drawn yet
            check(value)
            return value
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.25)


# -- the run store ---------------------------------------------------------------------------


def store_path(data_root: Path) -> Path:
    """The store the dashboard writes to (mtl_core/dashboard/runs.py: MTL_STORE, else the data root's)."""
    return Path(os.environ.get("MTL_STORE") or data_root / "runs.sqlite")


def the_run(data_root: Path) -> tuple[int, pd.DataFrame]:
    """The only run in the store, and its metrics (long form)."""
    with RunStore(store_path(data_root)) as store:
        runs = store.runs()
        assert len(runs) == 1, f"expected one stored run, found {len(runs)}"
        run_id = int(runs.id.iloc[0])
        return run_id, store.metrics(run_id)


def stored_array(data_root: Path, run_id: int, name: str) -> tuple[np.ndarray, dict]:
    """One array the trainer stored (features, labels, sample indices) and its meta."""
    with RunStore(store_path(data_root)) as store:
        return store.get_array(run_id, name)


def stored(frame: pd.DataFrame, task: str, split: str, metric: str) -> pd.Series:
    """One stored curve: values indexed by epoch, in epoch order."""
    sel = frame[(frame.task == task) & (frame.split == split) & (frame.metric == metric)]
    return sel.sort_values("epoch").set_index("epoch").value.astype(float)
