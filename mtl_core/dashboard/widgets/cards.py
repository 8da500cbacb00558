"""A run's summary cards, moved on by its live chart between the page's redraws.

Why: the Live view's cards (per main task: the best validation loss and its epoch, the
test score there, the train/validation gap, the parameters, "validation loss rising
since epoch N", and, for an ended run whose validation loss was lowest at its last epoch,
"still improving") were ``st.metric`` elements redrawn with the panel around the chart every
third of its updates. While a run trained they trailed the chart by up to 3 s, and said
so in a line of their own; and each of those redraws cost a browser about 0.2 s of its
main thread (``mtl_core/dashboard/feed.py``), which ten pages on two cores could not pay.
They are now drawn by this component from the numbers the page read, and each of the
chart's feed answers that brings new epochs carries the same numbers, computed by the
server from the store (``analysis/cards.py``: one declaration for both), which the cards
take at once. So the panel redraws only when the run's status changes (the chart asks for
that), and the cards show what the chart shows.

The test score and the parameter count are the page's alone: the test set is scored once,
at the end, and the panel redraws then (its status changes), with the buttons and the
progress line's status, never before them (``progress.py`` says why that order matters).
The words are written here, in Python; the browser only fills in the numbers.
"""

from __future__ import annotations

import streamlit.components.v2 as components

from mtl_core.analysis.cards import FIRST_SHOWN
from mtl_core.dashboard.widgets.plot import FEED_LISTENER_JS

# The cards' words: ``{task}``, ``{metric}`` and ``{epoch}`` are filled in by the browser.
TEXT = {
    "loss": "{task}: best validation loss",
    "loss_help": "the lowest validation loss so far",
    "at": "at epoch {epoch}",
    "test": "test {metric} at epoch {epoch}",
    "test_help": "the test set is scored once, at the end, at the best validation epoch",
    "gap": "train/val loss gap",
    "gap_help": "at the best epoch",
    "params": "parameters",
    "rising": "Validation loss rising since epoch {epoch}: the model is overfitting (it "
    "learns the training images by heart).",
    "diverging": "Training loss rising too since epoch {epoch}: the training is unstable, "
    "which is not overfitting. A smaller learning rate usually steadies it.",
    "improving": "Still improving at its last epoch ({epoch}): the run ended before its "
    "validation loss stopped falling, so these are the scores of a network that had not "
    "finished learning. More epochs may change them.",
    "waiting": "The cards (the best epoch, its losses, the test score) appear once an epoch "
    "has trained.",
}

_JS = (
    FEED_LISTENER_JS
    + """
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
function fill(t, values) { return t.replace(/\\{(\\w+)\\}/g, (_, k) => String(values[k])); }
function fixed(v, digits) { return v === null || v === undefined ? "nan" : v.toFixed(digits); }
function cell(label, help, value, caption) {
  const c = el("div", "mtl-card-cell");
  const l = el("div", "mtl-card-label", label);
  if (help) { l.title = help; l.appendChild(el("span", "mtl-card-help", "?")); }
  c.append(l, el("div", "mtl-card-value", value));
  if (caption) c.appendChild(el("div", "mtl-card-caption", caption));
  return c;
}
function draw(root, data, numbers) {
  const T = data.text;
  root.dataset.epoch = String(numbers.epoch);  // the epoch the cards show (browser tests)
  // Before a live run's first trained epoch, no cards (analysis/cards.py: FIRST_SHOWN).
  if (data.live && numbers.epoch < data.first_shown) {
    root.replaceChildren(el("p", "mtl-card-note", T.waiting));
    return;
  }
  const out = [];
  for (const card of data.cards) {
    const n = numbers.tasks[card.task];
    if (!n) continue;
    const box = el("div", "mtl-card");
    box.dataset.task = card.task;
    const grid = el("div", "mtl-card-grid");
    const at = { task: card.task, metric: card.metric, epoch: n.best };
    grid.append(
      cell(fill(T.loss, at), T.loss_help, fixed(n.loss, 4), fill(T.at, at)),
      cell(fill(T.test, at), T.test_help, card.test === null ? "…" : card.test.toFixed(4)),
      cell(T.gap, T.gap_help, fixed(n.gap, 3)),
      cell(T.params, "", data.params === null ? "…" : data.params.toLocaleString("en-US")),
    );
    box.appendChild(grid);
    if (n.diverging !== null && n.diverging !== undefined) {
      box.appendChild(el("div", "mtl-card-warning", fill(T.diverging, { epoch: n.diverging })));
    } else if (n.rising !== null) {
      box.appendChild(el("div", "mtl-card-warning", fill(T.rising, { epoch: n.rising })));
    } else if (!data.live && n.improving) {  // while it trains, the newest epoch is often best
      box.appendChild(el("div", "mtl-card-info", fill(T.improving, { epoch: n.best })));
    }
    out.push(box);
  }
  root.replaceChildren(...out);
}
export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".mtl-cards");
  if (!root) {
    root = el("div", "mtl-cards");
    parentElement.appendChild(root);
  }
  // The page's numbers, unless the feed has already shown later epochs of the same run.
  const held = root.__mtl;
  if (!(held && held.run === data.run && held.numbers.epoch > data.numbers.epoch)) {
    root.__mtl = { run: data.run, numbers: data.numbers };
  }
  const stop = onFeed(root, (ev) => {
    const cards = ev.detail.body.cards;
    const held = root.__mtl;
    if (ev.detail.run !== held.run || !cards || cards.epoch < held.numbers.epoch) return;
    held.numbers = cards;
    draw(root, data, cards);
  });
  draw(root, data, root.__mtl.numbers);
  return stop;
}
"""
)

