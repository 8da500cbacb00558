"""A lesson's handout: its result as one HTML file that opens offline, for slides and students.

Why one self-contained file: a handout is opened later, on another machine, often without a
network (a classroom projector, a student's laptop), so plotly.js is inlined rather than
fetched, and nothing else is loaded. Everything it says comes from the lesson and its
verdicts: the question, the setup, the arms, the seeds (with the link that runs them
again), the date, the viewer's guess if one was recorded, the figure and each verdict
sentence. Every text is HTML-escaped, since a guess or an arm name is free text. Pure
functions, no ``st.*``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

import plotly.graph_objects as go

from mtl_core.studies.lessons import Lesson, Verdict, seeds_text

# Outcome -> colour of its badge (Okabe & Ito: green, vermilion, grey).
_BADGE = {"held": "#009E73", "did not hold": "#D55E00", "unclear": "#777777"}

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; } .question { font-size: 1.25rem; margin-top: 0; }
.meta { color: #555; } .verdict { margin: 0.6rem 0; }
.badge { display: inline-block; color: #fff; border-radius: 0.3rem; padding: 0 0.45rem;
         font-weight: 600; margin-right: 0.4rem; }
code { background: #f3f3f3; padding: 0 0.2rem; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def lesson_link(lesson: Lesson, seeds: Sequence[int], epochs: int | None = None) -> str:
    """The query that opens the lesson on these seeds again: ``?lesson=...&seeds=...``
    (and ``&epochs=N`` when the runs were shortened)."""
    short = f"&epochs={epochs}" if epochs is not None else ""
    return f"?lesson={lesson.slug}&seeds={seeds_text(seeds)}{short}"


def _when(when: datetime) -> str:
    zone = when.strftime(" %Z") if when.tzinfo is not None else ""
    return when.strftime("%Y-%m-%d %H:%M") + zone


def _verdict(v: Verdict) -> str:
    colour = _BADGE.get(v.outcome, "#777777")
    return (
        f'<p class="verdict"><span class="badge" style="background:{colour}">'
        f"{_e(v.outcome)}</span>{_e(v.sentence)}</p>"
    )


def method_words(lesson: Lesson) -> str:
    """How the claims were tested: a claim between two arms is a paired t-test (arm a
    minus arm b, seed by seed); a claim on one arm tests its measure against the claim's
    bar (a one-sample t-test), which "paired" would misname."""
    claims = lesson.preset.claims
    kinds = []
    if any(c.b for c in claims):
        kinds.append("a claim between two arms is a paired 95% t-test over the seeds above")
    if any(not c.b for c in claims):
        kinds.append(
            "a claim on one arm is a one-sample 95% t-test of its measure against the "
            "claim's bar over the seeds above"
        )
    holm = " With several claims the p-values are Holm-corrected." if len(claims) > 1 else ""
    return "; ".join(kinds).capitalize() + "." + holm if kinds else ""


def handout_html(
    lesson: Lesson,
    figure: go.Figure,
    verdicts: Sequence[Verdict],
    seeds: Sequence[int],
    when: datetime,
    guess: str | None,
    epochs: int | None = None,
    key: str = "",
    page: str = "",
) -> str:
    """One self-contained HTML document: plotly.js inlined, no network, text escaped.
    ``epochs``: the runs were shortened to that many epochs (a link's ``epochs=``), which
    the handout says beside the setup and keeps in its link. ``key``: what the figure's
    lines are, as the page says under it (the handouts said nowhere which line was
    training and which validation). ``page``: the dashboard's address
    (``scheme://host:port/path``), which makes the link to these seeds one to click; without
    it the link is the query alone."""
    plot = figure.to_html(
        include_plotlyjs=True,
        full_html=False,
        config={"displaylogo": False, "responsive": True},
    )
    arms = "".join(f"<li>{_e(arm)}</li>" for arm in lesson.preset.arms)
    arms_intro = (
        "Arms compared (every arm trained on the same seeds, paired):"
        if len(lesson.preset.arms) > 1
        else "One arm, trained once per seed:"
    )
    guess_text = (
        f"Guess before running: <strong>{_e(guess)}</strong>"
        if guess
        else "No guess was recorded before running."
    )
    claims = "".join(_verdict(v) for v in verdicts) or "<p>This lesson makes no claim.</p>"
    short = (
        f"<p><strong>Short runs: {epochs} epochs each</strong>, not the setup's full length "
        f"(the link's <code>epochs={epochs}</code>).</p>\n"
        if epochs is not None
        else ""
    )
    query = lesson_link(lesson, seeds, epochs)
    again = (
        f'<a href="{_e(page + query)}">{_e(page + query)}</a>'
        if page
        else f"<code>{_e(query)}</code>"
    )
    legend = f'<p class="meta">{_e(key)}</p>\n' if key else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{_e(lesson.title)}: lesson handout</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{_e(lesson.title)}</h1>
<p class="question">{_e(lesson.question)}</p>
<p class="meta">Run on {_e(_when(when))} over {len(seeds)} seeds:
<code>{_e(seeds_text(seeds))}</code></p>
<h2>Setup</h2>
<p>{_e(lesson.setup)}</p>
{short}<p>{arms_intro}</p>
<ul>{arms}</ul>
<h2>Result</h2>
{plot}
{legend}<h2>Verdict</h2>
<p>{guess_text}</p>
{claims}
<p class="meta">{_e(method_words(lesson))} Fresh seeds may give another verdict: a lesson is an
experiment. To run these seeds again, open {again}{"" if page else " on the dashboard"}.</p>
</body>
</html>
"""
