"""Controls a link carries that are no config fields: Train's batch and the study forms' Seeds.

Why a module of its own: Seeds and *also vary the data seed* are no config fields (a run
has one seed), yet they are part of the setup a link shares: a link copied with Seeds 3
opened on one seed and drew no band, and one with the box ticked drew no other images.
So are the Seeds of the Learning curve, Sharing depth and Trade-off forms and their
*also vary the data seed*: a link copied from a study trained with 5 seeds opened it on
3, and one from a study on one draw of images opened it on a fresh draw per seed. Each
control is declared once here, with its default and how a link writes and reads it; the
link (``urlstate.py``: ``batch_params``, ``link_batch``) and the controls' state
(``widgets/control_state.py``) derive from the declaration, and the sidebar
(``widgets/controls.py``: ``seed_controls``) or the view's form draws each control keyed
``c_<name>`` like a field's.
Plain data: no ``st.*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mtl_core.dashboard.viewnames import V
from mtl_core.errors import ConfigError
from mtl_core.studies.replicates import MAX_SEEDS


@dataclass(frozen=True)
class BatchParam:
    """One control a link carries beside the config, as a URL parameter (``?seeds=3``)."""

    name: str  # the URL parameter; the control is keyed ``c_<name>``
    default: int | bool  # left out of a link
    # (name, a link's text) -> the value, or a ConfigError naming the problem and the fix
    read: Callable[[str, str], int | bool]
    write: Callable[[int | bool], str]
    # A lesson's link gives the name a meaning of its own (``?lesson=...&seeds=1234-5678``:
    # the lesson's draw of seeds, urlstate.link_lesson); there this control keeps its default.
    lesson_owns: bool = False
    # The view whose form draws the control; None: the sidebar, drawn on every script run.
    view: str | None = None


def _seed_count(counts: str, lesson_draw: bool = False) -> Callable[[str, str], int]:
    """A reader of how many seeds ``counts`` ("Train trains"): ``"3"`` -> 3, from 1 to
    MAX_SEEDS; with ``lesson_draw``, a lesson's draw of seeds (1234-5678) is told apart."""

    def read(name: str, text: str) -> int:
        text = text.strip()
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SEEDS:
            return int(text)
        shown = repr(text[:40])
        if lesson_draw and re.fullmatch(r"[0-9]+(?:-[0-9]+)+", text):  # a lesson's link has one
            raise ConfigError(
                name,
                f"{shown} is a lesson's draw of seeds, and the link names no lesson: add "
                f"lesson=<slug> to open the lesson on it, or give how many seeds {counts}, "
                f"a whole number from 1 to {MAX_SEEDS} ({name}=3)",
            )
        raise ConfigError(
            name,
            f"{shown} is not a whole number from 1 to {MAX_SEEDS}; {name}= is how many seeds "
            f"{counts} ({name}=3)",
        )

    return read


_TICKS = dict.fromkeys(("1", "true", "yes", "on"), True) | dict.fromkeys(
    ("0", "false", "no", "off"), False
)


def _ticked(name: str, text: str) -> bool:
    """A box: ``1`` (or true, yes, on) ticks it, ``0`` (false, no, off) does not."""
    value = _TICKS.get(text.strip().lower())
    if value is None:
        raise ConfigError(name, f"{text[:40]!r} is neither 1 (ticked) nor 0 (not ticked): {name}=1")
    return value


def _tick(on: bool) -> str:
    return "1" if on else "0"


SEEDS = BatchParam("seeds", 1, _seed_count("Train trains", lesson_draw=True), str, lesson_owns=True)
VARY_DATA_SEED = BatchParam("vary_data_seed", False, _ticked, _tick)

STUDY_SEEDS_DEFAULT = 3  # a study form's Seeds until a link or the viewer sets it
CURVE_SEEDS = BatchParam(
    "curve_seeds",
    STUDY_SEEDS_DEFAULT,
    _seed_count("the Learning curve's form trains at each size and arm"),
    str,
    view=V.learning,
)
DEPTH_SEEDS = BatchParam(
    "depth_seeds",
    STUDY_SEEDS_DEFAULT,
    _seed_count("the Sharing depth form trains at each K"),
    str,
    view=V.depth,
)
TRADEOFF_SEEDS = BatchParam(
    "tradeoff_seeds",
    STUDY_SEEDS_DEFAULT,
    _seed_count("the Trade-off form trains for each arm"),
    str,
    view=V.pareto,
)
# A study form's "also vary the data seed" (ticked: each seed also draws other images)
CURVE_VARY = BatchParam("curve_vary_data_seed", True, _ticked, _tick, view=V.learning)
DEPTH_VARY = BatchParam("depth_vary_data_seed", True, _ticked, _tick, view=V.depth)
TRADEOFF_VARY = BatchParam("tradeoff_vary_data_seed", True, _ticked, _tick, view=V.pareto)
# Every control a link carries beside the config, in the order a link writes them.
BATCH = (
    SEEDS,
    VARY_DATA_SEED,
    CURVE_SEEDS,
    CURVE_VARY,
    DEPTH_SEEDS,
    DEPTH_VARY,
    TRADEOFF_SEEDS,
    TRADEOFF_VARY,
)
