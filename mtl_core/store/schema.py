"""The run store's schema: its tables, its statuses and the shape of a metric row.

Apart from ``runs.py`` (the SQLite store) because more than the store speaks this format:
the in-memory sink (``mtl_core.training.sink``) gives the same long-form rows, and the
dashboard and the execution backends only need the status names. It imports nothing
heavier than ``sqlite3``, so none of them pull in pandas or numpy for a constant.
"""

from __future__ import annotations

import json
import sqlite3
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

from mtl_core.store import safety as store_file

if TYPE_CHECKING:
    import pandas as pd

SCHEMA_VERSION = 1


class Status(StrEnum):
    """A run's status, as the store's ``status`` column holds it. Members are strings, so
    they compare equal to what a store, a frame or an old file holds."""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


STATUSES = tuple(Status)
LIVE = (Status.QUEUED, Status.RUNNING, Status.PAUSED)
TRAINING = (Status.RUNNING, Status.PAUSED)  # a process holds the run: its identity is recorded
ORPHAN_QUEUED = "the process that queued this run ended before it started; re-run it from History"
Row = tuple[str, str, str, float]  # task, split, metric, value

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    config TEXT NOT NULL,
    provenance TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    heartbeat REAL NOT NULL,
    summary TEXT NOT NULL DEFAULT '{}',
    owner TEXT NOT NULL DEFAULT '',
    request TEXT NOT NULL DEFAULT '',
    sweep INTEGER,
    process TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sweeps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    spec TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    task TEXT NOT NULL,
    split TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, epoch, task, split, metric)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS arrays (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    meta TEXT NOT NULL,
    shape TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
"""
RUN_COLUMNS = (
    "id",
    "name",
    "created",
    "config",
    "provenance",
    "status",
    "message",
    "heartbeat",
    "summary",
    "owner",
    "sweep",
    "process",
)
# A metric row's columns and their types. A frame of no rows is typed too: an untyped
# empty frame (all ``object``) concatenated onto a run's curves turned ``value`` into
# ``object``, and every live redraw's band means then ran in Python, row by row (most of
# a lesson page's server time, found with py-spy).
METRIC_DTYPES = {
    "run_id": "int64",
    "epoch": "int64",
    "task": "str",
    "split": "str",
    "metric": "str",
    "value": "float64",
}
METRIC_COLUMNS = list(METRIC_DTYPES)


@cache
def _empty() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(columns=METRIC_COLUMNS).astype(METRIC_DTYPES)


def frame(rows: list[tuple], columns: list[str], parsed: tuple[str, ...] = ()) -> pd.DataFrame:
    """Rows as a frame, the ``parsed`` columns' JSON decoded (pandas is imported here, on
    first use: see the docstring)."""
    import pandas as pd

    table = pd.DataFrame(rows, columns=columns)
    for key in parsed:
        table[key] = table[key].map(json.loads)
    return table


def metric_frame(rows: list[tuple]) -> pd.DataFrame:
    """Metric rows (in ``METRIC_COLUMNS`` order) as a frame with ``METRIC_DTYPES``. Rows
    carry their types (SQLite's REAL is a float); converting them all again cost a live
    page more than reading them, so only the empty frame and a stray column convert."""
    import pandas as pd

    if not rows:
        return _empty().copy()
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    wrong = {c: t for c, t in METRIC_DTYPES.items() if str(frame[c].dtype) != t}
    return frame.astype(wrong) if wrong else frame


def _initialise(conn: sqlite3.Connection) -> None:
    """Create or migrate the schema, and mark the file as a run store (``application_id``)."""
    conn.executescript(_SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
    if "request" not in columns:  # stores from before pause/stop requests
        conn.execute("ALTER TABLE runs ADD COLUMN request TEXT NOT NULL DEFAULT ''")
    if "sweep" not in columns:  # stores from before sweeps
        conn.execute("ALTER TABLE runs ADD COLUMN sweep INTEGER")
    if "process" not in columns:  # stores from before liveness checks
        conn.execute("ALTER TABLE runs ADD COLUMN process TEXT NOT NULL DEFAULT ''")
    if conn.execute("PRAGMA application_id").fetchone()[0] != store_file.APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {store_file.APPLICATION_ID}")
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
