"""Where the trainer writes a run: the ``RunSink`` protocol, and an in-memory sink.

``train`` reports a run through these seven calls and nothing else, so anything that
implements them can receive one: the SQLite ``RunStore`` (the dashboard's source of
truth), the Ray relay (``execution/ray_task.py``, which forwards each call to the driver),
and ``MemorySink`` here, for notebooks and tests that want a run's rows without a file.
``create_run`` is called only when ``train`` is given no ``run_id``; the other six write
to an existing run.

``MemorySink`` keeps what it is given in lists and dicts, and reads it back the way the
store does: ``metrics`` is a DataFrame in the store's long format (same columns, same
order, values as floats), ``get_run`` and ``runs`` the store's fields, ``get_array`` the
float32 array. It imports neither torch nor sqlite.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from mtl_core.errors import StoreError
from mtl_core.store.schema import RUN_COLUMNS, STATUSES, Row, Status, metric_frame

WRITES = (
    "append_epoch",
    "heartbeat",
    "set_status",
    "set_provenance",
    "put_array",
    "finish",
)  # the calls a sink gets for a run that exists (all but create_run)


@runtime_checkable
class RunSink(Protocol):
    """What ``train`` calls on the place a run is written to."""

    def create_run(self, config: dict[str, Any], *, name: str = "", owner: str = "") -> int:
        """A new run with this config, status ``running``; its id."""
        ...

    def append_epoch(self, run_id: int, epoch: int, rows: Iterable[Row]) -> None:
        """All rows of one finished epoch (and a heartbeat), together."""
        ...

    def heartbeat(self, run_id: int) -> None:
        """The run is alive (called every few seconds while it trains)."""
        ...

    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        """``paused`` and ``running`` again, while the run trains."""
        ...

    def set_provenance(self, run_id: int, provenance: dict[str, Any]) -> None:
        """Where and with what the run trained (versions, threads, device, data hash)."""
        ...

    def put_array(self, run_id: int, name: str, array: Any, meta: dict | None = None) -> None:
        """A float32 array (trunk features, kept samples, labels) and its description."""
        ...

    def finish(
        self,
        run_id: int,
        status: str,
        message: str,
        summary: dict[str, Any],
        test_rows: dict[int, list[Row]],
    ) -> None:
        """The final status, message, summary and test rows (keyed by epoch)."""
        ...


class MemorySink:
    """A ``RunSink`` that keeps runs in memory; reads them back like a ``RunStore``."""

    def __init__(self) -> None:
        self._runs: dict[int, dict[str, Any]] = {}
        self.rows: list[tuple[int, int, str, str, str, float]] = []  # METRIC_COLUMNS
        self.arrays: dict[tuple[int, str], tuple[Any, dict]] = {}

    # -- writing (the RunSink protocol) --------------------------------------------------

    def create_run(
        self,
        config: dict[str, Any],
        *,
        name: str = "",
        provenance: dict | None = None,
        owner: str = "",
        status: str = Status.RUNNING,
    ) -> int:
        run_id = max(self._runs, default=0) + 1
        now = time.time()
        self._runs[run_id] = {
            "id": run_id,
            "name": name or f"run {run_id}",
            "created": now,
            "config": copy.deepcopy(config),
            "provenance": dict(provenance or {}),
            "status": status,
            "message": "",
            "heartbeat": now,
            "summary": {},
            "owner": owner,
            "sweep": None,
            "process": "",
        }
        return run_id

    def append_epoch(self, run_id: int, epoch: int, rows: Iterable[Row]) -> None:
        run = self._run(run_id)
        self.rows += [(run_id, epoch, t, s, m, float(v)) for t, s, m, v in rows]
        run["heartbeat"] = time.time()

    def heartbeat(self, run_id: int) -> None:
        self._run(run_id)["heartbeat"] = time.time()

    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        run = self._run(run_id)
        run["status"], run["heartbeat"] = status, time.time()
        if message is not None:
            run["message"] = message

    def set_provenance(self, run_id: int, provenance: dict[str, Any]) -> None:
        self._run(run_id)["provenance"] = copy.deepcopy(provenance)

    def put_array(self, run_id: int, name: str, array: Any, meta: dict | None = None) -> None:
        import numpy as np

        self._run(run_id)
        data = np.array(array, dtype="<f4")  # a copy, as the store keeps
        self.arrays[(run_id, name)] = (data, copy.deepcopy(meta or {}))

    def finish(
        self,
        run_id: int,
        status: str,
        message: str,
        summary: dict[str, Any],
        test_rows: dict[int, list[Row]],
    ) -> None:
        run = self._run(run_id)
        for epoch, rows in test_rows.items():
            self.rows += [(run_id, epoch, t, s, m, float(v)) for t, s, m, v in rows]
        run.update(status=status, message=message, summary=copy.deepcopy(summary))
        run["heartbeat"] = time.time()

    # -- reading (as RunStore reads) -----------------------------------------------------

    def _run(self, run_id: int) -> dict[str, Any]:
        try:
            return self._runs[int(run_id)]
        except KeyError:
            raise StoreError(f"no run with id {run_id} in this in-memory sink") from None

    def get_run(self, run_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._run(run_id))

    def runs(self) -> Any:
        """One row per run, newest first (a DataFrame, as ``RunStore.runs``)."""
        import pandas as pd

        records = [self.get_run(i) for i in sorted(self._runs, reverse=True)]
        return pd.DataFrame(records, columns=list(RUN_COLUMNS))

    def metrics(self, run_ids: int | Iterable[int] | None = None, since_epoch: int = -1) -> Any:
        """Long-form metrics in the store's format (``RunStore.metrics``): one row per
        (run_id, epoch, task, split, metric), sorted so; of every run when ``run_ids`` is
        None. A row written twice keeps its last value, as the store's upsert does."""

        if run_ids is None:
            ids = set(self._runs)
        else:
            ids = {int(run_ids)} if isinstance(run_ids, int) else {int(i) for i in run_ids}
        latest: dict[tuple, float] = {}
        for run_id, epoch, *key, value in self.rows:
            if run_id in ids and epoch > since_epoch:
                latest[(run_id, epoch, *key)] = value
        rows = [(*key, value) for key, value in sorted(latest.items())]
        return metric_frame(rows)

    def array_names(self, run_id: int) -> list[str]:
        return sorted(name for i, name in self.arrays if i == run_id)

    def get_array(self, run_id: int, name: str) -> tuple[Any, dict]:
        if (run_id, name) not in self.arrays:
            raise StoreError(f"run {run_id} has no stored array {name!r}")
        array, meta = self.arrays[(run_id, name)]
        return array.copy(), copy.deepcopy(meta)

    def last_epoch(self, run_id: int) -> int:
        epochs = [e for i, e, _, split, *_ in self.rows if i == run_id and split != "test"]
        return max(epochs, default=-1)

    def export_csv(self, run_ids: Iterable[int], path: str | Path) -> Path:
        from mtl_core.store.export import export_csv

        return export_csv(self, run_ids, path)

    def export_json(self, run_ids: Iterable[int], path: str | Path) -> Path:
        from mtl_core.store.export import export_json

        return export_json(self, run_ids, path)
