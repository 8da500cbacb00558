"""Which file a run store may touch: its own, and nothing else.

A path given as ``--store`` or ``MTL_STORE`` is the user's. A typo there once renamed a CSV,
a README or a system file aside and put a fresh store in its place, which, run as root,
reaches any file on the machine. So before anything is written the path is classified:

- nothing there: a new store is created, atomically and without replacing anything (built
  under a temporary name beside it, then hard-linked into place, which fails if a file
  appeared meanwhile);
- an SQLite file carrying this project's ``application_id`` (set at creation), or an older
  store whose schema holds the run-store tables: opened (and migrated);
- such a file that SQLite cannot read (truncated, corrupt) is *damaged*: only then may the
  store move it aside, under a new name that replaces nothing;
- anything else (not SQLite, another application's database, a folder, a device, a pipe, a
  dangling link) is refused with one line naming the path and the fix, and left alone.

Reading the header and the schema never writes: the schema is read through a read-only,
``immutable`` connection, so not even a ``-wal`` or ``-shm`` file appears beside a stranger's
database.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from pathlib import Path
from typing import Literal

from mtl_core.errors import StoreError

# "MTLC": written into the SQLite header (offset 68) of every store this project creates.
APPLICATION_ID = 0x4D544C43
SQLITE_MAGIC = b"SQLite format 3\x00"
# The table and columns that make a file without the id (a store from before it) a run store.
_REQUIRED = {"runs": {"id", "name", "created", "config", "status", "heartbeat"}}
# What page 1 of a damaged old store still shows of its schema text.
_SCHEMA_MARKS = (b"CREATE TABLE runs", b"heartbeat REAL", b"config TEXT")

Kind = Literal["missing", "store", "damaged"]


def _shown(path: Path) -> str:
    return " ".join(str(path).split())  # one line, whatever the path holds


def refuse(path: Path, why: str) -> StoreError:
    return StoreError(
        f"{_shown(path)} {why}; it was left untouched: choose another --store or MTL_STORE path"
    )


def busy(path: Path, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"{_shown(path)}: cannot read the run store now ({exc}); try again, or "
        "check who else has it open"
    )


def classify(path: Path) -> Kind:
    """``missing``, ``store`` (ours, opens) or ``damaged`` (ours, unreadable); else raise."""
    try:
        info = os.stat(path)  # follows a link to where it points
    except FileNotFoundError:
        if os.path.islink(path):
            raise refuse(path, "is a symbolic link to nothing") from None
        return "missing"
    except OSError as exc:  # a parent that is a file, no permission to look
        raise StoreError(f"{path}: cannot use it as the run store ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise refuse(path, "is a folder, not a run store")
    if not stat.S_ISREG(info.st_mode):
        raise refuse(path, "is not a regular file (a device, pipe or socket), not a run store")
    if info.st_size == 0:
        raise refuse(path, "is an empty file, not a run store")
    probe = _probe(path)
    if probe is None:
        raise refuse(path, "is not a run store (not an SQLite database)")
    app_id, tables = probe
    if app_id == APPLICATION_ID:
        return "store"  # whether it is readable shows when it is opened
    if app_id:
        raise refuse(path, f"is another application's SQLite database (id {app_id:#x})")
    if tables is None and Path(f"{path}-wal").exists():  # corrupt as read from the file
        probe = _probe(path, immutable=False)  # alone: a writer may be at work; ask again
        tables = probe[1] if probe else None  # with its WAL and SQLite's locks
    if tables is None:  # SQLite cannot read it: damaged; ours only if its schema says so
        if _schema_page_marks(path):
            return "damaged"
        raise refuse(path, "is a damaged SQLite database that is not a run store")
    if all(_REQUIRED[t] <= tables.get(t, set()) for t in _REQUIRED):
        return "store"  # a store made before the application id: migrated on open
    raise refuse(path, "is an SQLite database without the run-store tables")


def _probe(path: Path, immutable: bool = True) -> tuple[int, dict[str, set[str]] | None] | None:
    """(application id, table -> columns) as SQLite reads them; None for a file that is not
    SQLite; tables None where SQLite finds the file corrupt. Nothing is written. Any
    other failure (locked, busy, no permission, I/O) is a StoreError: neither foreign nor
    damaged, so nothing may be done to the file.

    Read through SQLite, never with a plain ``open``: closing any file descriptor of a
    database drops every POSIX lock this process holds on it, so another process would
    think this one's store connections gone and could checkpoint and delete their WAL.
    SQLite's own opens keep those locks. ``immutable`` takes no locks and creates no
    ``-wal`` or ``-shm`` beside a stranger's file; it reads the file as it is on disk.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro" + ("&immutable=1" if immutable else "")
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise busy(path, exc) from None
    try:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            code = getattr(exc, "sqlite_errorcode", None)
            if code == sqlite3.SQLITE_NOTADB:
                return None
            if code == sqlite3.SQLITE_CORRUPT:
                return 0, None  # an SQLite header, but SQLite cannot read past it
            raise busy(path, exc) from None
        try:
            names = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            tables = {n: {r[1] for r in conn.execute(f'PRAGMA table_info("{n}")')} for n in names}
        except sqlite3.DatabaseError as exc:
            if getattr(exc, "sqlite_errorcode", None) not in (
                sqlite3.SQLITE_CORRUPT,
                sqlite3.SQLITE_NOTADB,
            ):
                raise busy(path, exc) from None
            tables = None
        return app_id, tables
    finally:
        conn.close()


