"""Which lesson the page shows, and the draw of seeds it shows it on.

Why a module of its own: the landing view opens a lesson, the lesson page closes it or
opens the next one, and ``app.py`` opens one from a link (``?lesson=<slug>&seeds=...``);
all of them change the same few session-state keys, named here once. The switches are
button callbacks, so they may set the view control's own key before it is drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import control_state
from mtl_core.studies.lessons import LESSONS, MAX_SEEDS, MIN_SEEDS, Lesson


class LK:
    """Session-state keys of the lesson page."""

    slug = "lesson_slug"  # the lesson open in the Lessons view (none: the landing cards)
    seeds = "lesson_seeds"  # the draw of seeds shown (a tuple), from Run, a link or try-next
    runs = "lesson_runs"  # arm -> run ids of that draw, once they are started or found
    epochs = "lesson_epochs"  # epochs per run set by the link (short demos and tests)
    guess = "lesson_guess"  # the viewer's prediction: the radio's key, with ``opened``
    guessed = "lesson_guessed"  # the guess when the draw on show started (None: no guess)
    kept = "lesson_kept"  # slug -> (seeds, guess) of its last draw shown, for its reopening
    opened = "lesson_opened"  # how many times a lesson was opened this session
    seed_count = "lesson_k"  # the seeds slider
    reveal = "lesson_reveal"  # a Run's token: its results scroll into view once (reveal.py)


CHART_SHOW = "view"  # the chart's Show control (loss or metric; app.CHART_DEFAULTS)


def open_lesson(slug: str, seeds: Sequence[int] | None = None) -> None:
    """Show lesson ``slug`` (on ``seeds``, when given: a link or a try-next button, whose
    runs shared with the last lesson are reused; else on the draw it showed last in this
    session, if any, ``_keep_draw``); a fresh prediction for a new draw. The
    sidebar takes the lesson's setup, as *Apply preset* would: what it shows is what the
    lesson trains, and Free play goes on from there. The chart opens on what the verdict
    is about (``chart_show``)."""
    _keep_draw()
    kept = st.session_state.get(LK.kept, {}).get(slug)
    lesson = LESSONS[slug]
    control_state.load_into_state(lesson.preset.config)
    # The Preset box names the setup the sidebar now holds (it said "choose a lesson…"
    # beside the lesson's setup); applying it is left to the viewer, as its banner and
    # comparison would repeat the lesson's own Run above the lesson
    st.session_state[K.preset_choice] = lesson.preset.name
    st.session_state[LK.slug] = slug
    for key in (LK.runs, guess_key(), LK.seeds, LK.guessed):
        st.session_state.pop(key, None)
    st.session_state[LK.opened] = st.session_state.get(LK.opened, 0) + 1
    if not seeds and kept:  # its card again: the draw it showed, and the guess made before it
        seeds, st.session_state[LK.guessed] = kept
    if seeds:
        st.session_state[LK.seeds] = tuple(seeds)
        # the slider shows the draw's size, so Run draws as many fresh seeds again
        st.session_state[f"{LK.seed_count}_{slug}"] = min(max(len(seeds), MIN_SEEDS), MAX_SEEDS)
    st.session_state[CHART_SHOW] = chart_show(lesson)
    st.session_state[K.view] = V.lessons


def guess_key() -> str:
    """The guess radio's key, new each time a lesson opens: the browser keeps a radio's
    last choice under its key, so with one key a guess ("can't tell" is in every lesson)
    came back selected in the next lesson, and stood beside a verdict nobody guessed."""
    return f"{LK.guess}_{st.session_state.get(LK.opened, 0)}"


def chart_show(lesson: Lesson) -> str:
    """What the lesson's chart shows first: the metric when every claim is about one
    (test accuracy), else the loss (the U-curves, early stopping's test loss)."""
    metric = all(c.measure.endswith("metric") for c in lesson.preset.claims)
    return "metric" if metric else "loss"


def _keep_draw() -> None:
    """Keep the open lesson's draw (its seeds, with the guess made before it) for when its
    card is opened again: "← All lessons" and the card lost a finished verdict, which only
    training the same seeds again brought back."""
    slug, seeds = st.session_state.get(LK.slug), st.session_state.get(LK.seeds)
    if slug and seeds and st.session_state.get(LK.runs):  # started or found, not pending
        kept = st.session_state.setdefault(LK.kept, {})
        kept[slug] = (tuple(seeds), st.session_state.get(LK.guessed))


def close_lesson() -> None:
    """Back to the landing cards."""
    _keep_draw()
    for key in (LK.slug, LK.runs, guess_key(), LK.seeds, LK.guessed):
        st.session_state.pop(key, None)
    st.session_state[LK.opened] = st.session_state.get(LK.opened, 0) + 1
    st.session_state[K.view] = V.lessons


def free_play() -> None:
    """The sidebar's own page: set up any run and press Train."""
    close_lesson()
    st.session_state[K.view] = V.live


def open_slug() -> str | None:
    return st.session_state.get(LK.slug)
