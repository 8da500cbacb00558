"""History refreshes by itself, in a real server and headless Chromium.

Runs started elsewhere (the CLI, another tab: here the test writes the store directly) and
their status changes appear without a reload; a row the user selected stays selected (and
the actions act on it) when a newer run arrives above it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mtl_core.config import DEFAULT
from mtl_core.store import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"
CELLS = """() => Array.from(document.querySelectorAll('[role=gridcell], td'))
    .map(cell => cell.innerText.trim())"""


def wait_cell(page, text: str, timeout: float = 45_000) -> None:
    page.wait_for_function(f"() => ({CELLS})().includes({text!r})", timeout=timeout)


def test_history_shows_new_runs_and_status_changes_without_a_reload(app_server, browser):
    url, root = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("radio", name="History", exact=True).click()
    page.get_by_text("No runs yet", exact=False).wait_for(timeout=30_000)
    with RunStore(root / "runs.sqlite") as store:
        cli = store.create_run(DEFAULT.to_dict(), name="from the CLI")  # status: running
    wait_cell(page, "from the CLI")  # no reload, no click: the table re-read the store
    wait_cell(page, "running")
    with RunStore(root / "runs.sqlite") as store:
        store.set_status(cli, "stopped", "stopped from the CLI")
    wait_cell(page, "stopped")

    # Select the run's row (the row marker, left of the first data row), as a user does.
    grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    page.mouse.click(grid["x"] + 18, grid["y"] + 35 + 17)
    page.get_by_role("button", name="Show curves").wait_for(timeout=30_000)
    with RunStore(root / "runs.sqlite") as store:
        store.create_run(DEFAULT.to_dict(), name="newer run")  # newest first: it would be row 0
    page.get_by_text("1 new run(s) since you selected rows", exact=False).wait_for(timeout=45_000)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "history_refresh.png"), full_page=True)
    assert "newer run" not in page.evaluate(CELLS)  # the selected row kept its place
    page.get_by_role("button", name="Show curves").click()
    page.get_by_role("heading", name="from the CLI").wait_for(timeout=30_000)
    page.close()
