"""The README's screenshots, made reproducibly by a real dashboard in headless Chromium.

    .venv/bin/python docs/screenshots.py                 # all of them
    .venv/bin/python docs/screenshots.py conflict        # only docs/conflict.png

Starts the dashboard on a free port with a fresh temporary store (as tests/e2e do: Debian's
chromium, the server stopped by its process group afterwards) and clicks through it as a
user would, in the light theme at 1400×900. The runs are seeded, so the pictures come
out the same each time (up to anti-aliasing). A few minutes on two cores.

- ``dashboard.png``: the README's first picture, the "Sharing helps" preset trained and
  seen in Live.
- ``conflict.png``: Train digit + auxiliary parity and magnitude on mnist-5k with 300
  images, then the Insights view's gradient-conflict panel.
- ``seed_bands.png``: the "Sharing helps" setup at 300 images over 4 seeds, then
  "Compare with single-task over 4 seeds": two seed bands and the paired sentence.
- ``lesson.png``: the Early stopping lesson opened by its link on 3 fixed seeds with
  100-epoch runs, its missing runs trained, down to the verdict (the whole page, 1400
  wide): the early-stopped arm on top with its stops marked, then each claim's verdict.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    start_app,
    stop_app,
    wait_healthy,
)

DOCS = ROOT / "docs"
VIEWPORT = {"width": 1400, "height": 900}
TIMEOUT = 180_000  # ms: training on a busy 2-core machine
PLOTS = "() => document.querySelectorAll('.js-plotly-plot').length"


def _settle(page, plots: int) -> None:
    """Wait until ``plots`` Plotly charts are drawn and the page stops changing."""
    page.wait_for_function(f"({PLOTS})() >= {plots}", timeout=TIMEOUT)
    page.wait_for_timeout(1500)


def _view(page, name: str) -> None:
    page.get_by_role("radio", name=name, exact=True).click()  # a segmented control


def dashboard(page, url: str) -> None:
    """The README's first picture: the "Sharing helps" preset trained, seen in Live with
    the setup beside it."""
    page.goto(f"{url}/?preset=Sharing%20helps")
    page.get_by_text("Dataset", exact=True).wait_for(timeout=TIMEOUT)  # the setup is drawn
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => /completed · epoch (\\d+)\\/\\1/.test(document.body.innerText)", timeout=TIMEOUT
    )
    _settle(page, 1)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 1180})  # the whole chart
    page.mouse.move(1395, 5)  # no hover: no Plotly toolbar in the picture
    page.wait_for_timeout(1500)
    page.screenshot(path=str(DOCS / "dashboard.png"))


def conflict(page, url: str) -> None:
    page.goto(f"{url}/?train_size=300&aux=parity,magnitude")
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(
        "() => document.body.innerText.includes('completed · epoch 60/60')", timeout=TIMEOUT
    )
    _view(page, "Insights")
    page.get_by_text("training epochs", exact=False).first.wait_for(timeout=TIMEOUT)
    _settle(page, 3)
    page.get_by_text("Gradient conflict", exact=True).first.evaluate("e => e.scrollIntoView()")
    page.mouse.move(800, 450)
    page.mouse.wheel(0, -120)  # keep the run's one-line description in view
    page.mouse.move(1395, 5)  # no hover: no Plotly toolbar in the picture
    page.wait_for_timeout(500)
    page.screenshot(path=str(DOCS / "conflict.png"))


def seed_bands(page, url: str) -> None:
    page.goto(
        f"{url}/?train_size=300&aux=parity,magnitude"
        "&task_sizes=magnitude:3000,parity:3000&epochs=40"
    )
    seeds = page.get_by_label("Seeds", exact=True)
    seeds.fill("4")
    seeds.press("Enter")
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Train", exact=True).click()
    button = page.get_by_role("button", name="Compare with single-task over 4 seeds")
    button.click(timeout=TIMEOUT)
    page.get_by_text("With 300 training images", exact=False).wait_for(timeout=TIMEOUT)
    page.get_by_text("log y", exact=True).click()  # the bands are narrow next to epoch 0's loss
    _settle(page, 1)
    page.locator(".js-plotly-plot").first.evaluate("e => e.scrollIntoView()")
    page.mouse.move(800, 450)
    page.mouse.wheel(0, -60)  # the chart's top edge, not flush with the window
    page.mouse.move(1395, 5)
    page.wait_for_timeout(500)
    page.screenshot(path=str(DOCS / "seed_bands.png"))


LESSON_LINK = "/?lesson=early-stopping&seeds=1234-5678-9012&epochs=100"


def lesson(page, url: str) -> None:
    """Fixed seeds in the link (a Run would draw fresh ones), so the picture repeats."""
    page.goto(url + LESSON_LINK)
    page.get_by_role("button", name="Train the 6 missing runs").click(timeout=TIMEOUT)
    page.get_by_text("Verdict", exact=True).wait_for(timeout=TIMEOUT)
    _settle(page, 1)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 2000})  # down to try-next
    page.mouse.move(1395, 5)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(DOCS / "lesson.png"), full_page=True)


def lessons_landing(page, url: str) -> None:
    """The first page a newcomer sees: a card per lesson, free play beside them."""
    page.goto(url + "/")
    page.get_by_text("Pick a lesson", exact=True).wait_for(timeout=TIMEOUT)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(DOCS / "lessons_landing.png"), full_page=True)


SHARING_LINK = "/?lesson=sharing-helps&seeds=1234-5678-9012-3456-7890"


def lesson_sharing(page, url: str) -> None:
    """Sharing helps at full size on five fixed seeds: the arms in their role colours,
    the guess beside the two verdicts, try-next."""
    page.goto(url + SHARING_LINK)
    page.get_by_role("heading", name="Sharing helps").wait_for(timeout=TIMEOUT)
    page.get_by_text("helps", exact=True).click()
    page.get_by_role("button", name="Train the 15 missing runs").click(timeout=TIMEOUT)
    page.get_by_text("Verdict", exact=True).wait_for(timeout=TIMEOUT)
    _settle(page, 1)
    page.set_viewport_size({"width": VIEWPORT["width"], "height": 2300})  # down to try-next
    page.mouse.move(1395, 5)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(DOCS / "lesson_sharing.png"), full_page=True)


SHOTS = {
    "dashboard": dashboard,
    "conflict": conflict,
    "seed_bands": seed_bands,
    "lesson": lesson,
    "lessons_landing": lessons_landing,
    "lesson_sharing": lesson_sharing,
}


def main(names: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    for name in names or list(SHOTS):
        with tempfile.TemporaryDirectory() as tmp:
            port = free_port()
            proc = start_app(Path(tmp), port, env={"STREAMLIT_THEME_BASE": "light"})
            url = f"http://127.0.0.1:{port}"
            try:
                wait_healthy(url, proc)
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport=VIEWPORT, color_scheme="light")
                    SHOTS[name](page, url)
                    browser.close()
            finally:
                output = stop_app(proc)
                if "Traceback" in output:
                    print(output[-3000:], file=sys.stderr)
        print(f"wrote {DOCS / (name + '.png')}")


if __name__ == "__main__":
    main(sys.argv[1:])
