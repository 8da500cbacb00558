"""The lesson cards and a lesson page, headless (AppTest): open, guess, Run, verdict.

A fresh session opens on the cards, with no chart options; one click opens a lesson,
whose link carries its slug (never the owner's secret); Run starts every arm over K fresh
seeds, paired, and writes them into the link, which reproduces the draw from the stored
runs instead of training again; with the runs finished, each claim's verdict is shown
with its outcome marked and the guess beside it. Runs stay queued (no worker processes),
except the verdict's, which a tiny stand-in lesson on the bundled digits trains here.
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import streamlit as st

from mtl_core.config import RunConfig
from mtl_core.dashboard import views
from mtl_core.dashboard.figures.lesson import arm_frames
from mtl_core.dashboard.pages.landing import FREE_PLAY, HEADLINE
from mtl_core.dashboard.pages.lesson import GUESS_LABEL
from mtl_core.dashboard.state import K
from mtl_core.dashboard.urlstate import link_lesson
from mtl_core.dashboard.viewnames import V
from mtl_core.dashboard.widgets.lesson_state import LK
from mtl_core.dashboard.widgets.presets import PROJECTOR_CSS
from mtl_core.dashboard.widgets.view_picker import picker_key
from mtl_core.store.runs import RunStore
from mtl_core.studies.claims import Claim
from mtl_core.studies.lessons import (
    LESSONS,
    PRESET_LESSONS,
    Lesson,
    TryNext,
    lesson_configs,
    parse_seeds,
)
from mtl_core.studies.presets import Preset
from mtl_core.training.trainer import train
from tests.helpers.apptest import (
    address,
    cards,
    figures,
    open_app,
    open_card,
    queue_only,
    train_button,
    use_store,
)

TINY = RunConfig.from_dict(
    {
        "dataset": "digits",
        "train_size": 100,
        "width": 16,
        "depth": 1,
        "epochs": 2,
        "batch_size": 16,
        "aux": ["parity"],
    }
)
TINY_LESSON = Lesson(
    "tiny-sharing",
    "Tiny sharing",
    "Does a parity head help on 100 digits?",
    "Two sentences of setup. Hard sharing against the digit task alone.",
    Preset(
        "Tiny sharing",
        "explanation",
        TINY,
        {"hard sharing": {}, "single task": {"aux": [], "sharing": "single"}},
        (Claim("hard sharing beats single-task", "hard sharing", "single task", "test_metric"),),
    ),
    default_seeds=3,
    try_next=(TryNext("Sharing helps, full size", "sharing-helps"),),
)
SEEDS = (1101, 2202, 3303)


@pytest.fixture
def store(tmp_path, monkeypatch):
    path = use_store(monkeypatch, tmp_path)
    queue_only(monkeypatch)
    monkeypatch.setitem(LESSONS, TINY_LESSON.slug, TINY_LESSON)
    yield path
    st.cache_resource.clear()


def main_texts(at) -> str:
    return "\n".join(e.value for e in [*at.main.markdown, *at.main.caption, *at.main.info])


def stored_runs(path) -> list[dict]:
    with RunStore(path) as s:
        return [s.get_run(int(i)) for i in sorted(s.runs().id)]  # in the order started


def test_a_fresh_session_opens_on_a_card_per_lesson_and_free_play_without_chart_options(store):
    at = open_app()
    assert at.button_group(key=picker_key(at.session_state)).value == V.lessons == views.FIRST
    assert HEADLINE in [h.value for h in at.main.subheader]
    for lesson in LESSONS.values():
        card = cards(at)[lesson.slug]
        assert (card["title"], card["text"], card["button"]) == (
            lesson.title,
            lesson.question,
            "Open",
        )
        assert card["note"].endswith(f" × {lesson.default_seeds} seeds")
        assert "min here" in card["note"] or "under a minute here" in card["note"]
    assert cards(at)[FREE_PLAY]["button"] == "Free play"
    assert [s for s in at.slider if s.key == "smoothing"] == []  # nothing to draw yet
    assert at.sidebar.button[0].key == "train"  # Train first in the sidebar: no scrolling


def test_free_play_opens_the_live_view_with_chart_options_only_once_a_run_is_shown(store):
    at = open_app()
    open_card(at, FREE_PLAY)
    assert at.session_state[K.view] == V.live
    assert LK.slug not in at.session_state
    assert [s for s in at.slider if s.key == "smoothing"] == []  # no run: nothing to draw
    assert at.sidebar.button(key="train").proto.type == "primary"  # free play: Train leads
    at.sidebar.button(key="train").click().run()
    assert at.session_state[K.view] == V.live
    assert [s.key for s in at.slider if s.key == "smoothing"] == ["smoothing"]


def test_on_the_lessons_train_steps_back_so_the_lessons_run_is_the_one_red_button(store):
    at = open_app({"lesson": "sharing-hurts"})
    assert at.sidebar.button(key="train").proto.type == "secondary"
    assert at.button(key="lesson_run").proto.type == "primary"
    assert "free play" in at.sidebar.button(key="train").proto.help


def test_a_card_opens_its_lesson_and_the_link_names_only_the_lesson(store):
    at = open_app()
    open_card(at, "sharing-helps")
    assert not at.exception, at.exception
    lesson = LESSONS["sharing-helps"]
    assert [h.value for h in at.main.header] == [lesson.title]
    assert lesson.setup in main_texts(at)
    judged = "The verdict judges: " + "; ".join(c.text for c in lesson.preset.claims)
    assert judged in main_texts(at)
    assert address(at) == {"lesson": "sharing-helps"}
    assert at.button(key="lesson_run").label.startswith("Run: 3 arms × 5 fresh seeds")
    assert at.session_state["view"] == "metric"  # the chart shows what the verdict is about
    at.button(key="lesson_back").click().run()
    open_card(at, "overfitting")  # a U-curve: its loss
    assert at.session_state["view"] == "loss"


def test_an_open_lesson_names_its_preset_in_the_preset_box_without_its_banner(store):
    """The sidebar holds the lesson's setup: the Preset box said "choose a lesson…" beside
    it. It names the lesson's preset now; applying it (its banner, its comparison button,
    which would repeat the lesson's Run) is left to the viewer."""
    at = open_app()
    for slug in ("sharing-helps", "overfitting"):
        open_card(at, slug)
        assert not at.exception, at.exception
        assert at.sidebar.selectbox(key=K.preset_choice).value == LESSONS[slug].preset.name
        assert K.preset not in at.session_state
        assert not [b for b in at.button if b.key == "open_preset_lesson"]  # no banner
        at.button(key="lesson_back").click().run()
    at = open_app({"lesson": "sharing-hurts"})  # a lesson's link too
    assert at.sidebar.selectbox(key=K.preset_choice).value == "Sharing hurts"


