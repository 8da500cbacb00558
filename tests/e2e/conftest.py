"""Fixtures that start the real dashboard and a real headless Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    data_root: Path, port: int, env: dict | None = None, root: Path = ROOT
) -> subprocess.Popen:
    """The dashboard through its launcher (``make dashboard``), from the checkout ``root``."""
    environment = {**os.environ, "MTL_DATA_ROOT": str(data_root), **(env or {})}
    cache = ROOT / "data" / "cache" / "mnist-5k.npz"
    if cache.exists():  # share the prepared arrays: the CSV parse is not what we test
        (data_root / "cache").mkdir(parents=True, exist_ok=True)
        shutil.copy(cache, data_root / "cache" / cache.name)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(root / "dashboard" / "serve.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=root,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stdout.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


def stop_app(proc: subprocess.Popen) -> str:
    """Stop the server and its worker processes (one process group); return its output.

    After the server exits, whatever is left of its group is killed too: a process started
    while the server shut down (a forkserver relaunched after the SIGTERM killed the first
    one) would otherwise hold the output pipe open and the read below would never end.
    """
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    time.sleep(0.5)  # a process the shutdown started joins the group meanwhile
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader
    return proc.stdout.read().decode(errors="replace")


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    proc = start_app(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, tmp_path
    finally:
        output = stop_app(proc)
        assert "Traceback" not in output, output[-3000:]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip("Chromium is not installed here: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