# Streamlit's own metric look (st.metric: a 14 px label, a 36 px value, a muted caption,
# a bordered box), in rem so that projector mode's larger root font enlarges it too.
_CSS = """
.mtl-cards { font-family: var(--st-font); color: var(--st-text-color); }
.mtl-card { border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
  border-radius: 0.5rem; padding: calc(1rem - 1px); margin-bottom: 1rem; }
/* Each card's label, value and caption share the rows of the grid (subgrid), so the values
   stay on one line when a label wraps (projector mode's larger font). */
.mtl-card-grid { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr));
  grid-template-rows: auto auto auto; column-gap: 1rem; }
.mtl-card-cell { display: grid; grid-row: span 3; grid-template-rows: subgrid; row-gap: 0; }
.mtl-card-label { font-size: 0.875rem; margin-bottom: 0.25rem; overflow-wrap: anywhere; }
.mtl-card-help { display: inline-block; margin-left: 0.35rem; width: 1rem; height: 1rem;
  border: 1px solid currentColor; border-radius: 50%; font-size: 0.65rem; line-height: 1rem;
  text-align: center; opacity: 0.6; cursor: help; vertical-align: 0.1rem; }
.mtl-card-value { font-size: 2.25rem; line-height: 1.35; padding-bottom: 0.25rem; }
.mtl-card-caption { font-size: 0.875rem; opacity: 0.6; }
.mtl-card-warning { margin-top: 1rem; padding: 1rem; border-radius: 0.5rem; font-size: 1rem;
  background: rgba(255, 227, 18, 0.1); color: var(--st-warning-text-color, #926c05); }
.mtl-card-info { margin-top: 1rem; padding: 1rem; border-radius: 0.5rem; font-size: 1rem;
  background: rgba(28, 131, 225, 0.1); color: var(--st-info-text-color, #004280); }
.mtl-card-note { font-size: 0.875rem; opacity: 0.6; margin: 0 0 1rem 0; }
@media (max-width: 640px) {  /* a phone: two cards a row, as st.columns stack there */
  .mtl-card-grid { grid-template-columns: repeat(2, minmax(0, 1fr)); row-gap: 1rem;
    grid-template-rows: auto auto auto auto auto auto; }
}
"""

_cards = components.component("mtl_curves.cards", html="", css=_CSS, js=_JS, isolate_styles=False)


def summary_cards(
    run_id: int,
    numbers: dict,
    cards: list[dict],
    params: int | None,
    live: bool,
) -> None:
    """Draw the cards: ``numbers`` from ``card_numbers`` (moved on by the run's live chart,
    if it has one), ``cards`` one per main task in order (``task``, ``metric``, ``test``:
    the test score, None until the end), ``params`` the model's parameter count."""
    _cards(
        key=f"cards_{run_id}",
        data={
            "run": int(run_id),
            "numbers": numbers,
            "cards": cards,
            "params": params,
            "live": bool(live),
            "first_shown": FIRST_SHOWN,
            "text": TEXT,
        },
    )