def test_a_preset_no_lesson_teaches_shows_its_banner_without_a_lesson_button(store, monkeypatch):
    """Presets need not have a lesson (``PRESET_TITLES`` names those by their id): the
    banner looked its lesson up unconditionally, a KeyError on the page for such a one."""
    from mtl_core.studies import lessons

    monkeypatch.delitem(lessons.PRESET_LESSONS, "Early stopping")
    at = open_app({"preset": "Early stopping"})
    assert not at.exception, at.exception
    assert any(m.value.startswith("**Early stopping") for m in at.main.markdown), [
        m.value[:40] for m in at.main.markdown
    ]
    assert not [b for b in at.button if b.key == "open_preset_lesson"]


def test_an_applied_presets_banner_opens_its_lesson_with_seeds_and_a_verdict(store):
    """The banner trained the preset's arms on the sidebar's one seed and opened Compare,
    beside claims measured over five seeds (Early stopping's two rows were identical under
    "lowers the test loss"). Its one button now opens the preset's lesson, one-arm presets
    included (they had none: "drag a box over the bottom of the curve", and no curve)."""
    for name in ("Early stopping", "Maxout U-curve"):
        at = open_app({"preset": name})
        (button,) = [b for b in at.button if b.key == "open_preset_lesson"]
        lesson = LESSONS[PRESET_LESSONS[name]]
        assert f"{lesson.default_seeds} fresh seeds, then a verdict" in button.label
        button.click().run()
        assert not at.exception, at.exception
        assert at.session_state[LK.slug] == PRESET_LESSONS[name]
        assert [h.value for h in at.main.header] == [lesson.title]
        assert K.preset not in at.session_state  # the lesson page, without the banner
        assert not [b for b in at.button if b.key == "open_preset_lesson"]
        assert at.sidebar.selectbox(key=K.preset_choice).value == name
        assert stored_runs(store) == []  # opening trains nothing: the lesson's Run does


