"""An open page's pulse reaches the run managers (mtl_core/dashboard/pulse.py).

The browser's timer (widgets/keepalive.py) posts to the launcher's ``mtl/alive`` route; the
route names the owner from its cookie, or from the body for a session without one, and
every listening manager then counts the page as open. A request without a valid token is
refused and changes nothing. The browser half is tested end to end by
tests/e2e/test_crash.py (an open tab keeps its runs, a closed one loses them).
"""

from __future__ import annotations

import asyncio
import gc
import json
from concurrent.futures import ThreadPoolExecutor

from starlette.requests import Request

from mtl_core.dashboard import pulse, serve
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import OWNER_COOKIE
from mtl_core.dashboard.widgets.keepalive import ALIVE_ROUTE

OWNER, OTHER = "ab" * 16, "cd" * 16


class Listener:
    def __init__(self) -> None:
        self.owners: list[str] = []

    def seen(self, owner: str) -> None:
        self.owners.append(owner)


def post(cookie: str | None = None, body: object = None) -> int:
    headers = [(b"content-type", b"application/json")]
    if cookie is not None:
        headers.append((b"cookie", f"{OWNER_COOKIE}={cookie}".encode()))
    raw = b"" if body is None else json.dumps(body).encode()
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/{ALIVE_ROUTE}",
        "headers": headers,
        "query_string": b"",
    }

    async def receive() -> dict:
        return {"type": "http.request", "body": raw, "more_body": False}

    # In a thread of its own: a test before may leave an event loop running in this one
    # (Playwright's sync API, whose browser lives for the whole session).
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, serve.alive(Request(scope, receive))).result()
    return response.status_code


def test_the_route_is_served_next_to_the_page():
    assert f"/{ALIVE_ROUTE}" in [route.path for route in serve.routes()]


def test_a_beat_names_the_owner_from_the_cookie_or_else_the_body():
    listener = Listener()
    pulse.listen(listener)
    assert post(cookie=OWNER) == 204
    assert post(cookie=OWNER, body={"owner": OTHER}) == 204  # the cookie wins
    assert post(body={"owner": OTHER}) == 204  # a session without the cookie
    assert listener.owners == [OWNER, OWNER, OTHER]


def test_a_beat_without_a_valid_token_is_refused_and_changes_nothing():
    listener = Listener()
    pulse.listen(listener)
    for cookie, body in [(None, None), ("nope", None), (None, {"owner": "x"}), (None, [1])]:
        assert post(cookie=cookie, body=body) == 400
    assert listener.owners == []


def test_a_dropped_manager_stops_listening():
    listener = Listener()
    pulse.listen(listener)
    del listener
    gc.collect()
    assert pulse.beat(OWNER) == sum(1 for _ in pulse._listeners)
    assert all(type(m) is not Listener for m in pulse._listeners)


def test_a_run_manager_counts_a_page_open_when_its_browser_beats(tmp_path, monkeypatch):
    monkeypatch.setattr(RunManager, "warm", lambda self: None)
    manager = RunManager(tmp_path / "runs.sqlite")
    try:
        assert manager.open_pages(within=60) == 0
        assert post(cookie=OWNER) == 204
        assert manager.open_pages(within=60) == 1
    finally:
        manager.shutdown()
