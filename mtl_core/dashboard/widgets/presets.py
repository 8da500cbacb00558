"""Classroom presets in the page: set every control, explain, open the lesson.

Beside the explanation stand the preset's claims, each with the interval it was measured
with and the seeds (``Recorded`` in mtl_core/studies/claims.py): a student sees what the
lesson claims and how sure it is, not only the story.

Why the banner's button opens the preset's lesson: it trained the preset's arms once,
on the sidebar's one seed, and opened Compare, beside claims measured over five seeds.
One seed could contradict them, and Compare's table could not show what some claims are
about (early stopping's is the test loss of the last epoch's weights, which were the same
as the restored ones in no column): two identical rows under "early stopping lowers the
test loss". The lesson trains every arm over several fresh seeds and judges each claim.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mtl_core.dashboard.state import K
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets import control_state
from mtl_core.dashboard.widgets.lesson_state import open_lesson, open_slug
from mtl_core.studies.claims import evidence_sentence
from mtl_core.studies.lessons import LESSONS, PRESET_LESSONS, PRESET_TITLES
from mtl_core.studies.presets import PRESETS, Preset
from mtl_core.written import counted

# Projector mode. Streamlit sizes its text in rem, so a larger root font enlarges the
# whole page (sidebar, titles, cards, expanders, captions, st.table); the few parts sized
# in px follow explicitly. The charts grow in mtl_core/dashboard/figures/style.py. st.dataframe draws on a
# canvas in px and CSS zoom on it overflows the page (checked in Chromium), so read-only
# tables are drawn with st.table in projector mode (``data_table``); History's selectable
# table does the same, with runs picked by name (mtl_core/dashboard/pages/history.py).
PROJECTOR_CSS = """<style>
html { font-size: 22px !important; }
section[data-testid="stSidebar"] { width: 400px !important; min-width: 400px !important; }
[data-testid="stMainBlockContainer"] { padding-left: 2rem !important;
  padding-right: 2rem !important; }
[data-testid="stMetricLabel"] * { white-space: normal !important; overflow: visible !important; }
[data-testid="stMetricValue"] { font-size: 2rem !important; }
</style>"""


# A value not known yet (a running run's test score, scored once at the end), in every
# table: Streamlit's dataframe would print "None" there.
MISSING = "—"


def data_table(table: pd.DataFrame, four_places: tuple[str, ...] = ()) -> None:
    """A read-only table: interactive at a desk, in rem (so it grows) on a projector;
    the ``four_places`` columns shown with four decimals."""
    if st.session_state.get(K.large):
        st.table(table.style.hide(axis="index").format(precision=4, na_rep=MISSING))
        return
    number = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=dict.fromkeys(four_places, number),
        placeholder=MISSING,
    )


def _apply(name: str) -> None:
    control_state.load_into_state(PRESETS[name].config)
    st.session_state[K.preset] = name


def preset_picker():
    """The Classroom section; returns the container under it that holds the share link."""
    sb = st.sidebar
    sb.header("Classroom")
    choice = sb.selectbox(
        "Preset",
        list(PRESET_TITLES),  # the lesson cards' order and names
        format_func=PRESET_TITLES.__getitem__,
        key=K.preset_choice,
        index=None,
        placeholder="choose a lesson…",
        help="sets every control and explains what to look for",
    )
    sb.button(
        "Apply preset", on_click=_apply, args=(choice,), disabled=choice is None, key="apply_preset"
    )
    sb.toggle(
        "Projector mode (large fonts)",
        key=K.large,
        help="enlarges the whole page and the charts, for a room",
    )
    if st.session_state.get(K.large):
        st.html(PROJECTOR_CSS)
    return sb.container()


def claim_lines(preset: Preset) -> str:
    """The preset's claims as a markdown list, each with its measured interval and seeds."""
    lines = []
    for claim in preset.claims:
        seen = claim.recorded
        evidence = evidence_sentence(claim, seen) if seen else "not measured yet"
        lines.append(f"- **Claim:** {claim.text}. Measured: {evidence}.")
    return "\n".join(lines)


def _open_lesson(name: str) -> None:
    """The preset's lesson, in place of its banner (the lesson page says the same, with
    its Run and verdict)."""
    st.session_state.pop(K.preset, None)
    open_lesson(PRESET_LESSONS[name])


def preset_banner() -> None:
    """The active preset's explanation, its claims, and the way to its lesson."""
    name = st.session_state.get(K.preset)
    if name not in PRESETS:
        return
    lesson = PRESET_LESSONS.get(name)
    if st.session_state.get(K.view) == V.lessons and lesson is not None and open_slug() == lesson:
        # its lesson is on the page, with its own draw: the banner's numbers (seeds 100-104)
        # stood above the draw's verdict, and its "Open the lesson" wiped that verdict
        return
    preset, title = PRESETS[name], PRESET_TITLES[name]
    taught = name in PRESET_LESSONS  # else a preset no lesson teaches: its setup alone
    with st.container(border=True):
        heading = title if title.endswith(("?", "!", ".")) else f"{title}."
        st.markdown(f"**{heading}** {preset.explanation}")
        if not (preset.claims or taught):
            return
        # folded: open, the claims and their intervals took 340 px above every view, and
        # at 1280×720 the Live chart began below the fold
        more = st.expander(
            ("Its claims, as measured, and its lesson" if taught else "Its claims, as measured")
            if preset.claims
            else "Its lesson"
        )
        if preset.claims:
            more.markdown(claim_lines(preset))
        if not taught:
            return
        arms, lesson = len(preset.arms), LESSONS[PRESET_LESSONS[name]]
        more.button(
            f"Open the lesson: {counted(arms, 'arm')} × "
            f"{lesson.default_seeds} fresh seeds, then a verdict",
            key="open_preset_lesson",
            on_click=_open_lesson,
            args=(name,),
            help="trains every arm on each seed, paired, and says whether each claim held on them",
        )
