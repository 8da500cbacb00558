"""The lesson handout: one HTML file that opens offline and says what the page said.

Checked on a real lesson's declaration with constructed verdicts (no training): nothing is
fetched from the network, plotly.js is inlined, every verdict sentence, the seeds, the
date and the guess are in it, and text that looks like HTML is shown, not run.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import plotly.graph_objects as go

from mtl_core.dashboard.figures.handout import handout_html, lesson_link, method_words
from mtl_core.studies.claims import ArmResult
from mtl_core.studies.lessons import LESSONS, Lesson, verdicts

SEEDS = (1234, 5678, 9012, 3456, 7890)
WHEN = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
LESSON = LESSONS["sharing-helps"]


def _arm(values: list[float]) -> ArmResult:
    summaries = [{"main": {"digit": {"test_metric": v}}} for v in values]
    return ArmResult(summaries, [[1.0, 0.5]] * len(values), list(SEEDS))


RESULTS = {
    "hard sharing": _arm([0.84, 0.82, 0.85, 0.83, 0.86]),
    "single task": _arm([0.78, 0.77, 0.79, 0.78, 0.80]),
    "shuffled control": _arm([0.80, 0.83, 0.81, 0.84, 0.82]),
}


def _figure(name: str = "hard sharing") -> go.Figure:
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[2.3, 1.0, 0.8], name=name))


def _handout(lesson: Lesson = LESSON, guess: str | None = "helps", name: str = "hard sharing"):
    found = verdicts(lesson, RESULTS)
    return handout_html(lesson, _figure(name), found, SEEDS, WHEN, guess), found


def test_the_handout_loads_nothing_from_the_network_and_inlines_plotly():
    page, _ = _handout()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I), "a script is fetched"
    assert not re.search(r"<link[^>]*\bhref\s*=", page, re.I), "a stylesheet is fetched"
    assert not re.search(r"<(img|iframe)[^>]*\bsrc\s*=\s*[\"']?(https?:)?//", page, re.I)
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # the library itself is inside


def test_the_handout_says_the_question_setup_arms_seeds_date_guess_and_every_verdict():
    page, found = _handout()
    assert len(found) == 2 and {v.outcome for v in found} == {"held", "unclear"}
    for v in found:
        assert html.escape(v.sentence) in page
    for text in (LESSON.title, LESSON.question, LESSON.setup, *LESSON.preset.arms):
        assert html.escape(text) in page
    # the seeds are shown, and again in the link that runs them
    assert "over 5 seeds" in page and page.count("1234-5678-9012-3456-7890") == 2
    assert html.escape(lesson_link(LESSON, SEEDS)) in page
    assert "2026-03-04 10:30" in page
    assert "Guess before running: <strong>helps</strong>" in page
    page, _ = _handout(guess=None)
    assert "No guess was recorded" in page


def test_text_that_looks_like_html_is_escaped():
    evil = "<script>alert(1)</script>"
    lesson = Lesson(
        "sharing-helps", f"Title {evil}", f"Why {evil}?", f"Setup {evil}.", LESSON.preset
    )
    page, _ = _handout(lesson, guess=evil, name=evil)
    assert evil not in page
    # the title tag and heading, the question, the setup and the guess (the trace name is
    # escaped by plotly inside its JSON)
    assert page.count(html.escape(evil)) == 5
    assert f"Guess before running: <strong>{html.escape(evil)}</strong>" in page


def test_each_verdict_line_names_its_outcome_once_in_its_badge_then_the_claim():
    page, found = _handout()
    lines = re.findall(r'<p class="verdict">(.*?)</p>', page, re.S)
    assert len(lines) == len(found)
    for line, v in zip(lines, found, strict=True):
        badge = re.match(r'<span class="badge"[^>]*>([^<]*)</span>', line)
        assert badge and html.unescape(badge.group(1)) == v.outcome
        text = html.unescape(re.sub(r"<[^>]+>", " ", line)).lower()
        assert text.count(v.outcome) == 1, text  # the badge's word, not again in the sentence
        assert html.unescape(line[badge.end() :]).startswith(f"{v.claim.text}. ")


def test_a_handout_of_short_runs_says_so_and_its_link_keeps_them_short():
    found = verdicts(LESSON, RESULTS)
    page = handout_html(LESSON, _figure(), found, SEEDS, WHEN, None, epochs=3)
    assert "Short runs: 3 epochs each" in page and "<code>epochs=3</code>" in page
    assert html.escape(lesson_link(LESSON, SEEDS, 3)) in page and "&amp;epochs=3" in page
    page, _ = _handout()
    assert "Short runs" not in page and "epochs=" not in page


def test_the_handout_names_a_one_arm_claims_test_as_one_sample_not_paired():
    u_curve = LESSONS["overfitting"]  # one arm: its claims test the arm against a bar
    assert all(c.b is None for c in u_curve.preset.claims)
    words = method_words(u_curve)
    assert "one-sample" in words and "paired" not in words and "Holm" in words
    page = handout_html(u_curve, _figure("maxout"), [], SEEDS, WHEN, None)
    assert html.escape(words) in page and "Arms compared" not in page
    assert "paired 95% t-test" in method_words(LESSON) and "one-sample" not in method_words(LESSON)
    assert "Holm" not in method_words(LESSONS["early-stopping"])  # one claim: nothing to correct


def test_the_handout_keys_its_lines_and_links_back_to_the_dashboard_it_came_from():
    # no handout said which line was training and which validation, and its link was a
    # query alone, which no one can click
    found = verdicts(LESSON, RESULTS)
    key = "Solid: training; dashed: validation; shaded: ± one standard deviation."
    page = handout_html(
        LESSON, _figure(), found, SEEDS, WHEN, None, key=key, page="http://class:8501/"
    )
    assert f'<p class="meta">{html.escape(key)}</p>' in page
    link = "http://class:8501/" + lesson_link(LESSON, SEEDS)
    assert f'<a href="{html.escape(link)}">' in page
    alone = _handout()[0]  # no address known (AppTest): the query, as text
    assert '<a href="?lesson' not in alone
    assert f"<code>{html.escape(lesson_link(LESSON, SEEDS))}</code>" in alone


def test_the_dashboards_address_is_the_pages_without_its_query():
    from mtl_core.dashboard.pages.lesson import page_address

    assert page_address("http://127.0.0.1:8501") == "http://127.0.0.1:8501/"
    assert page_address("https://class.example/mtl/?lesson=x&seeds=1-2") == (
        "https://class.example/mtl/"
    )
    assert page_address("") == ""