def test_a_lesson_link_opens_the_lesson_and_a_bad_slug_gets_a_note_and_the_cards(store):
    at = open_app({"lesson": "sharing-hurts"})
    assert [h.value for h in at.main.header] == [LESSONS["sharing-hurts"].title]
    at = open_app({"lesson": "no-such-lesson"})
    notes = [w.value for w in at.warning]
    assert len(notes) == 1 and "unknown lesson 'no-such-lesson'" in notes[0]
    assert notes[0].count("\n") == 1  # the heading line and one note
    assert HEADLINE in [h.value for h in at.main.subheader]
    assert at.main.header == [] or all(h.value != "Sharing hurts" for h in at.main.header)


def test_a_run_click_cut_short_once_its_runs_started_still_shows_them(store, monkeypatch):
    """A request that arrives during Run's script run (a student who keeps clicking) cuts
    it short at its next use of the session state. Cut right after the runs had started,
    the page had not kept their seeds, so the lesson showed none of the runs training for
    it. The seeds are kept before the runs start: the next script run finds them."""
    from mtl_core.dashboard.runs import RunManager

    real, cut = RunManager.start_missing, []

    def cut_short(self, *args, **kwargs):
        started = real(self, *args, **kwargs)
        if not cut:  # the click's start: cut short as soon as the runs have started
            cut.append(started)
            st.rerun()  # what Streamlit does when a new request cuts the run short
        return started

    monkeypatch.setattr(RunManager, "start_missing", cut_short)
    at = open_app({"lesson": TINY_LESSON.slug})
    at.button(key="lesson_run").click().run()
    assert cut and not at.exception, at.exception
    runs = stored_runs(store)
    assert len(runs) == len(TINY_LESSON.preset.arms) * TINY_LESSON.default_seeds
    shown = sorted(i for ids in at.session_state[LK.runs].values() for i in ids)
    assert shown == sorted(r["id"] for r in runs)


def test_a_refused_run_keeps_the_draw_on_show(store, monkeypatch):
    from mtl_core.dashboard.runs import RunManager
    from mtl_core.limits import LimitError

    at = open_app({"lesson": TINY_LESSON.slug})
    at.button(key="lesson_run").click().run()
    shown = at.session_state[LK.seeds], at.session_state[LK.runs]

    def refuse(self, *args, **kwargs):
        raise LimitError("this browser session has stored 6 runs (MTL_MAX_RUNS_PER_SESSION=6)")

    monkeypatch.setattr(RunManager, "start_missing", refuse)
    at.button(key="lesson_run").click().run()
    assert any("MTL_MAX_RUNS_PER_SESSION" in e.value for e in at.error)
    assert (at.session_state[LK.seeds], at.session_state[LK.runs]) == shown


def test_run_starts_every_arm_on_fresh_paired_seeds_and_writes_them_into_the_link(store):
    at = open_app({"lesson": TINY_LESSON.slug})
    assert guess(at).value is None  # no guess: Run is not blocked
    at.button(key="lesson_run").click().run()
    assert not at.exception, at.exception
    seeds = parse_seeds(address(at)["seeds"])
    assert len(seeds) == TINY_LESSON.default_seeds == len(set(seeds))
    runs = stored_runs(store)
    assert len(runs) == len(TINY_LESSON.preset.arms) * len(seeds)
    for arm in TINY_LESSON.preset.arms:
        mine = [r for r in runs if f"· {arm} ·" in r["name"]]
        assert sorted(r["config"]["seed"] for r in mine) == sorted(seeds)
        assert all(r["config"]["data_seed"] == r["config"]["seed"] for r in mine)
    assert set(at.session_state[LK.runs]) == set(TINY_LESSON.preset.arms)
    # queued, no epoch stored yet: a line says what is coming, no bare chart
    assert f"Starting {len(runs)} runs" in main_texts(at) and "lesson_chart" not in figures(at)
    arms = len(TINY_LESSON.preset.arms)  # started seed by seed: the slots train arms together
    assert [r["config"]["seed"] for r in runs] == [s for s in seeds for _ in range(arms)]
    at.button(key="lesson_run").click().run()  # a second Run: a new draw
    again = parse_seeds(address(at)["seeds"])
    assert set(again).isdisjoint(seeds)


