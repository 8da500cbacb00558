"""The run store: one SQLite file, the single source of truth for every curve.

WAL mode lets the dashboard read while trainers write; a busy timeout makes several
writing processes wait rather than fail. Each finished epoch is one transaction, so a
crash loses at most the epoch in progress. When a store is opened, a live run whose
process is gone (``liveness.py``; another host's: no heartbeat) becomes ``interrupted``.

The store only ever opens, creates or moves aside its own files: what it may do with the
path it is given is decided in ``store_file`` before anything is written (``opening.py``).
The tables and status names are in ``schema.py``, file exports in ``export.py``; the
names of ``schema`` stay importable from here, where the rest of mtl_core imports them.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mtl_core.errors import StoreError
from mtl_core.paths import default_store_path
from mtl_core.store.export import export_csv, export_json
from mtl_core.store.liveness import is_dead, this_process
from mtl_core.store.opening import open_store
from mtl_core.store.schema import (
    LIVE,
    METRIC_COLUMNS,
    ORPHAN_QUEUED,
    RUN_COLUMNS,
    STATUSES,
    TRAINING,
    Row,
    Status,  # noqa: F401  (LIVE, ORPHAN_QUEUED: imported from here)
    frame,
    metric_frame,
)
from mtl_core.store.select import runs_where

if TYPE_CHECKING:
    import pandas as pd


class _Result:
    """A statement's rows and last row id, read in full under the store's lock."""

    __slots__ = ("lastrowid", "rowcount", "rows")

    def __init__(self, rows: list, lastrowid: int | None, rowcount: int) -> None:
        self.rows, self.lastrowid, self.rowcount = rows, lastrowid, rowcount

    def fetchone(self) -> Any:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list:
        return self.rows


class RunStore:
    """Runs and their long-form metrics. Safe to share between threads of one process.

    A ``RunSink`` (``mtl_core.training.sink``): ``train`` writes into it directly."""

    def __init__(self, path: str | Path | None = None, *, stale_after: float | None = None) -> None:
        self.path = Path(path) if path else default_store_path()
        if stale_after is None:  # the operator's MTL_STALE_AFTER, 60 s by default
            from mtl_core.limits import stale_after_from_env

            stale_after = stale_after_from_env()
        self.stale_after = stale_after
        self._lock = threading.RLock()
        # moved_aside: where a damaged store was moved, if it was (see ``opening.py``)
        self._conn, self.moved_aside = open_store(self.path)
        self.mark_stale()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> _Result:
        """Run one statement and read its whole result while holding the lock: the
        connection is shared by every thread of a server (one per page), and a cursor read
        after the lock is released could see another thread's statement (a lost
        ``lastrowid`` lost a run under ten pages: bench/bench_class.py)."""
        with self._lock:
            try:
                cur = self._conn.execute(sql, params)
                return _Result(cur.fetchall(), cur.lastrowid, cur.rowcount)
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: {exc}") from exc

    @contextlib.contextmanager
    def if_free(self) -> Iterator[bool]:
        """True (the store held for the block) if no other thread is using it, else False at
        once: for a caller that must not wait, the server's event loop (dashboard/feed.py)."""
        free = self._lock.acquire(blocking=False)
        try:
            yield free
        finally:
            if free:
                self._lock.release()

    def _transaction(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                for sql, params in statements:
                    self._conn.execute(sql, params)
                self._conn.execute("COMMIT")
            except BaseException as exc:  # a Ctrl-C or a worker's SIGTERM too: else the
                if self._conn.in_transaction:  # next write joins the cut one, lost with it
                    self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"{self.path}: {exc}") from exc
                raise

    # -- writing -----------------------------------------------------------------------

    def create_run(
        self,
        config: dict[str, Any],
        *,
        name: str = "",
        provenance: dict | None = None,
        owner: str = "",
        status: str = Status.RUNNING,
        sweep: int | None = None,
    ) -> int:
        now = time.time()
        process = this_process()  # who queued it, or trains it: see mark_stale
        described = (name, now, json.dumps(config, sort_keys=True), json.dumps(provenance or {}))
        cur = self._execute(
            "INSERT INTO runs (name, created, config, provenance, status, heartbeat, owner, sweep,"
            " process) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*described, status, now, owner, sweep, process),
        )
        run_id = int(cur.lastrowid)
        if not name:
            self._execute("UPDATE runs SET name = ? WHERE id = ?", (f"run {run_id}", run_id))
        return run_id

    def append_epoch(self, run_id: int, epoch: int, rows: Iterable[Row]) -> None:
        """All rows of one epoch, and a heartbeat, in one transaction."""
        insert = "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?)"
        statements = [(insert, (run_id, epoch, t, s, m, float(v))) for t, s, m, v in rows]
        statements.append(("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id)))
        self._transaction(statements)

    def heartbeat(self, run_id: int) -> None:
        self._execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def set_status(self, run_id: int, status: str, message: str | None = None) -> None:
        assert status in STATUSES, status
        if status in TRAINING:  # this process trains it now: openers can tell if it dies
            self._execute("UPDATE runs SET process = ? WHERE id = ?", (this_process(), run_id))
        if message is None:
            self._execute(
                "UPDATE runs SET status = ?, heartbeat = ? WHERE id = ?",
                (status, time.time(), run_id),
            )
        else:
            self._execute(
                "UPDATE runs SET status = ?, message = ?, heartbeat = ? WHERE id = ?",
                (status, message, time.time(), run_id),
            )

    def claim(self, run_id: int) -> bool:
        """Mark a queued run as running in this process; False if it is no longer queued
        (stopped, or ended as orphaned because the process that queued it died)."""
        cur = self._execute(
            "UPDATE runs SET status = ?, process = ?, heartbeat = ? WHERE id = ? AND status = ?",
            (Status.RUNNING, this_process(), time.time(), run_id, Status.QUEUED),
        )
        return cur.rowcount == 1

    def set_provenance(self, run_id: int, provenance: dict[str, Any]) -> None:
        self._execute(
            "UPDATE runs SET provenance = ? WHERE id = ?",
            (json.dumps(provenance, sort_keys=True), run_id),
        )

    def finish(
        self,
        run_id: int,
        status: str,
        message: str,
        summary: dict[str, Any],
        test_rows: dict[int, list[Row]],
    ) -> None:
        """The final status, summary and test rows (one per main task's best epoch)."""
        insert = "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?)"
        statements = [
            (insert, (run_id, epoch, t, s, m, float(v)))
            for epoch, rows in test_rows.items()
            for t, s, m, v in rows
        ]
        statements.append(
            (
                "UPDATE runs SET status = ?, message = ?, summary = ?, heartbeat = ? WHERE id = ?",
                (status, message, json.dumps(summary, sort_keys=True), time.time(), run_id),
            )
        )
        self._transaction(statements)

    def put_array(
        self, run_id: int, name: str, array: np.ndarray, meta: dict | None = None
    ) -> None:
        """Store a float32 array (e.g. trunk features) as raw bytes plus its shape: no pickle."""
        data = np.ascontiguousarray(array, dtype="<f4")
        self._execute(
            "INSERT OR REPLACE INTO arrays VALUES (?, ?, ?, ?, ?)",
            (run_id, name, json.dumps(meta or {}), json.dumps(list(data.shape)), data.tobytes()),
        )

    def request(self, run_id: int, action: str, reason: str = "") -> None:
        """Ask the process training ``run_id`` to ``pause``, ``stop`` or resume (``""``).

        A stop's ``reason`` (a page closed, a pause timed out) is the message the run ends
        with: the trainer records it itself (``stop_reason``), so no reader ever sees the
        run stopped under a generic message first and the right one a moment later."""
        assert action in ("", "pause", "stop"), action
        if reason:
            self._execute(  # an ended run keeps the message it ended with
                "UPDATE runs SET request = ?, message = CASE WHEN status IN "
                f"({', '.join('?' * len(LIVE))}) THEN ? ELSE message END WHERE id = ?",
                (action, *LIVE, reason, run_id),
            )
        else:
            self._execute("UPDATE runs SET request = ? WHERE id = ?", (action, run_id))

    def pending_request(self, run_id: int) -> str:
        row = self._execute("SELECT request FROM runs WHERE id = ?", (run_id,)).fetchone()
        return row[0] if row else "stop"

    def stop_reason(self, run_id: int) -> str:
        """Why a live run was asked to stop ('' when no reason was given)."""
        row = self._execute(
            "SELECT message FROM runs WHERE id = ? AND request = 'stop'", (run_id,)
        ).fetchone()
        return row[0] if row else ""

    def rename(self, run_id: int, name: str) -> None:
        self._execute("UPDATE runs SET name = ? WHERE id = ?", (name.strip()[:200], run_id))

    def delete(self, run_ids: Iterable[int]) -> None:
        ids = [int(i) for i in run_ids]
        self._transaction(
            [("DELETE FROM metrics WHERE run_id = ?", (i,)) for i in ids]
            + [("DELETE FROM arrays WHERE run_id = ?", (i,)) for i in ids]
            + [("DELETE FROM runs WHERE id = ?", (i,)) for i in ids]
        )

    def mark_stale(self) -> list[int]:
        """Live runs whose process is gone: at once when it ran on this machine
        (``liveness``), else, for runs training, once the heartbeat is older than
        ``stale_after``. A queued run waits on the process that queued it (a dashboard
        server, a CLI batch): when that is gone it can never start."""
        cutoff = time.time() - self.stale_after
        rows = self._execute(
            "SELECT id, status, heartbeat, process FROM runs"
            f" WHERE status IN ({', '.join('?' * len(LIVE))})",
            LIVE,
        ).fetchall()
        ended = []
        for run_id, status, heartbeat, process in rows:
            if is_dead(process):
                why = (
                    ORPHAN_QUEUED
                    if status == Status.QUEUED
                    else "the training process ended without finishing the run"
                )
            elif status != Status.QUEUED and heartbeat < cutoff:
                why = "the training process stopped without finishing (no heartbeat)"
            else:
                continue
            if status != Status.QUEUED:
                why += "; its finished epochs are kept"
            self._execute(
                "UPDATE runs SET status = ?, message = ? WHERE id = ? AND status = ?",
                (Status.INTERRUPTED, why, run_id, status),
            )
            ended.append(run_id)
        return ended

    # -- reading -----------------------------------------------------------------------

    def _row(self, run_id: int, columns: Sequence[str]) -> tuple:
        sql = f"SELECT {', '.join(columns)} FROM runs WHERE id = ?"
        if row := self._execute(sql, (int(run_id),)).fetchone():
            return row
        hint = "see `python -m mtl_core list`"
        raise StoreError(f"no run with id {run_id} in {self.path}; {hint}")

    def status(self, run_id: int) -> str:
        """The run's status alone: what a live chart asks about every second (feed.py)."""
        return self._row(run_id, ["status"])[0]

    def get_run(self, run_id: int) -> dict[str, Any]:
        run = dict(zip(RUN_COLUMNS, self._row(run_id, RUN_COLUMNS), strict=True))
        for key in ("config", "provenance", "summary"):
            run[key] = json.loads(run[key])
        return run

    def create_sweep(self, name: str, spec: dict[str, Any]) -> int:
        """A sweep groups runs (``create_run(..., sweep=id)``); ``spec`` is its sweep file,
        stored in the file's order (the dashboard shows the axes in that order)."""
        sql = "INSERT INTO sweeps (name, created, spec) VALUES (?, ?, ?)"
        return int(self._execute(sql, (name, time.time(), json.dumps(spec))).lastrowid)

    def sweeps(self) -> pd.DataFrame:
        """One row per sweep, newest first: id, name, created, spec (parsed), runs."""
        rows = self._execute(
            "SELECT s.id, s.name, s.created, s.spec, count(r.id) FROM sweeps s"
            " LEFT JOIN runs r ON r.sweep = s.id GROUP BY s.id ORDER BY s.id DESC"
        ).fetchall()
        return frame(rows, ["id", "name", "created", "spec", "runs"], parsed=("spec",))

    def get_sweep(self, sweep_id: int) -> dict[str, Any]:
        row = self._execute(
            "SELECT id, name, created, spec FROM sweeps WHERE id = ?", (int(sweep_id),)
        ).fetchone()
        if row is None:
            raise StoreError(f"no sweep with id {sweep_id} in {self.path}")
        return {"id": row[0], "name": row[1], "created": row[2], "spec": json.loads(row[3])}

    def runs(
        self,
        owner: str | None = None,
        sweep: int | None = None,
        *,
        ids: Iterable[int] | None = None,
        seeds: Iterable[int] | None = None,
    ) -> pd.DataFrame:
        """One row per run, newest first, with config, summary and provenance parsed;
        only ``owner``'s, ``sweep``'s, the runs ``ids`` or those of ``seeds``, when given
        (``select.py`` says why the last two)."""
        where, params = runs_where(owner, sweep, ids, seeds)
        rows = self._execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM runs{where} ORDER BY id DESC", params
        ).fetchall()
        return frame(rows, list(RUN_COLUMNS), parsed=("config", "provenance", "summary"))

    def metrics(
        self, run_ids: int | Iterable[int], since_epoch: int = -1, metric: str | None = None
    ) -> pd.DataFrame:
        """Long-form metrics of the runs after epoch ``since_epoch`` (``metric``'s, if given)."""
        ids = [int(run_ids)] if isinstance(run_ids, int) else [int(i) for i in run_ids]
        only = [] if metric is None else [metric]
        rows = self._execute(
            f"SELECT {', '.join(METRIC_COLUMNS)} FROM metrics WHERE run_id IN"
            f" ({','.join('?' * len(ids))}) AND epoch > ?{' AND metric = ?' * len(only)}"
            " ORDER BY run_id, epoch, task, split, metric",
            (*ids, since_epoch, *only),
        ).fetchall()
        return metric_frame(rows)

    def array_names(self, run_id: int) -> list[str]:
        rows = self._execute("SELECT name FROM arrays WHERE run_id = ? ORDER BY name", (run_id,))
        return [r[0] for r in rows.fetchall()]

    def get_array(self, run_id: int, name: str) -> tuple[np.ndarray, dict]:
        row = self._execute(
            "SELECT meta, shape, data FROM arrays WHERE run_id = ? AND name = ?", (run_id, name)
        ).fetchone()
        if row is None:
            raise StoreError(f"run {run_id} has no stored array {name!r}")
        shape = tuple(json.loads(row[1]))
        array = np.frombuffer(row[2], dtype="<f4")
        if array.size != math.prod(shape):
            raise StoreError(f"run {run_id}: stored array {name!r} is damaged (wrong size)")
        return array.reshape(shape), json.loads(row[0])

    def last_epoch(self, run_id: int) -> int:
        sql = "SELECT max(epoch) FROM metrics WHERE run_id = ? AND split != 'test'"
        row = self._execute(sql, (run_id,)).fetchone()
        return -1 if row[0] is None else int(row[0])

    def integrity_ok(self) -> bool:
        return self._execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- export (``export.py``) ---------------------------------------------------------

    def export_csv(self, run_ids: Iterable[int], path: str | Path) -> Path:
        return export_csv(self, run_ids, path)

    def export_json(self, run_ids: Iterable[int], path: str | Path) -> Path:
        return export_json(self, run_ids, path)
