"""The dashboard's server process stays light: no torch, no scikit-learn, in a real server.

Training, data preparation and previews run in worker processes forked from the
forkserver (mtl_core/execution/forkserver.py, mtl_core/execution/offload.py); the server
checks configs and draws from numpy and the store. Measured on the real process after a
page has trained a run and shown every view: the libraries it maps, and its memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import click_and_wait_for_rerun, free_port, start_app, stop_app, wait_healthy

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"
VIEWS = [
    "Live",
    "Insights",
    "Compare",
    "Learning curve",
    "Sharing depth",
    "Sweeps",
    "History",
    "Data",
]
RSS_LIMIT_MB = 200  # the performance issue's target: Streamlit alone is about 160 MB


@pytest.fixture
def app_server_proc(tmp_path: Path):
    port = free_port()
    proc = start_app(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc
    finally:
        output = stop_app(proc)
        assert "Traceback" not in output, output[-3000:]


def mapped(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_the_server_process_never_imports_torch_or_sklearn(app_server_proc, browser):
    url, proc = app_server_proc
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?aux=parity&epochs=3&seed=5")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function("() => document.body.innerText.includes('completed')", timeout=90_000)
    for view in VIEWS:  # each view's script run ends before the next click
        click_and_wait_for_rerun(page, page.get_by_role("radio", name=view, exact=True))
    page.wait_for_function(  # the Data view's images arrived and are drawn
        "() => { const im = [...document.querySelectorAll('[data-testid=stMain] img')];"
        " return im.length >= 12 && im.every(i => i.complete && i.naturalWidth > 0); }"
    )
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "light_server_data.png"), full_page=True)
    maps = mapped(proc.pid)
    assert "libtorch" not in maps, "the server process loaded torch"
    assert "/sklearn/" not in maps, "the server process loaded scikit-learn"
    memory = rss_mb(proc.pid)
    print(f"server RSS after a run and every view: {memory:.0f} MB")
    assert memory <= RSS_LIMIT_MB, f"server RSS {memory:.0f} MB > {RSS_LIMIT_MB} MB"
    page.close()
