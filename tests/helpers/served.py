"""A served dashboard seen from outside: which addresses it listens on, and what its page
draws in headless Chromium. Used by the installed-package tests, whose server is started
by the installed command rather than by tests/e2e's fixtures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on ``port`` (Linux's /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


def page_in_chromium(url: str, screenshot: Path | None = None) -> dict[str, int]:
    """Load the page in headless Chromium until its Train button is drawn; count the Train
    buttons, Streamlit's exception boxes and the page's own one-line bug report
    ("Something went wrong", ``mtl_core/dashboard/app.py``) it shows then.

    In a thread of its own: after a browser test, the session-wide browser of tests/e2e
    keeps Playwright's event loop in the main thread, where a second sync Playwright
    refuses to start."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_page_in_chromium, url, screenshot).result()


def _page_in_chromium(url: str, screenshot: Path | None) -> dict[str, int]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PAGE_TIMEOUT_MS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.goto(url)
            train = page.get_by_role("button", name="Train", exact=True)
            train.wait_for()
            page.wait_for_load_state("networkidle")
            title = page.get_by_text("Multi-task learning curves")
            title.or_(page.get_by_text("Something went wrong")).first.wait_for()
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
            return {
                "train": train.count(),
                "exceptions": page.locator("[data-testid=stException]").count(),
                "went wrong": page.get_by_text("Something went wrong").count(),
            }
        finally:
            browser.close()


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
