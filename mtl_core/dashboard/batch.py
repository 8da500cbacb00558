"""The Train batch: how many seeds a Train click trains, and whether the data seed moves too.

Why a module of its own: Seeds and *also vary the data seed* are no config fields (a run
has one seed), yet they are part of the setup a link shares: a link copied with Seeds 3
opened on one seed and drew no band, and one with the box ticked drew no other images.
Each control is declared once here, with its default and how a link writes and reads it;
the link (``urlstate.py``: ``batch_params``, ``link_batch``) and the controls' state
(``widgets/control_state.py``) derive from the declaration, and the sidebar draws the
controls (``widgets/controls.py``: ``seed_controls``) keyed ``c_<name>`` like a field's.
Plain data: no ``st.*``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mtl_core.errors import ConfigError
from mtl_core.studies.replicates import MAX_SEEDS


@dataclass(frozen=True)
class BatchParam:
    """One control of the Train batch as a URL parameter (``?seeds=3``)."""

    name: str  # the URL parameter; the control is keyed ``c_<name>``
    default: int | bool  # left out of a link
    # (name, a link's text) -> the value, or a ConfigError naming the problem and the fix
    read: Callable[[str, str], int | bool]
    write: Callable[[int | bool], str]
    # A lesson's link gives the name a meaning of its own (``?lesson=...&seeds=1234-5678``:
    # the lesson's draw of seeds, urlstate.link_lesson); there this control keeps its default.
    lesson_owns: bool = False


def _seed_count(name: str, text: str) -> int:
    """``"3"`` -> 3, from 1 to MAX_SEEDS."""
    text = text.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_SEEDS:
        return int(text)
    shown = repr(text[:40])
    if re.fullmatch(r"[0-9]+(?:-[0-9]+)+", text):  # 1234-5678-9012, as a lesson's link has
        raise ConfigError(
            name,
            f"{shown} is a lesson's draw of seeds, and the link names no lesson: add "
            f"lesson=<slug> to open the lesson on it, or give how many seeds Train trains, "
            f"a whole number from 1 to {MAX_SEEDS} ({name}=3)",
        )
    raise ConfigError(
        name,
        f"{shown} is not a whole number from 1 to {MAX_SEEDS}; {name}= is how many seeds "
        f"Train trains ({name}=3)",
    )


_TICKS = dict.fromkeys(("1", "true", "yes", "on"), True) | dict.fromkeys(
    ("0", "false", "no", "off"), False
)


def _ticked(name: str, text: str) -> bool:
    """A box: ``1`` (or true, yes, on) ticks it, ``0`` (false, no, off) does not."""
    value = _TICKS.get(text.strip().lower())
    if value is None:
        raise ConfigError(name, f"{text[:40]!r} is neither 1 (ticked) nor 0 (not ticked): {name}=1")
    return value


SEEDS = BatchParam("seeds", 1, _seed_count, str, lesson_owns=True)
VARY_DATA_SEED = BatchParam("vary_data_seed", False, _ticked, lambda on: "1" if on else "0")
BATCH = (SEEDS, VARY_DATA_SEED)