def _schema_page_marks(path: Path) -> bool:
    """Does page 1 (the schema page) still carry the run-store table definitions?

    A plain read is safe here: only a file with application id 0 gets here, and every
    store this project opens has its id set, so no store connection of this process is
    open on it."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
            size = int.from_bytes(header[16:18], "big") if len(header) >= 18 else 0
            page = header + handle.read(max(65536 if size == 1 else size, 512) - len(header))
    except OSError:
        return False
    return page.startswith(SQLITE_MAGIC) and all(mark in page for mark in _SCHEMA_MARKS)


def create_new(path: Path, initialise) -> bool:
    """Create a store at ``path`` without ever replacing a file; False if one appeared.

    ``initialise(conn)`` writes the schema into a temporary file beside ``path``; the file
    is then linked to ``path``, which fails if anything exists there by then.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _create_new(path, initialise)
    except (OSError, sqlite3.OperationalError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise StoreError(f"{path}: cannot create the run store there ({why})") from None


def _create_new(path: Path, initialise) -> bool:
    tmp = path.with_name(f".{path.name}.new-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            initialise(conn)
            conn.execute("PRAGMA journal_mode = WAL")
        finally:
            conn.close()  # checkpoints: the whole store is in the file, no -wal left
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a file system without hard links: an exclusive create instead
            try:
                with open(path, "xb") as out:
                    out.write(tmp.read_bytes())
            except FileExistsError:
                return False
        return True
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def move_aside(path: Path, stamp: str) -> Path:
    """Rename a damaged store (and its -wal/-shm) to ``<name>.broken-<stamp>[-N]``.

    A hard link plus unlink, so an existing file of that name is never replaced. A store
    reached through a symbolic link is not moved (that would move the link, not the store).
    """
    if path.is_symlink():
        raise StoreError(
            f"{_shown(path)} links to a damaged run store ({os.path.realpath(path)}):"
            " move that file away by hand, or choose another --store path"
        )
    for n in range(1000):
        target = path.with_name(f"{path.name}.broken-{stamp}" + (f"-{n}" if n else ""))
        if _rename_no_clobber(path, target):
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                if side.exists():
                    _rename_no_clobber(side, Path(f"{target}{suffix}"))
            return target
    raise StoreError(f"{path} is damaged and could not be moved aside: move it away by hand")


def _rename_no_clobber(src: Path, dst: Path) -> bool:
    try:
        os.link(src, dst, follow_symlinks=False)
    except FileExistsError:
        return False
    except OSError:  # no hard links here: check, then rename (a small race, but no loss)
        if dst.exists() or dst.is_symlink():
            return False
        os.rename(src, dst)
        return True
    os.unlink(src)
    return True
