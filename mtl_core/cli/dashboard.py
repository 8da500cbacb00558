"""``mtl-curves dashboard [--port N]``: the dashboard through its launcher, from anywhere.

``make dashboard`` runs ``streamlit run dashboard/serve.py`` in the checkout, where
Streamlit reads ``.streamlit/config.toml`` from the working folder. An installed package
has no such folder in reach, so this verb passes every setting of that file as a flag
(``STREAMLIT_SETTINGS``; tests/test_install.py checks the two agree) and finds the
launcher where the package put it: ``mtl_core/_launch/dashboard/`` in an installed wheel
(pyproject.toml ships the checkout's ``dashboard/`` folder there), ``dashboard/`` in a
checkout. The launcher serves the Plotly.js bundle shipped in the package
(``mtl_core/dashboard/static/``), so nothing else needs to be found.

The verb replaces its own process with Streamlit's (``exec``; a child process elsewhere),
so Ctrl-C and a stop signal reach the server as with ``make dashboard``. The CLI never
imports the dashboard: the launcher runs in the new process.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from mtl_core.errors import MtlError
from mtl_core.paths import PROJECT_ROOT

DEFAULT_PORT = 8501

# The settings of the checkout's .streamlit/config.toml, as Streamlit flags. The address
# is localhost: only this machine can open the page (docs/classroom.md before serving a
# class). No static folder: the launcher serves Plotly.js itself.
STREAMLIT_SETTINGS: dict[str, str] = {
    "server.address": "localhost",
    "server.headless": "true",
    "server.enableStaticServing": "false",
    "server.fileWatcherType": "none",
    "browser.gatherUsageStats": "false",
    "client.toolbarMode": "minimal",
    "client.showErrorDetails": "none",
    "runner.postScriptGC": "false",
    "runner.fastReruns": "false",
}


def launcher() -> Path:
    """The launcher script: the installed copy, else the checkout's."""
    for path in (
        Path(__file__).resolve().parents[1] / "_launch" / "dashboard" / "serve.py",
        PROJECT_ROOT / "dashboard" / "serve.py",
    ):
        if path.is_file():
            return path
    raise MtlError(
        "the dashboard's launcher (dashboard/serve.py) is missing from this installation; "
        "reinstall the package (`pip install .` in its checkout) or run `make dashboard` there"
    )


def streamlit_command(port: int) -> list[str]:
    """The command that serves the dashboard on ``port`` (``-P``: the working folder is
    not put on ``sys.path``, so a folder named like a module there shadows nothing)."""
    command = [sys.executable, "-P", "-m", "streamlit", "run", str(launcher())]
    for name, value in {**STREAMLIT_SETTINGS, "server.port": str(port)}.items():
        command += [f"--{name}", value]
    return command


def check_port_free(port: int) -> None:
    """One line instead of Streamlit's exit when another program holds the port."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise MtlError(
                f"port {port} is in use on this machine; choose another with --port"
            ) from None


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: use a number 1-65535")
    return port


def cmd_dashboard(args: argparse.Namespace) -> int:
    command = streamlit_command(args.port)
    check_port_free(args.port)
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execv(command[0], command)  # never returns
    return subprocess.call(command)


def add_dashboard_command(sub) -> None:
    p = sub.add_parser(
        "dashboard",
        help="open the dashboard on this machine (as `make dashboard` does in a checkout)",
    )
    p.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"the port on localhost (default {DEFAULT_PORT})",
    )
    p.set_defaults(func=cmd_dashboard)
