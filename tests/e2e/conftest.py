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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

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
    data_root: Path,
    port: int,
    env: dict | None = None,
    root: Path = ROOT,
    *,
    output: int | IO[bytes] = subprocess.PIPE,
    entry: Path | None = None,
    share_cache: bool = True,
) -> subprocess.Popen:
    """The dashboard through its launcher (``make dashboard``), from the checkout ``root``,
    in a process group of its own (``stop_app`` stops it with its workers); its output
    goes to ``output`` (a pipe that ``stop_app`` returns, or an open log file). ``entry``:
    another script to serve (a benchmark's tree from before the launcher). With
    ``share_cache`` the checkout's prepared default data is copied into ``data_root``
    (the CSV read is not what a test tests); without, the server starts as a fresh
    clone's does, and its first run prepares them."""
    environment = {**os.environ, "MTL_DATA_ROOT": str(data_root), **(env or {})}
    cache = ROOT / "data" / "cache" / "mnist-5k.npz"
    if share_cache and cache.exists():
        (data_root / "cache").mkdir(parents=True, exist_ok=True)
        shutil.copy(cache, data_root / "cache" / cache.name)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(entry or root / "dashboard" / "serve.py"),
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
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(
    url: str, proc: subprocess.Popen, timeout: float = 60, log: Callable[[], str] | None = None
) -> None:
    """Wait for the server's health check; a server that exits first raises with the end
    of its output (``log()`` when its output goes to a file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            said = log() if log else proc.stdout.read().decode(errors="replace")
            raise RuntimeError(f"streamlit exited: {said[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


def stop_app(proc: subprocess.Popen) -> str:
    """Stop the server and its worker processes (one process group); return its output
    (when it went to a pipe).

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
    return proc.stdout.read().decode(errors="replace") if proc.stdout else ""


# Watches the app root's script state (Streamlit's front end sets it): ``done`` once a
# script run has been asked for or started ("rerunRequested", "running") and has ended
# ("notRunning") since the call; a run going at the call counts as started (a click
# during it only makes it run again). Every change counts, through the records' old
# values: a quick script run's "running" and "notRunning" can reach the page in one
# batch, and a watch that read only the state at its callback saw "notRunning" alone
# and waited for ever (a view's click, on a loaded machine).
WATCH_RERUN = """() => {
  const now = () => document.querySelector('[data-testid=stApp]')
    .getAttribute('data-test-script-state');
  const busy = (state) => state === 'running' || state === 'rerunRequested';
  const run = (window.__mtlRerun = { started: busy(now()), done: false, seen: [now()],
                                     drawn: 0 });
  if (window.__mtlRerunWatch) window.__mtlRerunWatch.disconnect();
  window.__mtlRerunWatch = new MutationObserver((records) => {
    if (records.some((r) => r.type === 'childList')) run.drawn = Date.now();
    if (records.some((r) => busy(r.oldValue))) run.started = true;
    const state = now();
    if (state !== run.seen[run.seen.length - 1]) run.seen.push(state);
    if (busy(state)) run.started = true;
    else if (run.started && state === 'notRunning') run.done = true;
  });
  // The whole page, not the app's element: were that element drawn anew, a watch on
  // the old one would wait for ever
  window.__mtlRerunWatch.observe(document.body, { subtree: true, attributes: true,
    attributeFilter: ['data-test-script-state'], attributeOldValue: true, childList: true });
}"""

# A script run short enough that "running" and "notRunning" reached the page in one render
# never showed "running" (a CI run's click on a view: the view drawn, the watch blind):
# then the page having redrawn and stayed idle and unchanged for QUIET ms is the run's end.
QUIET = 500
RERUN_DONE = f"""() => {{
  const run = window.__mtlRerun;
  const idle = document.querySelector('[data-testid=stApp]')
    .getAttribute('data-test-script-state') === 'notRunning';
  return run.done || (idle && run.drawn > 0 && Date.now() - run.drawn > {QUIET});
}}"""


SCRIPT_IDLE = """() => document.querySelector('[data-testid=stApp]')
    .getAttribute('data-test-script-state') !== 'running'"""


