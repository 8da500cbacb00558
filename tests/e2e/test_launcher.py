"""The launcher (dashboard/serve.py) in a real headless Chromium: a read-only checkout
works, and the address bar carries the setup but never control of the runs."""

from __future__ import annotations

import os
import re
import shutil
import stat
import urllib.request
from pathlib import Path

import pytest

from mtl_core.dashboard import static_files

from .conftest import ROOT, free_port, start_app, stop_app, wait_healthy

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# _fullData: the drawn traces, their x decoded (the figure sends numeric arrays typed, as
# {dtype, bdata}, so ``data[0].x`` has no length)
LIVE_POINTS = """() => { const d = document.querySelector('.js-plotly-plot');
    return d && d._fullData && d._fullData.length ? d._fullData[0].x.length : 0; }"""
# A fresh checkout: no virtualenv, data, caches, or runtime output (dashboard/static/, which
# the old code wrote and .gitignore lists).
_NOT_COPIED_ANYWHERE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "screenshots",
)


def NOT_COPIED(folder: str, names: list[str]) -> set[str]:
    """What a fresh checkout lacks; ``data/`` (the run store and caches) only at the top:
    ``mtl_core/data`` is the package's data layer; ``static/`` only in ``dashboard/``:
    ``mtl_core/dashboard/static`` holds the charts' Plotly.js."""
    ignored = set(_NOT_COPIED_ANYWHERE(folder, names))
    if Path(folder).resolve() == ROOT.resolve():
        ignored |= {"data"} & set(names)
    if Path(folder).resolve() == (ROOT / "dashboard").resolve():
        ignored |= {"static"} & set(names)
    return ignored


def listing(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root`` with its size, mode and modification time."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder, name)
            info = path.lstat()
            out[str(path.relative_to(root))] = (info.st_size, info.st_mode, info.st_mtime_ns)
    return out


def set_writable(root: Path, writable: bool) -> None:
    bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files, "."]:
            path = Path(folder, name)
            mode = path.lstat().st_mode
            path.chmod((mode | stat.S_IWUSR) if writable else (mode & ~bits))


