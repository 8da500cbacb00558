"""The first page of a new session: a card per lesson, and free play.

Why cards in the main area: a teacher in front of a class needs something to click on
first load, not a long sidebar. Each card says what the lesson asks, in one line, and
about how long its Run takes on this machine; one click opens the lesson page
(pages/lesson.py). *Free play* is the page as it was: the sidebar's controls and Train.
The cards are one element (widgets/card_grid.py says why).
"""

from __future__ import annotations

import streamlit as st

from mtl_core.dashboard.widgets.card_grid import Card, card_grid
from mtl_core.dashboard.widgets.lesson_state import free_play, open_lesson
from mtl_core.studies.lessons import LESSONS, Lesson
from mtl_core.written import counted

HEADLINE = "Pick a lesson"
CARDS = "lesson_cards"  # the grid's key


def minutes_text(minutes: float) -> str:
    """ "about 2 min here", "under a minute here"."""
    if minutes < 1:
        return "under a minute here"
    return f"about {round(minutes)} min here"


FREE_PLAY = "free-play"  # the free-play card's id (no lesson has it as its slug)


def lesson_card(lesson: Lesson) -> Card:
    arms = len(lesson.preset.arms)
    return Card(
        id=lesson.slug,
        title=lesson.title,
        text=lesson.question,
        note=f"{minutes_text(lesson.minutes)} · {counted(arms, 'arm')} × "
        f"{lesson.default_seeds} seeds",
        button="Open",
        help=f"the question, a guess, one Run over {lesson.default_seeds} seeds, a verdict",
    )


FREE_PLAY_CARD = Card(
    id=FREE_PLAY,
    title="Free play",
    text="Set up any run yourself in the sidebar and press Train at its top.",
    note="every control, method and view",
    button="Free play",
)


def _opened(card: str) -> None:
    if card == FREE_PLAY:
        free_play()
    elif card in LESSONS:
        open_lesson(card)


def landing_view() -> None:
    st.subheader(HEADLINE)
    st.caption(
        "Each lesson asks one question. Guess the answer, press Run: every arm trains over "
        "several fresh seeds, the curves grow live, and a verdict says whether the claim "
        "held on these seeds."
    )
    cards = [*(lesson_card(lesson) for lesson in LESSONS.values()), FREE_PLAY_CARD]
    card_grid(cards, key=CARDS, on_open=_opened)
