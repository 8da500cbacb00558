"""A lesson page: the question, a guess, one Run over fresh seeds, live curves, a verdict.

Why a guided page: a lesson is an experiment, not a replay. Run trains every arm of the
lesson over K fresh seeds (``fresh_seeds``), paired across arms, on the worker slots; the
seeds are shown and kept in the link (``&seeds=``), so a reload or a shared link shows the
same draw, its stored runs found again by identity (``RunManager.identical``) rather
than trained twice. The curves grow live, one mean line and band per arm
(figures/lesson.py); when every run has ended, each claim's verdict is the paired test's
sentence with *held*, *did not hold* or *unclear* marked, beside the viewer's guess. A
draw on which the effect does not show is reported as such. Try-next buttons open a
variation on the same seeds (shared runs are reused) and the handout is one HTML file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import streamlit as st

from mtl_core.analysis.partner import partner_ranking
from mtl_core.config import RunConfig
from mtl_core.dashboard.figures.handout import handout_html
from mtl_core.dashboard.figures.lesson import arm_colours, figure_key, lesson_figure
from mtl_core.dashboard.pages.live import cached_metrics, poll_every
from mtl_core.dashboard.runs import RunManager
from mtl_core.dashboard.state import write_address
from mtl_core.dashboard.urlstate import lesson_params
from mtl_core.dashboard.widgets.lesson_state import (
    LK,
    chart_show,
    close_lesson,
    guess_key,
    open_lesson,
)
from mtl_core.dashboard.widgets.plot import chart
from mtl_core.dashboard.widgets.polling import live_panel
from mtl_core.dashboard.widgets.reveal import reveal
from mtl_core.data.tasks import get_task
from mtl_core.errors import MtlError
from mtl_core.store.runs import LIVE
from mtl_core.studies.lessons import (
    LESSONS,
    MAX_SEEDS,
    MIN_SEEDS,
    Lesson,
    Verdict,
    fresh_seeds,
    lesson_configs,
    lesson_results,
    verdicts,
)
from mtl_core.studies.presets import control_of
from mtl_core.written import counted

OUTCOME_MARKS = {  # how each outcome reads at a glance (colour and sign, then the word)
    "held": ":green-background[**✓ held**]",
    "did not hold": ":red-background[**✗ did not hold**]",
    "unclear": ":orange-background[**? unclear**]",
}


def plan(lesson: Lesson, seeds: tuple[int, ...], epochs: int | None) -> list[tuple[str, RunConfig]]:
    """(arm, config) of every run of the draw, seed by seed, so the worker slots train all
    arms side by side and each arm's band fills in together."""
    by_arm = lesson_configs(lesson, seeds)
    if epochs is not None:
        by_arm = {arm: [c.replace(epochs=epochs) for c in cfgs] for arm, cfgs in by_arm.items()}
    return [(arm, cfgs[i]) for i in range(len(seeds)) for arm, cfgs in by_arm.items()]


def seeds_shown(seeds: tuple[int, ...]) -> str:
    """The seeds as the page shows them (the link keeps them as ``lessons.seeds_text``)."""
    return ", ".join(str(s) for s in seeds)


