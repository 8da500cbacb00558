"""The row of views stays one row on a laptop's screen and on a projector's.

At 1280 pixels the tenth view, Data, wrapped onto a line of its own under the other nine
(mtl_core/dashboard/widgets/view_picker.py draws the buttons a little narrower).
"""

from __future__ import annotations

import pytest

from mtl_core.dashboard import views

from .conftest import projector_on

pytestmark = pytest.mark.browser

# The top of each of the view picker's buttons, by its text.
TOPS = """() => Object.fromEntries(
  [...document.querySelectorAll('[class*="st-key-page_view_picker_"] button')]
    .map((b) => [b.innerText.trim(), Math.round(b.getBoundingClientRect().top)]))"""


@pytest.mark.parametrize(("width", "large"), [(1280, False), (1920, True)])
def test_the_views_are_one_row(app_server, browser, width, large):
    url, _ = app_server
    page = browser.new_page(viewport={"width": width, "height": 800})
    page.goto(f"{url}/")
    picker = page.locator('[class*="st-key-page_view_picker_"]')
    picker.get_by_text("Data", exact=True).wait_for()
    if large:
        projector_on(page)
    tops = page.evaluate(TOPS)
    assert set(tops) == set(views.names()), tops
    assert len(set(tops.values())) == 1, tops