def test_a_draw_waiting_behind_another_pages_runs_says_so(store):
    other = open_app()  # another student's page: its Train queues a run first
    train_button(other).click().run()
    at = open_app({"lesson": TINY_LESSON.slug})
    at.button(key="lesson_run").click().run()
    assert "behind 1 queued run of other pages" in main_texts(at)


def test_the_link_with_seeds_reuses_the_stored_runs_instead_of_training_again(store):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    assert f"0 of {2 * len(SEEDS)} runs" in main_texts(at)
    at.button(key="lesson_missing").click().run()
    first = dict(at.session_state[LK.runs])
    assert len(stored_runs(store)) == 2 * len(SEEDS)
    reloaded = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    assert dict(reloaded.session_state[LK.runs]) == first  # found by identity
    assert len(stored_runs(store)) == 2 * len(SEEDS)
    # the draw is shown: queued (no epoch stored yet), so its line rather than a chart
    assert f"Starting {2 * len(SEEDS)} runs" in main_texts(reloaded)


def test_a_bad_seeds_parameter_gets_a_note_and_the_lesson_still_opens(store):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "12-abc"})
    notes = " ".join(w.value for w in at.warning)
    assert "ignored URL parameter 'seeds'" in notes and "'abc' is not a whole number" in notes
    assert [h.value for h in at.main.header] == [TINY_LESSON.title]


def test_while_runs_train_an_arm_is_the_mean_of_the_seeds_reported_so_far():
    rows = [
        {"run_id": run, "epoch": e, "task": "digit", "split": "val", "metric": "loss", "value": v}
        for run, base in ((1, 2.0), (2, 1.0))
        for e, v in ((0, base), (1, base / 2))
    ]
    frame = pd.DataFrame(rows)
    drawn, names, bands = arm_frames(frame, {"hard": [1, 2, 3], "single": [4, 5, 6]}, {1, 2})
    assert names == {1: "hard (2 of 3 seeds)"}  # an arm with no epoch yet is left out
    assert drawn.value.tolist() == [1.5, 0.75] and list(bands) == [1]


@pytest.fixture
def trained(store):
    """The tiny lesson trained on SEEDS, in the store, as Run would have left it."""
    with RunStore(store) as s:
        for arm, configs in lesson_configs(TINY_LESSON, SEEDS).items():
            for config in configs:
                result = train(config, store=s, name=f"{TINY_LESSON.title} · {arm}")
                assert result.status == "completed", result.message
    return store


def finish_the_draw(at, store) -> None:
    """The draw's queued runs trained to their end here (no worker processes in AppTest)."""
    from mtl_core.execution.worker import execute_run

    for run_id in (i for ids in at.session_state[LK.runs].values() for i in ids):
        config = stored_runs(store)[run_id - 1]["config"]
        assert execute_run(str(store), run_id, config) == "completed"
    at.run()
    assert not at.exception, at.exception


def test_the_guess_beside_the_verdict_is_the_one_made_before_running(store):
    # it was read at the verdict: a guess changed afterwards read "before running"
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    guess(at).set_value("helps").run()
    at.button(key="lesson_missing").click().run()
    finish_the_draw(at, store)
    guess(at).set_value("hurts").run()  # after the verdict
    shown = [m.value for m in at.main.markdown if GUESS_LABEL in m.value]
    assert shown == [f"{GUESS_LABEL}\n\n**helps**"]


def test_a_verdict_on_the_loss_says_the_accuracy_need_not_follow(store, monkeypatch):
    loss = "These claims are about the loss"
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    at.button(key="lesson_missing").click().run()
    finish_the_draw(at, store)
    assert "Verdict" in [h.value for h in at.main.subheader]
    assert loss not in main_texts(at)  # a claim on test accuracy
    on_loss = Claim(
        "hard sharing has a lower test loss", "hard sharing", "single task", "test_loss", -1
    )
    lesson = dataclasses.replace(
        TINY_LESSON, preset=dataclasses.replace(TINY_LESSON.preset, claims=(on_loss,))
    )
    monkeypatch.setitem(LESSONS, TINY_LESSON.slug, lesson)
    at.run()
    assert loss in main_texts(at)