def _by_arm(runs: list[tuple[str, RunConfig]], ids: list[int]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for (arm, _), run_id in zip(runs, ids, strict=True):
        out.setdefault(arm, []).append(int(run_id))
    return out


def start(manager: RunManager, owner: str, lesson: Lesson, seeds: tuple[int, ...]) -> None:
    """Start the draw's runs (stored identical ones are reused) and show them.

    The seeds are kept before anything starts: a request that arrives meanwhile (a
    student who keeps clicking) cuts this script run short at its next use of the session
    state, and cut right after the start, the page lost the draw and showed none of its
    runs. Kept first, the next script run finds the draw's runs (``pending_seeds``)."""
    runs = plan(lesson, seeds, st.session_state.get(LK.epochs))
    names = [f"{lesson.title} · {arm} · seed {c.seed}" for arm, c in runs]
    kept = (LK.seeds, LK.runs, LK.guessed)
    shown = {k: st.session_state[k] for k in kept if k in st.session_state}
    st.session_state[LK.seeds] = seeds
    st.session_state.pop(LK.runs, None)  # the last draw's: this one's are found if cut
    # the guess as it stands now, before running: the verdict shows this one, whatever
    # the radio says later (a guess changed after the verdict read "before running")
    st.session_state[LK.guessed] = st.session_state.get(guess_key())
    try:
        ids, reused = manager.start_missing([c for _, c in runs], owner=owner, names=names)
    except MtlError:  # refused (a server limit): the draw on show stays
        for key in kept:
            st.session_state.pop(key, None)
        st.session_state.update(shown)
        raise
    st.session_state[LK.runs] = _by_arm(runs, ids)
    # its curves come into view (below the question and the controls, out of sight)
    st.session_state[LK.reveal] = f"{lesson.slug} {seeds_shown(seeds)} {datetime.now(UTC)}"
    # the link reproduces this draw from now on
    write_address(lesson_params(lesson.slug, seeds, st.session_state.get(LK.epochs)))
    if reused:
        st.toast(f"{len(reused)} of {len(ids)} runs were stored already: reused, not retrained.")


def find_stored(manager: RunManager, lesson: Lesson, seeds: tuple[int, ...]) -> int:
    """Attach the draw's runs when every one of them is stored (or training); else return
    how many are."""
    runs = plan(lesson, seeds, st.session_state.get(LK.epochs))
    found = manager.identical([c for _, c in runs])
    if all(run_id is not None for run_id in found):
        st.session_state[LK.runs] = _by_arm(runs, found)
    return sum(run_id is not None for run_id in found)


def header(lesson: Lesson) -> None:
    st.button("← All lessons", key="lesson_back", on_click=close_lesson)
    st.header(lesson.title)
    st.markdown(f"#### {lesson.question}")
    st.markdown(lesson.setup)
    st.caption("Compares: " + " · ".join(f"**{arm}**" for arm in lesson.preset.arms))
    if lesson.preset.claims:  # the other arms are shown for context, not judged
        st.caption("The verdict judges: " + "; ".join(c.text for c in lesson.preset.claims))


GUESS_LABEL = "Your guess, before running:"


def controls(manager: RunManager, owner: str, lesson: Lesson) -> None:
    """The guess, the number of seeds and Run (which the guess never blocks)."""
    guess_col, seeds_col = st.columns([3, 2])
    guess_col.radio(
        "Your guess before running (optional)",
        lesson.guesses,
        index=None,
        key=guess_key(),
        horizontal=True,
        help="recorded when you press Run and shown beside that draw's verdict (a change "
        "afterwards is your guess for the next Run); Run works without it",
    )
    key = f"{LK.seed_count}_{lesson.slug}"
    if key not in st.session_state:
        st.session_state[key] = min(max(lesson.default_seeds, MIN_SEEDS), MAX_SEEDS)
    k = seeds_col.slider(
        "Seeds per arm",
        MIN_SEEDS,
        MAX_SEEDS,
        key=key,
        help="each arm trains once per seed, the same seeds in every arm (paired); "
        "more seeds, a narrower interval, a longer wait",
    )
    epochs = st.session_state.get(LK.epochs)
    if epochs is not None:
        st.caption(f"Short runs: {epochs} epochs each, as the link's `epochs={epochs}` asks.")
    arms = len(lesson.preset.arms)
    # seeds from a link or Try next, not trained yet: their button (pending_seeds), which
    # reuses the stored runs, is the one to press, so this one is not the primary; no
    # tooltip: it stayed over the guess while the pointer rested on the button
    waiting = bool(st.session_state.get(LK.seeds)) and not st.session_state.get(LK.runs)
    if st.button(
        f"Run: {counted(arms, 'arm')} × {k} fresh seeds ({arms * k} runs)",
        type="secondary" if waiting else "primary",
        key="lesson_run",
    ):
        try:
            start(manager, owner, lesson, fresh_seeds(k))
        except MtlError as exc:  # a server limit refused the batch
            st.error(str(exc))


def pending_seeds(manager: RunManager, owner: str, lesson: Lesson) -> None:
    """Seeds from a link or a try-next button: their stored runs, or a button to train the
    missing ones."""
    seeds = st.session_state.get(LK.seeds)
    if not seeds or st.session_state.get(LK.runs):
        return
    stored = find_stored(manager, lesson, seeds)
    if st.session_state.get(LK.runs):
        return
    total = len(seeds) * len(lesson.preset.arms)
    st.info(
        f"Seeds {seeds_shown(seeds)}, from the link or the lesson you came from (runs the two "
        f"lessons share are reused): {stored} of {total} runs of this lesson on these seeds are "
        "stored here. Train the missing ones to see it on these seeds, or press **Run** above "
        "for a fresh draw."
    )
    if st.button(f"Train the {total - stored} missing runs", type="primary", key="lesson_missing"):
        try:
            start(manager, owner, lesson, seeds)
        except MtlError as exc:
            st.error(str(exc))


def verdict_block(verdict: Verdict) -> None:
    with st.container(border=True):
        mark = OUTCOME_MARKS.get(verdict.outcome, f"**{verdict.outcome}**")
        st.markdown(f"{mark} &nbsp; {verdict.sentence}")


def partner_line(manager: RunManager, lesson: Lesson, runs: dict[str, list[int]]) -> None:
    """An affinity lesson: which partner the first arm's joint network ranked first, on
    these seeds (``analysis/partner.py``), beside the verdict it predicts."""
    joint = runs[next(iter(lesson.preset.arms))]
    ranking = partner_ranking(
        manager.store.metrics(joint),
        joint,
        lesson.preset.config.tasks[0],
        list(lesson.preset.config.aux),
    )
    if ranking is None:
        st.caption("The all-in-one runs recorded no affinity, so no partner is suggested.")
    else:
        st.markdown(ranking.sentence())


def page_address(url: str | None = None) -> str:
    """This dashboard's address without its query (``http://host:8501/``; the page's own,
    ``st.context.url``, unless ``url`` is given), for links that leave the page (a
    handout's); "" where the browser sent none (AppTest)."""
    parts = urlsplit((st.context.url or "") if url is None else url)
    return (
        urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", "")) if parts.netloc else ""
    )


def verdict_section(
    manager: RunManager, lesson: Lesson, runs: dict[str, list[int]], figure, key: str = ""
) -> None:
    seeds = st.session_state.get(LK.seeds, ())
    try:
        found = verdicts(lesson, lesson_results(manager.store, lesson, runs))
    except MtlError as exc:
        st.warning(f"No verdict on this draw: {exc}")
        return
    st.subheader("Verdict")
    guess = st.session_state.get(LK.guessed)  # as it stood when this draw started
    left, right = st.columns([4, 1])
    with left:
        for verdict in found:
            verdict_block(verdict)
    if guess:  # no guess made: nothing to set beside the verdict
        # markdown, not st.metric: a guess in the question's words ("it gets worse
        # after a while") would be cut short in a metric's one line
        right.container(border=True).markdown(f"{GUESS_LABEL}\n\n**{guess}**")
    if chart_show(lesson) == "loss":  # the U-curves, early stopping
        # the class asks "better on new digits?": these claims answer for the loss alone,
        # and on them the accuracy often held or rose while the loss climbed
        st.caption(
            "These claims are about the loss. The accuracy need not move with it: switch "
            "Show to metric to see whether it does on these seeds."
        )
    if lesson.kind == "affinity":
        partner_line(manager, lesson, runs)
    st.caption(
        f"On seeds {seeds_shown(seeds)}. Another draw of seeds may land differently: "
        "press Run again to see how often the claim holds."
    )
    html = handout_html(
        lesson,
        figure,
        found,
        seeds,
        datetime.now(UTC),
        guess,
        st.session_state.get(LK.epochs),
        key=key,
        page=page_address(),
    )
    st.download_button(
        "Download the handout (HTML)",
        html,
        file_name=f"{lesson.slug}-{seeds[0] if seeds else 0}.html",
        mime="text/html",
        key="lesson_handout",
        help="the figure, the verdict, the setup, the seeds and the date in one file "
        "that opens offline",
    )
    if lesson.try_next:
        st.markdown("**Try next**")
        for column, nxt in zip(st.columns(len(lesson.try_next)), lesson.try_next, strict=True):
            # named by the lesson it opens (its card's and its page's title); what changes
            # from this one goes beneath: "A bigger net on 100 digits" opened a page titled
            # "Overfitting: learning by heart"
            column.button(
                LESSONS[nxt.lesson].title,
                key=f"try_{nxt.lesson}",
                on_click=open_lesson,
                args=(nxt.lesson, seeds),
                width="stretch",
                help="the same seeds: runs the two lessons share are reused",
            )
            column.caption(nxt.label)


def results(manager: RunManager, lesson: Lesson, chart_options) -> None:
    """Live curves by arm while the runs train, then the verdict."""
    runs: dict[str, list[int]] = st.session_state[LK.runs]
    ids = [i for arm_ids in runs.values() for i in arm_ids]
    stored = manager.store.runs(ids=ids)
    if not set(ids) <= set(stored.id):
        st.session_state.pop(LK.runs, None)
        st.info("Some runs of this draw were deleted: press Run to draw again.")
        return
    live = stored[stored.id.isin(ids)].status.isin(LIVE).any()
    # a Run's results come into view: scrolled once, then followed as they grow, so the
    # element stays while the draw is on show (its redraws with the same token do nothing)
    if st.session_state.get(LK.reveal):
        reveal(st.session_state[LK.reveal], key="lesson_reveal")
    st.caption(f"Seeds: {seeds_shown(st.session_state.get(LK.seeds, ()))}")
    options = chart_options()
    # the x axis spans the epochs the runs train from the start, so the curves grow
    # across it: fitted to the points, the first epoch stood alone on an axis from -1 to 1
    planned = max(int(c["epochs"]) for c in stored[stored.id.isin(ids)].config)
    task = lesson.preset.config.tasks[0]
    holder: dict = {}

    def panel() -> bool:
        now = manager.store.runs(ids=ids)
        running = {int(i) for i in now.id[now.status.isin(LIVE)]}
        done = len(set(ids)) - len(running)
        st.progress(done / len(set(ids)), text=f"{done} of {len(set(ids))} runs finished")
        frame = pd.concat([cached_metrics(manager, i, live=i in running) for i in ids])
        if frame.empty and running:  # no epoch yet: say what is coming, not bare axes
            ahead = manager.ahead_of(ids)
            behind = (
                f", behind {counted(ahead, 'queued run')} of other pages "
                f"(this server trains {manager.workers} at once)"
                if ahead
                else ""
            )
            st.info(
                f"Starting {len(set(ids))} runs{behind}: the curves appear as each run "
                "stores its first epoch."
            )
            return True
        fig = lesson_figure(
            frame.reset_index(drop=True),
            runs,
            task=task,
            metric=get_task(task).metric,
            live=running,
            options={**options, "revision": f"lesson {lesson.slug}", "planned": planned},
            colours=arm_colours(lesson.preset),
            unbanded=frozenset(control_of(lesson.preset)),
        )
        chart(fig, key="lesson_chart")
        caption = figure_key(fig, control=bool(control_of(lesson.preset)))
        st.caption(caption)
        holder["figure"], holder["key"] = fig, caption
        return bool(running)

    live_panel(panel, poll_every(manager) if live else None)
    if not live:
        verdict_section(manager, lesson, runs, holder["figure"], holder["key"])


def lesson_view(manager: RunManager, owner: str, chart_options) -> None:
    lesson = LESSONS[st.session_state[LK.slug]]
    header(lesson)
    controls(manager, owner, lesson)
    pending_seeds(manager, owner, lesson)
    if st.session_state.get(LK.runs):
        results(manager, lesson, chart_options)
