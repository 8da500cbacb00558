"""Dead ends of the page, in a real server and headless Chromium (issue 10, points 3-5, 8).

Re-run in History opens Live on the new run without an error element; a variant change
drops a ticked auxiliary task it does not offer, with a note, and Train stays on; a dataset
that is not installed turns Train off and names the real data folder; Compare says which
runs are still training. Each wait is for a state of the page, never for a time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, served

pytestmark = [pytest.mark.slow, pytest.mark.browser]
SHOTS = Path(__file__).parent / "screenshots"
CELLS = """() => Array.from(document.querySelectorAll('[role=gridcell], td'))
    .map(cell => cell.innerText.trim())"""
ERRORS = """() => document.body.innerText.includes('Something went wrong')
    || document.querySelector('[data-testid=stException]') !== null"""


def text_appears(page, text: str) -> None:
    page.wait_for_function(f"() => document.body.innerText.includes({text!r})")


def cell_appears(page, text: str) -> None:
    page.wait_for_function(f"() => ({CELLS})().includes({text!r})")


def train_button(page):
    return page.get_by_role("button", name="Train", exact=True)


def train_tiny(page, url: str, epochs: int = 2) -> None:
    """A tiny run from the URL's setup (200 images), trained to its end in Live."""
    page.goto(f"{url}/?epochs={epochs}&train_size=200")
    train_button(page).click()
    text_appears(page, f"completed · epoch {epochs}/{epochs}")


def shot(page, name: str, height: int = 1000) -> None:
    """The page, its viewport first grown to ``height`` (the page scrolls inside a frame)."""
    SHOTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1400, "height": height})
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_rerun_in_history_opens_live_on_the_new_run(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    train_tiny(page, url)
    page.get_by_role("radio", name="History", exact=True).click()
    cell_appears(page, "completed")
    # Select the run's row (the row marker, left of the first data row), as a user does.
    grid = page.locator("[data-testid=stDataFrame]").first.bounding_box()
    page.mouse.click(grid["x"] + 18, grid["y"] + 35 + 17)
    page.get_by_role("button", name="Re-run", exact=True).click()
    # Whichever comes first: Live's heading of the new run, or an error element.
    heading = "Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6'))"
    page.wait_for_function(
        f"() => ({ERRORS})() || {heading}.some(h => h.innerText.includes('(re-run)'))"
    )
    shot(page, "dead_ends_rerun.png")
    assert not page.evaluate(ERRORS), page.inner_text("body")[-2000:]
    assert page.get_by_role("radio", name="Live", exact=True).is_checked()
    page.close()


def test_a_variant_change_drops_a_ticked_task_it_does_not_offer(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    sidebar = page.locator("[data-testid=stSidebar]")
    sidebar.get_by_text(re.compile(r"^parity \(")).click()
    page.wait_for_function("() => document.location.search.includes('parity')")
    sidebar.locator("[data-testid=stSelectbox]").filter(has_text="Variant").click()
    page.get_by_role("option", name=re.compile(r"^multi")).click()
    text_appears(page, "auxiliary task parity: not offered by mnist-5k / multi")
    page.wait_for_function("() => !document.location.search.includes('parity')")
    shot(page, "dead_ends_variant.png")
    body = page.inner_text("body")
    assert "does not fit" not in body, body[-2000:]
    assert train_button(page).is_enabled()
    assert not page.evaluate(ERRORS)
    page.close()


@pytest.fixture
def server_without_fashion(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple]:
    """The dashboard with an empty data folder and no Debian Fashion-MNIST either.

    The Debian package's folder is a constant of the download module: a ``sitecustomize``
    on the server's PYTHONPATH points it at an empty folder in every process it starts.
    """
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "sitecustomize.py").write_text(
        "import os\nfrom pathlib import Path\n"
        "import mtl_core.data.download as download\n"
        "download.DEBIAN_FASHION_DIR = Path(os.environ['TEST_NO_DEBIAN_FASHION'])\n"
    )
    data = tmp_path / "data"
    data.mkdir()
    env = {
        "PYTHONPATH": os.pathsep.join([str(shim), str(ROOT)]),
        "TEST_NO_DEBIAN_FASHION": str(tmp_path / "no-debian-package"),
        "MTL_DATA_DIR": "",
    }
    with served(request, data, env) as url:
        yield url, data


def test_a_missing_dataset_turns_train_off_and_names_the_data_folder(
    server_without_fashion, browser
):
    url, data = server_without_fashion
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/?dataset=fashion-mnist")
    text_appears(page, "fashion-mnist is not installed, so Train is off")
    page.get_by_role("button", name="Download fashion-mnist").wait_for()
    shot(page, "dead_ends_missing_dataset.png")
    body = page.inner_text("body")
    assert str(data / "fashion-mnist") in body, body[-2000:]
    assert train_button(page).is_disabled()
    assert not page.evaluate(ERRORS)
    page.close()


def test_compare_says_which_runs_are_still_training(app_server, browser):
    url, _ = app_server
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    train_tiny(page, url)
    page.goto(f"{url}/?epochs=5000&train_size=200")  # long: it must still be training
    train_button(page).click()
    text_appears(page, "running · epoch")
    page.get_by_role("radio", name="Compare", exact=True).click()
    overlay = page.get_by_role("combobox", name=re.compile("Runs to overlay"))
    for run in ("(#1)", "(#2)"):
        if not page.locator("[data-baseweb=tag]", has_text=run).count():
            overlay.click()
            page.get_by_role("option", name=run, exact=False).click()
    page.keyboard.press("Escape")
    text_appears(page, "1 of 2 runs still training")
    cell_appears(page, "2/2")  # the finished run: every epoch run
    cell_appears(page, "running")
    cell_appears(page, "completed")
    page.wait_for_function(f"() => ({CELLS})().some(c => /^\\d+\\/5000$/.test(c))")
    shot(page, "dead_ends_compare.png", height=1900)
    assert not page.evaluate(ERRORS)
    page.close()