def test_the_dashboard_runs_from_a_read_only_checkout(tmp_path, browser):
    """Plotly.js comes from the package's static folder through the launcher's own route: nothing
    is written into the checkout, and Streamlit finds no missing static folder to report."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT, checkout, ignore=NOT_COPIED)
    set_writable(checkout, False)
    before = listing(checkout)
    writable = tmp_path / "writable"
    writable.mkdir()
    # Root ignores file modes, so the listing is what proves that nothing was written.
    # Python's own bytecode cache, which a read-only checkout silently goes without, is
    # turned off for the same reason.
    env = {"MTL_STORE": str(writable / "runs.sqlite"), "PYTHONDONTWRITEBYTECODE": "1"}
    port = free_port()
    proc = start_app(writable, port, env, root=checkout)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/?epochs=4")
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_function(f"({LIVE_POINTS})() === 5", timeout=90_000)  # epochs 0..4
        page.close()
    finally:
        output = stop_app(proc)
        after = listing(checkout)
        set_writable(checkout, True)
    assert "Traceback" not in output, output[-3000:]
    assert "static folder" not in output, output[-3000:]
    assert after == before, sorted(set(after.items()) ^ set(before.items()))[:10]


def test_the_share_links_copied_line_goes_when_the_setup_changes(app_server, browser):
    """ "Copied: …" stayed under the button after the setup had changed (a lesson opened,
    a control changed), while the button would now copy another link."""
    url, _ = app_server
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{url}/?epochs=400")
    sidebar = page.locator('[data-testid="stSidebar"]')
    page.get_by_role("button", name="Copy share link").click()
    status = page.locator(".mtl-share .status")
    page.get_by_text("Copied: the setup only").wait_for()
    data_seed = sidebar.get_by_label("Data seed", exact=True)
    if not data_seed.is_visible():
        sidebar.get_by_text("Training", exact=True).click()
    data_seed.fill("123")
    data_seed.press("Enter")
    page.wait_for_function("() => document.querySelector('.mtl-share .status').textContent === ''")
    page.get_by_role("button", name="Copy share link").click()
    page.get_by_text("Copied: the setup only").wait_for()
    assert "data_seed=123" in page.evaluate("navigator.clipboard.readText()")
    assert status.inner_text().startswith("Copied")
    context.close()


def test_the_address_bar_and_the_share_link_never_give_control(app_server, browser):
    """A teacher pastes the address bar (or the share link) to the class: a second browser
    gets the setup and sees the run, but cannot pause or stop it; the owner's reload can."""
    url, _ = app_server
    teacher = browser.new_context(
        viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = teacher.new_page()
    page.goto(f"{url}/?epochs=400&train_size=1000&aux=parity")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_role("button", name="Pause").wait_for()
    page.wait_for_function("() => location.search.includes('run=')")
    secret = next(c["value"] for c in teacher.cookies() if c["name"] == "mtl_owner")
    address_bar = page.url
    assert secret not in address_bar and "session" not in address_bar
    assert "epochs=400" in address_bar and "aux=parity" in address_bar

    page.get_by_role("button", name="Copy share link").click()
    page.get_by_text("Copied: the setup only").wait_for()
    link = page.evaluate("navigator.clipboard.readText()")
    assert secret not in link and "session" not in link and "run=" not in link
    assert link.startswith(url) and "epochs=400" in link and "aux=parity" in link

    student = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = student.new_page()
    other.goto(address_bar)
    other.get_by_text("Started from another browser session").wait_for()
    assert other.get_by_role("button", name="Pause").count() == 0
    assert other.get_by_role("button", name="Stop").count() == 0
    assert all(c["value"] != secret for c in student.cookies() if c["name"] == "mtl_owner")
    shared = student.new_page()
    shared.goto(link)  # the share link: the same setup
    shared.get_by_role("button", name="Train", exact=True).wait_for()
    assert "epochs=400" in shared.url and "aux=parity" in shared.url
    student.close()

    page.reload()  # the owner keeps control
    page.get_by_role("button", name="Pause").wait_for()
    page.get_by_role("button", name="Stop").click()
    page.wait_for_function("() => document.body.innerText.includes('stopped')")
    teacher.close()


def test_unusable_link_parameters_get_one_short_note_each(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?epochs=5&epochs=7&train_size=1e308&preset=Sharing%20helps")
    alert = page.get_by_text("Some of the link's settings were not usable")
    alert.wait_for()
    text = page.locator("[data-testid='stAlert']").filter(has=alert).inner_text()
    assert "'epochs': given 2 times ('5', '7'); keep one" in text
    assert "'train_size'" in text and "1e+308" in text
    assert not re.search(r"\d{17}", text)  # 1e308 printed 309 digits
    page.get_by_text("Sharing helps.").wait_for()  # the preset's banner
    # the address is written at the end of the script run (after the view: sync_url)
    page.wait_for_function("() => !location.search.includes('epochs')")
    assert "preset=Sharing" in page.url and "epochs" not in page.url
    page.close()


def test_the_launcher_serves_streamlits_scripts_from_memory(app_server):
    """Through the real launcher: the page's own entry script comes back as on disk,
    without the validators Starlette's file response adds (so the launcher answered), with
    the type Streamlit gives it."""
    app_server_url = app_server[0]
    html = urllib.request.urlopen(app_server_url, timeout=10).read().decode()
    files = static_files.listed(static_files.static_root())
    name = next(n for n in files if n.endswith(".js") and n in html)
    for _ in range(2):
        with urllib.request.urlopen(f"{app_server_url}/{name}", timeout=10) as response:
            assert response.read() == files[name].read_bytes()
            assert response.headers["Cache-Control"] == "public, immutable, max-age=31536000"
            assert response.headers["ETag"] is None and response.headers["Last-Modified"] is None
            ours = response.headers["Content-Type"]
    # a conditional request goes on to Streamlit: its own answer, of the same type
    asked = urllib.request.Request(f"{app_server_url}/{name}", headers={"If-None-Match": '"x"'})
    with urllib.request.urlopen(asked, timeout=10) as response:
        assert response.headers["ETag"] is not None
        assert response.headers["Content-Type"] == ours


def test_the_share_link_of_a_lesson_opens_the_lesson_on_its_draw(app_server, browser):
    """It copied the lesson's setup without the lesson: a link that opened the cards."""
    url, _ = app_server
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{url}/?lesson=sharing-hurts&epochs=2")
    page.get_by_role("heading", name="Sharing hurts").wait_for()
    page.get_by_role("button", name=re.compile(r"^Run: ")).click()
    page.wait_for_function("() => location.search.includes('seeds=')")
    seeds = page.evaluate("new URLSearchParams(location.search).get('seeds')")
    page.get_by_role("button", name="Copy share link").click()
    page.get_by_text("Copied: the setup only").wait_for()
    link = page.evaluate("navigator.clipboard.readText()")
    assert "lesson=sharing-hurts" in link and f"seeds={seeds}" in link, link
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(link)
    other.get_by_role("heading", name="Sharing hurts").wait_for()
    other.get_by_text(f"Seeds {', '.join(seeds.split('-'))}", exact=False).first.wait_for()
    other.close()
    context.close()