def test_finished_runs_show_each_verdict_marked_beside_the_guess_and_the_handout(store):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    guess(at).set_value("helps").run()
    at.button(key="lesson_missing").click().run()
    finish_the_draw(at, store)
    verdicts = [m.value for m in at.main.markdown if "hard sharing beats single-task" in m.value]
    assert len(verdicts) == 1
    marks = ("✓ held", "✗ did not hold", "? unclear")
    assert sum(mark in verdicts[0] for mark in marks) == 1
    assert "95% CI" in verdicts[0] and "paired over 3 seeds" in verdicts[0]
    assert [m.value for m in at.main.markdown if GUESS_LABEL in m.value] == [
        f"{GUESS_LABEL}\n\n**helps**"
    ]
    assert "On seeds 1101, 2202, 3303" in main_texts(at)
    assert at.get("download_button")[0].proto.label == "Download the handout (HTML)"
    # named by the lesson it opens; what changes stands beneath it
    assert at.button(key="try_sharing-helps").label == LESSONS["sharing-helps"].title
    assert "Sharing helps, full size" in [c.value for c in at.main.caption]
    fig = figures(at)["lesson_chart"]
    legend = [t["name"] for t in fig["data"] if t.get("showlegend")]
    assert legend == list(TINY_LESSON.preset.arms)  # one entry per arm, short labels
    colours = {t["line"]["color"] for t in fig["data"] if t.get("showlegend")}
    assert len(colours) == len(legend)
    assert fig["layout"]["legend"]["x"] > 1  # outside the plot


def test_try_next_opens_the_next_lesson_on_the_same_seeds(trained):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    at.button(key="try_sharing-helps").click().run()
    assert [h.value for h in at.main.header] == [LESSONS["sharing-helps"].title]
    assert address(at)["seeds"] == "1101-2202-3303"
    # Run would draw as many fresh seeds as the draw has, not the lesson's default five
    assert at.button(key="lesson_run").label.startswith("Run: 3 arms × 3 fresh seeds")


def guess(at):
    """The lesson's guess radio (its key changes each time a lesson opens)."""
    (radio,) = [r for r in at.radio if r.key and r.key.startswith(LK.guess)]
    return radio


def test_a_guess_never_follows_the_class_into_the_next_lesson(trained):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    guess(at).set_value("can't tell").run()  # an answer every lesson offers
    first = guess(at).key
    at.button(key="try_sharing-helps").click().run()
    assert guess(at).key != first and guess(at).value is None
    assert not [m.value for m in at.main.markdown if GUESS_LABEL in m.value]


def test_the_guess_offers_the_open_lessons_own_answers(store):
    at = open_app({"lesson": "hard-vs-soft"})
    assert guess(at).options == list(LESSONS["hard-vs-soft"].guesses)
    guess(at).set_value("soft is better").run()
    at = open_app({"lesson": "overfitting"})
    assert guess(at).options == list(LESSONS["overfitting"].guesses)


def test_no_guess_sets_nothing_beside_the_verdict(trained):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    assert any("hard sharing beats single-task" in m.value for m in at.main.markdown)
    assert not [m.value for m in at.main.markdown if GUESS_LABEL in m.value]


def test_the_lesson_chart_spans_the_epochs_its_runs_train_from_the_start(trained):
    # fitted to the points drawn, a draw's first epoch stood alone on an axis from -1 to 1
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    xaxis = figures(at)["lesson_chart"]["layout"]["xaxis"]
    assert xaxis["range"] == [0, TINY_LESSON.preset.config.epochs]


def test_projector_mode_enlarges_the_lesson_page_and_its_chart(trained):
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"}, **{K.large: True})
    assert any(PROJECTOR_CSS in h.proto.body for h in at.get("html"))
    fig = figures(at)["lesson_chart"]
    assert fig["layout"]["font"]["size"] == 20


