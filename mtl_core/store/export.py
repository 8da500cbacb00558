"""Export: runs and their curves written to a CSV or JSON file a user takes away.

Apart from ``runs.py`` because it needs no SQL: it reads through ``get_run`` and
``metrics``, so the SQLite store and the in-memory sink (``mtl_core.training.sink``)
export the same files. Writing goes through ``user_files.write_output`` (atomic; folders
and devices refused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mtl_core.user_files import write_output

if TYPE_CHECKING:
    import pandas as pd


class RunReader(Protocol):
    def get_run(self, run_id: int) -> dict[str, Any]: ...

    def metrics(self, run_ids: int | Iterable[int], since_epoch: int = -1) -> pd.DataFrame: ...


def export_csv(reader: RunReader, run_ids: Iterable[int], path: str | Path) -> Path:
    """Long-form metrics of the runs, with a ``run_name`` column after ``run_id``."""
    ids = list(run_ids)
    for run_id in ids:
        reader.get_run(run_id)  # a clear error for an unknown id
    frame = reader.metrics(ids)
    names = {i: reader.get_run(i)["name"] for i in ids}
    frame.insert(1, "run_name", frame["run_id"].map(names))
    return write_output(path, frame.to_csv(index=False))


def export_json(reader: RunReader, run_ids: Iterable[int], path: str | Path) -> Path:
    """One object per run: its record (config, summary, ...) and its metrics."""
    out = []
    for run_id in run_ids:
        run = reader.get_run(run_id)
        run["metrics"] = reader.metrics(run_id).drop(columns="run_id").to_dict("records")
        out.append(run)
    return write_output(path, json.dumps(out, indent=1))
