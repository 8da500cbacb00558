"""Streamlit's own files (its scripts, styles and fonts), served from memory.

Why: a page load fetches about a hundred of them (105 files, 3.2 MB here: Streamlit's
scripts and styles, then each widget's code as its first element arrives). Streamlit
serves each through Starlette's ``StaticFiles``, which stats and reads the file in worker
threads, each a hand-over of the interpreter lock: 1.3-1.4 ms per file, 0.14-0.16 s of
the server per page load, ten times that when a class opens the page at once, while the
live charts' answers wait for the same event loop. From memory: 0.4-0.5 ms per file
(``bench/bench_static.py``; docs/classroom.md).
Their names carry a hash of their content and the package does not change while the
server runs, so the launcher reads each once and answers from memory after that, with the
headers Streamlit gives them (immutable, for a year).

Only a GET or HEAD of a file the package's ``static/`` folder holds, named exactly, without
a Range or conditional header, is answered here; every other request (the page's HTML,
the websocket, the app's routes) goes on to Streamlit unchanged. A file larger than
``LARGEST`` is left to Streamlit too (the page never asks for those: Streamlit's own
Plotly and map bundles), so the memory held stays that of the files pages load.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

LARGEST = 2 * 1024 * 1024  # bytes: larger files stay with Streamlit
CACHE_CONTROL = b"public, immutable, max-age=31536000"  # as Streamlit's for hashed files


def static_root() -> Path:
    """Streamlit's packaged front end (``index.html`` and its ``static/`` folder)."""
    from streamlit import file_util

    return Path(file_util.get_static_dir())


def listed(root: Path) -> dict[str, Path]:
    """``static/...`` URL path (relative to the page) -> file, for every file of at most
    ``LARGEST`` bytes the package's ``static/`` folder holds: the only names answered here."""
    files = {}
    for folder, _, names in os.walk(root / "static"):
        for name in names:
            path = Path(folder) / name
            if path.stat().st_size <= LARGEST:
                files[path.relative_to(root).as_posix()] = path
    return files


class StreamlitFiles:
    """ASGI middleware: Streamlit's static files from memory (see the module's docstring)."""

    def __init__(self, app: ASGIApp, base: str = "", root: Path | None = None) -> None:
        self.app = app
        self.prefix = f"{base}/"
        self.files = listed(root or static_root())
        self.bodies: dict[str, bytes] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = self._name(scope)
        if name is None:
            await self.app(scope, receive, send)
            return
        body = self.bodies.get(name)
        if body is None:  # its first request: read in a thread, as Streamlit would
            body = await anyio.to_thread.run_sync(self.files[name].read_bytes)
            self.bodies[name] = body
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/"):  # as Starlette's file response says it
            kind += "; charset=utf-8"
        headers = [
            (b"content-type", kind.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", CACHE_CONTROL),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )

    def _name(self, scope: Scope) -> str | None:
        """The listed file a plain GET or HEAD asks for, else None (Streamlit answers)."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        path = scope["path"]
        if not path.startswith(self.prefix):
            return None
        name = path[len(self.prefix) :]
        if name not in self.files:
            return None
        asked = {key for key, _ in scope["headers"]}
        if asked & {b"range", b"if-none-match", b"if-modified-since", b"if-range"}:
            return None
        return name