@pytest.mark.parametrize(
    ("params", "expected", "notes"),
    [
        (
            {"lesson": "sharing-helps", "seeds": "11-22-33"},
            ("sharing-helps", (11, 22, 33), None),
            0,
        ),
        ({"lesson": "sharing-helps", "seeds": "1-1-2"}, ("sharing-helps", None, None), 1),
        ({"lesson": "sharing-helps", "epochs": "0"}, ("sharing-helps", None, None), 1),
        ({"lesson": ["sharing-helps", "sharing-hurts"]}, (None, None, None), 0),  # noted elsewhere
        ({"lesson": "x" * 5000, "epochs": "3"}, (None, None, 3), 1),
        ({"epochs": "3"}, (None, None, 3), 0),
    ],
)
def test_a_lesson_link_is_read_forgivingly_with_a_one_line_note_per_bad_part(
    params, expected, notes
):
    slug, seeds, epochs, found = link_lesson(params)
    assert (slug, seeds, epochs) == expected
    assert len(found) == notes
    assert all("\n" not in note and len(note) < 400 for note in found)


def test_opening_a_lesson_puts_its_setup_in_the_sidebar(store):
    """The sidebar shows what the lesson trains (not the free-play setup left there), and
    Free play goes on from it."""
    at = open_app()
    at.sidebar.select_slider(key="c_train_size").set_value(3000).run()
    open_card(at, "sharing-helps")
    assert not at.exception, at.exception
    config = LESSONS["sharing-helps"].preset.config
    assert at.sidebar.select_slider(key="c_train_size").value == config.train_size
    ticked = {
        c.key.removeprefix("c_aux_")
        for c in at.sidebar.checkbox
        if c.key.startswith("c_aux_") and c.value
    }
    assert ticked == set(config.aux)
    at.button(key="lesson_back").click().run()
    open_card(at, FREE_PLAY)
    assert at.sidebar.select_slider(key="c_train_size").value == config.train_size


def test_train_pressed_on_the_lessons_leads_again_on_the_live_view_it_opens(store):
    """Drawn before the click switched the view, Train stayed secondary on Live for the
    whole run (its panel redraws as a fragment, the sidebar does not)."""
    at = open_app({"lesson": "sharing-hurts"})
    assert at.sidebar.button(key="train").proto.type == "secondary"
    at.sidebar.button(key="train").click().run()
    assert not at.exception, at.exception
    assert at.session_state[K.view] == V.live
    assert at.sidebar.button(key="train").proto.type == "primary"


def test_apply_preset_on_its_own_lesson_adds_no_banner_above_the_draw(store):
    # the banner's numbers (seeds 100-104) stood above the draw's verdict, and its "Open
    # the lesson" wiped it; on another view the banner still opens the lesson
    at = open_app({"lesson": "sharing-helps"})
    at.button(key="apply_preset").click().run()
    assert not at.exception, at.exception
    assert "open_preset_lesson" not in [b.key for b in at.button]
    assert [h.value for h in at.main.header] == [LESSONS["sharing-helps"].title]
    at.button_group(key=picker_key(at.session_state)).set_value("Live").run()
    assert "open_preset_lesson" in [b.key for b in at.button]


def test_seeds_from_a_link_make_training_them_the_primary_button(store):
    # after Try next the red button was the Run of 15 fresh runs, and the one reusing the
    # stored runs a plain one beside it
    fresh = open_app({"lesson": TINY_LESSON.slug})
    assert fresh.button(key="lesson_run").proto.type == "primary"
    linked = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    assert linked.button(key="lesson_missing").proto.type == "primary"
    assert linked.button(key="lesson_run").proto.type == "secondary"


def test_a_lessons_card_opened_again_shows_its_last_draw_and_the_guess_before_it(store):
    # "← All lessons", then the card: the finished verdict was gone
    at = open_app({"lesson": TINY_LESSON.slug, "seeds": "1101-2202-3303"})
    guess(at).set_value("helps").run()
    at.button(key="lesson_missing").click().run()
    finish_the_draw(at, store)
    at.button(key="lesson_back").click().run()
    assert "Verdict" not in [h.value for h in at.main.subheader]
    open_card(at, TINY_LESSON.slug)
    assert not at.exception, at.exception
    assert "Verdict" in [h.value for h in at.main.subheader]
    assert at.session_state[LK.seeds] == SEEDS
    assert [m.value for m in at.main.markdown if GUESS_LABEL in m.value] == [
        f"{GUESS_LABEL}\n\n**helps**"
    ]
    at.button(key="lesson_run").click().run()  # a fresh draw replaces it
    assert at.session_state[LK.seeds] != SEEDS
