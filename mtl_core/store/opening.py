"""Opening a run store: decide what the path is, connect, and set a damaged store aside.

Apart from ``runs.py`` (what a store holds and how it is written and read) because this
is about the file: ``safety`` decides whether the path may become or already is a run
store; a missing one is created beside the path and linked into place; a damaged one is
moved aside (never deleted) and a fresh one replaces it; anything else is refused with a
``StoreError`` and left as it was. A lock or a missing permission is not damage.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from mtl_core.errors import StoreError
from mtl_core.store import safety as store_file
from mtl_core.store.schema import SCHEMA_VERSION, _initialise


def open_store(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """A connection to the run store at ``path``, and where a damaged one was moved."""
    moved_aside = None
    kind = store_file.classify(path)  # refuses anything that is not a run store
    if kind == "missing" and not store_file.create_new(path, _initialise):
        kind = store_file.classify(path)  # another process created it meanwhile
    if kind == "damaged":
        moved_aside = _move_aside(path)
    try:
        return connect(path), moved_aside
    except StoreError:
        raise
    except sqlite3.OperationalError as exc:  # a lock, no permission: not damage
        raise StoreError(f"{path}: cannot open the run store ({exc})") from exc
    except sqlite3.DatabaseError as exc:  # corrupt: ours? (checked again: the file
        if moved_aside is not None:  # may have been swapped since)
            raise StoreError(f"{path}: a fresh run store cannot be opened") from None
        corrupt = getattr(exc, "sqlite_errorcode", None) in (
            sqlite3.SQLITE_CORRUPT,
            sqlite3.SQLITE_NOTADB,
        )
        if not corrupt or store_file.classify(path) == "missing":
            raise StoreError(f"{path}: cannot open the run store ({exc})") from None
        moved_aside = _move_aside(path)
        return connect(path), moved_aside


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30, check_same_thread=False, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        # WAL + NORMAL: a committed epoch survives a process crash; only an OS crash
        # could lose the last ones. FULL would fsync every epoch (up to 7% of a run).
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA application_id").fetchone()[0] != store_file.APPLICATION_ID:
            store_file.classify(path)  # not marked yet: ours? (the file may be new)
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path}: written by a newer version; upgrade mtl-curves")
        _initialise(conn)
        conn.execute("SELECT count(*) FROM runs").fetchone()
    except Exception:
        conn.close()
        raise
    return conn


def _move_aside(path: Path) -> Path:
    """Keep a damaged store for inspection (never delete it); a fresh one replaces it."""
    target = store_file.move_aside(path, time.strftime("%Y%m%d-%H%M%S"))
    if not store_file.create_new(path, _initialise):
        raise StoreError(f"{path}: a file appeared while the damaged store was moved")
    return target
