"""A grid of cards, each with one button: the lesson cards of a new session's first page.

Why one component and not Streamlit's own elements: the cards were a bordered container
per card holding two markdown elements, a caption and a button, in rows of columns, about
seventy elements, which the browser of every new visitor drew before it showed the page.
Drawn as one element, the first page showed 0.09 s sooner (``bench/page_load_ab.py``, new
visitors; docs/testing.md), on a page whose target is 1 s. The grid also gives every card
of a row one height, with its button at the bottom, where the columns let each card end
at its own text.

The look follows Streamlit's bordered containers and secondary buttons through the
theme's variables. A click sends the card's id as the ``open`` trigger; ``card_grid`` hands
it to the page's callback before the script runs, as a button's ``on_click`` would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import streamlit as st
import streamlit.components.v2 as components


@dataclass(frozen=True)
class Card:
    id: str  # what a click on its button sends
    title: str
    text: str
    note: str  # one small line under the text
    button: str
    help: str = ""  # the button's tooltip


_CSS = """
.mtl-grid {
  display: grid; gap: 1rem; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr));
  font-family: var(--st-font); color: var(--st-text-color);
}
.mtl-grid .card {
  display: flex; flex-direction: column; gap: 0.75rem; padding: calc(1rem - 1px);
  border: 1px solid var(--st-border-color); border-radius: var(--st-base-radius);
}
.mtl-grid .title { font-weight: 600; }
.mtl-grid .text { flex: 1; }
.mtl-grid .note { font-size: 0.875rem; opacity: 0.65; }
.mtl-grid button {
  font: inherit; color: inherit; cursor: pointer; width: 100%; min-height: 2.5rem;
  padding: 0.25rem 0.75rem; border-radius: var(--st-button-radius);
  border: 1px solid var(--st-border-color); background: var(--st-background-color, white);
}
.mtl-grid button:hover, .mtl-grid button:focus-visible {
  border-color: var(--st-primary-color); color: var(--st-primary-color);
}
"""

_JS = """
function el(tag, cls, text) {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let grid = parentElement.querySelector(".mtl-grid");
  if (!grid) {
    grid = document.createElement("div");
    grid.className = "mtl-grid";
    parentElement.appendChild(grid);
  }
  grid.__send = setTriggerValue;
  const drawn = JSON.stringify(data.cards);
  if (grid.dataset.drawn === drawn) return;
  grid.dataset.drawn = drawn;
  grid.replaceChildren(...data.cards.map((card) => {
    const box = el("div", "card", "");
    box.dataset.card = card.id;
    const button = el("button", "", card.button);
    button.type = "button";
    button.title = card.help;
    button.setAttribute("aria-label", `${card.button}: ${card.title}`);
    button.addEventListener("click", () => grid.__send("open", card.id));
    box.append(el("div", "title", card.title), el("div", "text", card.text),
               el("div", "note", card.note), button);
    return box;
  }));
}
"""

_grid = components.component(
    "mtl_curves.card_grid", html="", css=_CSS, js=_JS, isolate_styles=False
)


def card_grid(cards: list[Card], key: str, on_open: Callable[[str], None]) -> None:
    """Draw ``cards``; a click on a card's button calls ``on_open`` with its id, before
    the script run that follows."""

    def opened() -> None:
        on_open(st.session_state[key]["open"])

    _grid(key=key, data={"cards": [asdict(card) for card in cards]}, on_open_change=opened)
