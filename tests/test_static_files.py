"""Streamlit's static files from memory (mtl_core/dashboard/static_files.py): a listed file
is answered from memory after one read, with Streamlit's headers; every other request
goes on to Streamlit untouched."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mtl_core.dashboard import static_files
from mtl_core.dashboard.static_files import LARGEST, StreamlitFiles


@pytest.fixture
def root(tmp_path) -> Path:
    """A stand-in for Streamlit's packaged front end."""
    (tmp_path / "static" / "js").mkdir(parents=True)
    (tmp_path / "static" / "media").mkdir()
    (tmp_path / "index.html").write_text("<html></html>")
    (tmp_path / "static" / "js" / "index.abc123.js").write_text("console.log('hi');")
    (tmp_path / "static" / "media" / "font.woff2").write_bytes(b"\x00font")
    (tmp_path / "static" / "js" / "huge.js").write_bytes(b"x" * (LARGEST + 1))
    return tmp_path


class Inner:
    """The app behind the middleware (Streamlit): records what reached it."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b"streamlit"})


def ask(app, path: str, method: str = "GET", headers=(), kind: str = "http"):
    """(status, headers, body) of one request to the ASGI ``app``."""
    sent = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    scope = {"type": kind, "method": method, "path": path, "headers": list(headers)}
    # in a thread of its own: another test of the same worker may leave this thread's
    # event loop running (asyncio.run refuses then)
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), body


def test_a_listed_file_is_read_once_then_answered_from_memory(root, monkeypatch):
    inner = Inner()
    app = StreamlitFiles(inner, base="/app", root=root)
    reads = []
    original = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or original(self))
    for _ in range(3):
        status, headers, body = ask(app, "/app/static/js/index.abc123.js")
        assert status == 200 and body == b"console.log('hi');"
        assert headers[b"content-type"] == b"text/javascript; charset=utf-8"
        assert headers[b"content-length"] == str(len(body)).encode()
        assert headers[b"cache-control"] == b"public, immutable, max-age=31536000"
    assert reads == [root / "static" / "js" / "index.abc123.js"]
    status, headers, body = ask(app, "/app/static/media/font.woff2", method="HEAD")
    assert (status, body, headers[b"content-length"]) == (200, b"", b"5")
    assert headers[b"content-type"] == b"font/woff2"
    assert inner.paths == []  # Streamlit never saw them


@pytest.mark.parametrize(
    ("path", "method", "headers"),
    [
        ("/app/", "GET", ()),  # the page's HTML: Streamlit's (the owner cookie goes with it)
        ("/app/index.html", "GET", ()),
        ("/app/static/js/missing.js", "GET", ()),
        ("/app/static/js/../../index.html", "GET", ()),  # not a listed name
        ("/app/static/js/huge.js", "GET", ()),  # over LARGEST
        ("/static/js/index.abc123.js", "GET", ()),  # outside the base path
        ("/app/static/js/index.abc123.js", "POST", ()),
        ("/app/static/js/index.abc123.js", "GET", ((b"range", b"bytes=0-3"),)),
        ("/app/static/js/index.abc123.js", "GET", ((b"if-none-match", b'"x"'),)),
        ("/app/static/js/index.abc123.js", "GET", ((b"if-modified-since", b"Mon"),)),
    ],
)
def test_every_other_request_goes_on_to_streamlit(root, path, method, headers):
    inner = Inner()
    app = StreamlitFiles(inner, base="/app", root=root)
    assert ask(app, path, method, headers)[0] == 299
    assert inner.paths == [path]


def test_a_websocket_goes_on_to_streamlit(root):
    inner = Inner()
    ask(StreamlitFiles(inner, root=root), "/static/js/index.abc123.js", kind="websocket")
    assert inner.paths == ["/static/js/index.abc123.js"]


def test_the_package_lists_the_scripts_a_page_loads():
    """Streamlit's own front end: its entry script and styles are listed (small enough)."""
    files = static_files.listed(static_files.static_root())
    html = (static_files.static_root() / "index.html").read_text()
    scripts = [n for n in files if n.endswith(".js") and n in html]
    assert scripts, "index.html names none of the listed scripts"
    assert all(path.stat().st_size <= LARGEST for path in files.values())
