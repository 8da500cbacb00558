"""Live's "What am I looking at?" against the project's own lessons.

It sat beside a digit + parity run and said that tasks computed from the main label on
the same images "add nothing new and can hurt": a verdict, on the very setup it explained,
that the *Sharing hurts* lesson shows a single run cannot give (at 3 seeds the claim held
on 20% of draws, docs/lessons.md, "How often a claim holds"). The text now sends the
reader to the lessons that measure it, by title; these tests hold it to them.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import torch

from mtl_core.config import RunConfig
from mtl_core.dashboard.widgets.explainer import TEXT
from mtl_core.data.tasks import get_task
from mtl_core.studies.lessons import LESSONS

BY_TITLE = {lesson.title: lesson for lesson in LESSONS.values()}


def named_lessons() -> list[str]:
    """The titles after "the lesson", as the page shows them (a line break is a space)."""
    return [" ".join(t.split()) for t in re.findall(r"the lesson\s+\*([^*]+)\*", TEXT)]


def config_of(title: str) -> RunConfig:
    return BY_TITLE[title].preset.config


def test_the_lessons_it_names_exist_under_those_titles():
    assert named_lessons() == ["Sharing helps", "Sharing hurts"]
    assert set(named_lessons()) <= set(BY_TITLE)


def test_sharing_helps_labels_its_extra_tasks_on_more_images_than_the_digits():
    """The text: "…labelled on more images: the lesson *Sharing helps*"."""
    config = config_of("Sharing helps")
    assert config.aux
    assert all(config.task_size(t) > config.task_size("digit") for t in config.aux)


def test_sharing_hurts_labels_parity_on_the_same_images_as_the_digits():
    """The text: "Parity labelled on the same images as the digits … the lesson
    *Sharing hurts* measures it over seeds"."""
    config = config_of("Sharing hurts")
    assert "parity" in config.aux and config.tasks == ("digit",)
    assert config.task_size("parity") == config.task_size("digit")
    assert BY_TITLE["Sharing hurts"].default_seeds > 1


def test_parity_follows_from_the_digit_label_and_is_a_supervised_task():
    """The text's *Supervised* examples: "…parity, odd or even, which follows from the
    digit label": a label computed from the digit, of the registry's supervised kind."""
    digits = torch.arange(10).repeat(3)
    parity = get_task("parity").make_target(SimpleNamespace(labels=digits))
    assert torch.equal(parity, digits % 2)
    examples = re.search(r"\*Supervised\*: [^(]*\(([^)]*)\)", TEXT).group(1)
    assert "loops" in examples and "parity" in examples
    assert {get_task(t).category for t in ("loops", "parity")} == {"supervised"}