def click_and_wait_for_rerun(page, target, timeout: float = 60_000) -> None:
    """Click ``target`` and wait until the script run the click started has ended. Right
    after a click the state still reads "notRunning", so it is watched from before the
    click; a fixed pause instead wastes time on a quiet machine and is too short on a busy
    one. A script run still going (the page's own redraw after a run ended) is waited for
    first: a click during it makes Streamlit run the script again without the state ever
    reading "notRunning" in between, and the watch would wait for a start it never saw (a
    CI run on a busy machine)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_function(SCRIPT_IDLE, timeout=timeout)
    page.evaluate(WATCH_RERUN)
    target.click()
    try:
        page.wait_for_function(RERUN_DONE, timeout=timeout, polling=100)
    except PlaywrightTimeout:  # what the watch saw, for the report
        seen = page.evaluate("() => JSON.stringify(window.__mtlRerun)")
        raise AssertionError(f"the click's script run was not seen to end: {seen}") from None


def projector_on(page) -> None:
    """Switch projector mode on, and wait until the page has grown (its root font 22px)."""
    page.get_by_text("Projector mode (large fonts)").click()
    page.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '22px'")
    page.wait_for_timeout(500)  # the elements laid out again at that size


def component_alone(browser, js: str, name: str):
    """A page holding a component's script alone, its default export as ``window[name]``,
    at an address of its own (a script's routes are relative to the page): its rules
    checked without a server, with stand-ins the test installs."""
    page = browser.new_page()
    page.route("http://component.test/**", lambda route: route.fulfill(body="<div></div>"))
    page.goto("http://component.test/")
    page.add_script_tag(
        content=js.replace("export default function", f"window.{name} = function"), type="module"
    )
    page.wait_for_function(f"() => typeof window.{name} === 'function'")
    return page


FAILED_SHOTS = Path(__file__).parent / "screenshots" / "failed"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A failed browser test reports what its open pages showed (their text, and a
    screenshot under screenshots/failed/): a timeout alone says only what did not appear,
    and a run in CI leaves nothing else to look at."""
    report = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
        browser = item.funcargs.get("browser")
        for n, page in enumerate(pages_of(browser)):
            with contextlib.suppress(Exception):
                FAILED_SHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(FAILED_SHOTS / f"{item.name}-{n}.png"), full_page=True)
            with contextlib.suppress(Exception):
                report.sections.append((f"open page {n}: {page.url}", main_text(page)))
            with contextlib.suppress(Exception):
                report.sections.append((f"chosen on page {n}", chosen(page)))
    return report


FAILED = pytest.StashKey[bool]()


# The option the radio group (a segmented control) labelled ``name`` shows chosen, or null.
CHECKED = """((name) => {
  const group = [...document.querySelectorAll('[role=radiogroup]')]
    .find((g) => g.getAttribute('aria-label') === name);
  const chosen = group && group.querySelector('[role=radio][aria-checked=true]');
  return chosen ? chosen.innerText.trim() : null; })"""


def chosen(page) -> str:
    """Each labelled radio group's chosen option ("x-axis=steps"): the text does not say
    which option of a segmented control is on."""
    return ", ".join(
        page.evaluate(
            """() => [...document.querySelectorAll('[role=radiogroup][aria-label]')].map((g) => {
              const on = g.querySelector('[role=radio][aria-checked=true]')
                || g.querySelector('input[type=radio]:checked')?.closest('label');
              return g.getAttribute('aria-label') + '=' + (on ? on.innerText.trim() : '-'); })"""
        )
    )


def main_text(page, limit: int = 2500) -> str:
    """The main area's text, one line per element joined by " | ", its last ``limit``
    characters: a CI log shows only the start of a long report, and the sidebar's labels
    say nothing about what went wrong."""
    main = page.locator("[data-testid=stMain]")
    text = (main if main.count() else page.locator("body")).inner_text(timeout=5_000)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines)[-limit:]


@pytest.fixture(autouse=True)
def _close_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """Close every page a browser test opened once it ends (after its failure report): a page
    left open keeps reconnecting to its stopped server for the rest of the session, and the
    report of a later failure would show it."""
    yield
    if "browser" in request.fixturenames:
        for page in pages_of(request.getfixturevalue("browser")):
            with contextlib.suppress(Exception):
                page.close()


def pages_of(browser) -> list:
    if browser is None:
        return []
    return [page for context in browser.contexts for page in context.pages]


@pytest.fixture
def app_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with served(request, tmp_path) as url:
        yield url, tmp_path


@contextlib.contextmanager
def served(request: pytest.FixtureRequest, data_root: Path, env: dict | None = None):
    """A dashboard on ``data_root`` (and ``env``) for one test: its URL; stopped after, its
    output printed when the test failed, and no traceback allowed in it."""
    port = free_port()
    proc = start_app(data_root, port, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        output = stop_app(proc)
        if request.node.stash.get(FAILED, False):
            print(f"--- the server's output (last 3000 characters) ---\n{output[-3000:]}")
        assert "Traceback" not in output, output[-3000:]
        # Streamlit's own warning: a widget given a default while the code set its value
        assert "created with a default value but also" not in output, output[-3000:]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: .ci/run must install Debian's chromium")
        pytest.skip("Chromium is not installed here: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield PatientBrowser(browser)
        browser.close()


PAGE_TIMEOUT_MS = 90_000


class PatientBrowser:
    """The browser, whose new pages wait up to PAGE_TIMEOUT_MS for what a test looks for
    (Playwright's default is 30 s). A fresh server's first page imports the page's modules
    and draws dozens of widgets: on two cores kept busy by other work that took over 30 s
    here, and the test would fail on the machine's load rather than on the page."""

    def __init__(self, browser) -> None:
        self._browser = browser

    def new_page(self, **options):
        page = self._browser.new_page(**options)
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        return page

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        return context

    def __getattr__(self, name: str):
        return getattr(self._browser, name)
