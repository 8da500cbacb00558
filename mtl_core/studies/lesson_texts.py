"""The words of the longer lessons, kept apart so that ``lessons.py`` stays one page.

A lesson's title, question and setup are read by a class (``lessons.py`` declares the
lesson itself). The setup of "Which tasks should share?" quotes what inter-task affinity
said in the tuning runs (seeds 0-4, bench/affinity_lesson.py, docs/lessons.md): the
numbers live in the words, so they are kept here beside them.
"""

from __future__ import annotations

# (title, question, setup)
WHICH_TASKS = (
    "Which tasks should share?",
    "Can one network, trained on every task, tell which partner helps the digit most?",
    "First one network learns the digit (100 labels) with magnitude and bbox (3,000 labels "
    "each). On every tuning seed (0-4), a training step on magnitude lowered the digit's loss "
    "more than a step on bbox (their affinity to the digit: +0.006 against −0.0005 on "
    "average). We compare training the digit with magnitude, the partner this suggests, and "
    "with bbox, beside that all-in-one network and the digit task alone.",
)
