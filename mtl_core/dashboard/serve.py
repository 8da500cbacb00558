"""The launcher's parts: Plotly.js route, owner cookie, server-start warming.

The one entry, ``streamlit run dashboard/serve.py`` (``make dashboard``), wraps the page
(``dashboard/app.py``, which calls ``mtl_core.dashboard.app.page``) in an ``st.App``: an
ASGI app that ``streamlit run`` detects in the script's source (so the ``app = st.App(...)``
line stays in that file) and serves with uvicorn, honouring ``.streamlit/config.toml`` and
the command-line flags. Its parts live here, so that the app serves its own routes next to
Streamlit's:

- ``mtl/plotly.min.js``: Plotly.js for the charts (mtl_core/dashboard/widgets/plot.py):
  the cartesian bundle in ``static/`` (its README says where it comes from), a third of
  the full bundle that the ``plotly`` package ships, with every trace type the charts
  draw (tests/test_plotly_bundle.py). A browser's first chart waited for the full bundle
  to load and compile: a cold first click drew its first point 0.5-1 s later. Nothing is
  written, so the checkout may be read-only (with ``MTL_STORE`` and ``MTL_DATA_ROOT``
  pointing to a writable place).
- ``mtl/alive``: each open page's pulse (mtl_core/dashboard/pulse.py), which keeps its
  runs from being stopped as abandoned.
- ``mtl/points?run=ID&after=EPOCH``: a live chart's new epochs (mtl_core/dashboard/feed.py),
  read by the chart itself between the page's slower redraws.
- Streamlit's own scripts, styles and fonts, from memory after their first read
  (mtl_core/dashboard/static_files.py): Streamlit's way cost the event loop about 1.3 ms
  per file, a hundred files per page load.
- the owner cookie (mtl_core/dashboard/state.py): a page load without one gets a new random token
  in an HttpOnly cookie. The browser sends it with the page's websocket, where
  ``st.context.cookies`` reads it, so a reload keeps control of the runs it started while
  the URL (and any link copied from the address bar) carries the setup only.

Code that must run once when the server starts (before the first page) belongs in its
``lifespan`` hook: it starts the workers' forkserver, which imports torch and the trainer
while the first page loads (mtl_core/execution/forkserver.py), and a thread imports the
page's own modules, so the first page's script run does not.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import config

from mtl_core.dashboard import feed, pulse, state
from mtl_core.dashboard.static_files import StreamlitFiles
from mtl_core.dashboard.widgets.keepalive import ALIVE_ROUTE
from mtl_core.execution import forkserver

log = logging.getLogger(__name__)
PLOTLY_JS = Path(__file__).parent / "static" / "plotly-cartesian.min.js"
PLOTLY_ROUTE = (
    "mtl/plotly.min.js"  # relative to the page (mtl_core/dashboard/widgets/plot.py loads it)
)


def _base() -> str:
    """``/<server.baseUrlPath>`` ('' without one): Streamlit serves the page under it."""
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


async def plotly_js(request) -> FileResponse:
    return FileResponse(
        PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
    )


def owner_cookie(token: str) -> str:
    secure = "; Secure" if config.get_option("server.sslCertFile") else ""
    return (
        f"{state.OWNER_COOKIE}={token}; Path={_base() or '/'}; "
        f"Max-Age={state.OWNER_COOKIE_DAYS * 86400}; HttpOnly; SameSite=Lax{secure}"
    )


class OwnerCookie:
    """Give a browser without a valid owner cookie one, with the page (the HTML response).

    Only HTML responses carry it: the page load comes first, the scripts and the websocket
    it opens follow with the cookie, so one page load never mints two tokens.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or state.valid_token(
            HTTPConnection(scope).cookies.get(state.OWNER_COOKIE)
        ):
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    headers.append("set-cookie", owner_cookie(state.new_token()))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


@contextlib.asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[None]:
    """At server start, before any page: the workers' forkserver starts importing torch
    and the trainer (mtl_core/execution/forkserver.py), so the first page and click do not wait."""
    forkserver.start(ignore_sigint=False)
    skip_direct_run_check()
    threading.Thread(target=_import_page, name="mtl-page-import", daemon=True).start()
    yield None
    forkserver.close()  # stopping: a page's script run must not start a process now


def _import_page() -> None:
    """Import the page's modules (pandas, Plotly, the views) while no page is open yet, so
    the first page's script run finds them imported (the page never imports torch:
    tests/test_light_imports.py)."""
    try:
        importlib.import_module("mtl_core.dashboard.app")
    except Exception:  # the page will import it again and show what is wrong
        log.exception("importing the page ahead of its first run failed")


def skip_direct_run_check() -> None:
    """Spare the first page Streamlit's check of how it was started.

    The first element any script run draws asks whether Streamlit runs in a REPL or
    without ``streamlit run``, to print a warning once per process: it walks the script
    thread's stack with ``inspect.stack()``, which reads every frame's source and maps
    every imported module's file (about 1,500 ``realpath`` calls): 0.18 s of the first
    page's 0.37 s script run here (bench/profile_page.py). The launcher runs under
    ``streamlit run`` by construction, so the warning never applies: mark it shown. If a
    later Streamlit renames the flag, this sets an unused attribute and the check runs
    again, at the same cost as before."""
    from streamlit import delta_generator

    delta_generator._use_warning_has_been_displayed = True


async def alive(request: Request) -> Response:
    """A page's pulse (mtl_core/dashboard/widgets/keepalive.py): its owner, from the cookie
    or (a session without one) the body, is seen by the run managers (pulse.py)."""
    owner = request.cookies.get(state.OWNER_COOKIE)
    if not state.valid_token(owner):
        try:
            body = await request.json()
        except ValueError:
            body = None
        owner = body.get("owner") if isinstance(body, dict) else None
    if not state.valid_token(owner):
        return Response("no owner token", status_code=400)
    pulse.beat(owner)
    return Response(status_code=204)


async def points(request: Request) -> Response:
    """A live chart's new epochs (feed.py): read on the event loop if the store is free (a
    millisecond or so), else in a thread, so that the loop never waits for the store."""
    try:
        run_id = int(request.query_params["run"])
        after = int(request.query_params.get("after", "-1"))
    except (KeyError, ValueError):
        return Response("run and after must be whole numbers: ?run=ID&after=EPOCH", 400)
    body = feed.points_for(run_id, after, wait=False)
    if body is feed.BUSY:
        body = await run_in_threadpool(feed.points_for, run_id, after)
    if body is None:
        return Response(f"no run {run_id} in this server's store", status_code=404)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    """The app's own routes, served next to Streamlit's."""
    return [
        Route(f"{_base()}/{PLOTLY_ROUTE}", plotly_js, methods=["GET"]),
        Route(f"{_base()}/{ALIVE_ROUTE}", alive, methods=["POST"]),
        Route(f"{_base()}/{feed.FEED_ROUTE}", points, methods=["GET"]),
    ]


def middleware() -> list[Middleware]:
    return [Middleware(StreamlitFiles, base=_base()), Middleware(OwnerCookie)]


def mark_launcher() -> None:
    """Tell the page it runs under the launcher (it checks, mtl_core/dashboard/state.py)."""
    os.environ[state.LAUNCHER_ENV] = "1"
