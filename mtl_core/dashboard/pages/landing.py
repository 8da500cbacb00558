"""The first page of a new session: a card per lesson, and free play.

Why cards in the main area: a teacher in front of a class needs something to click on
first load, not a long sidebar. Each card says what the lesson asks, in one line, and
about how long its Run takes on this machine; one click opens the lesson page
(pages/lesson.py). *Free play* is the page as it was: the sidebar's controls and Train.
"""

from __future__ import annotations

import streamlit as st

from mtl_core.dashboard.widgets.lesson_state import free_play, open_lesson
from mtl_core.studies.lessons import LESSONS, Lesson
from mtl_core.written import counted

COLUMNS = 3
HEADLINE = "Pick a lesson"


def minutes_text(minutes: float) -> str:
    """ "about 2 min here", "under a minute here"."""
    if minutes < 1:
        return "under a minute here"
    return f"about {round(minutes)} min here"


def _card(lesson: Lesson) -> None:
    with st.container(border=True):
        st.markdown(f"**{lesson.title}**")
        st.markdown(lesson.question)
        arms = len(lesson.preset.arms)
        st.caption(
            f"{minutes_text(lesson.minutes)} · {counted(arms, 'arm')} × "
            f"{lesson.default_seeds} seeds"
        )
        st.button(
            "Open",
            key=f"open_lesson_{lesson.slug}",
            on_click=open_lesson,
            args=(lesson.slug,),
            width="stretch",
            help=f"the question, a guess, one Run over {lesson.default_seeds} seeds, a verdict",
        )


def _free_play_card() -> None:
    with st.container(border=True):
        st.markdown("**Free play**")
        st.markdown("Set up any run yourself in the sidebar and press **Train** at its top.")
        st.caption("every control, method and view")
        st.button("Free play", key="free_play", on_click=free_play, width="stretch")


def landing_view() -> None:
    st.subheader(HEADLINE)
    st.caption(
        "Each lesson asks one question. Guess the answer, press Run: every arm trains over "
        "several fresh seeds, the curves grow live, and a verdict says whether the claim "
        "held on these seeds."
    )
    cards = [*(lambda lesson=lesson: _card(lesson) for lesson in LESSONS.values()), _free_play_card]
    for start in range(0, len(cards), COLUMNS):
        for column, draw in zip(st.columns(COLUMNS), cards[start : start + COLUMNS], strict=False):
            with column:
                draw()
