"""The control state in the page URL: share a link, get the same setup.

Only fields that differ from the defaults go into the URL; with a classroom preset the
link names it (``preset=``) and holds what differs from the preset's setup. Reading is
forgiving: a malformed, repeated or hostile parameter is dropped (the default stands)
with a visible note, never an error page. A lesson's link is ``?lesson=<slug>``, with the
seeds of its last draw (``&seeds=1234-5678-...``) so that it reproduces that draw, and
optionally ``&epochs=N`` for short demonstration runs (``link_lesson``); outside a lesson,
``seeds=3`` is the sidebar's Seeds and ``vary_data_seed=1`` its box beside it, the Train
batch, and ``curve_seeds=5`` (``depth_seeds``, ``tradeoff_seeds``) a study form's Seeds
and ``curve_vary_data_seed=0`` (and so on) its box (``batch.py``: ``link_batch``,
``batch_params``). A view other than the one a link opens anyway is named
(``view=history``; Compare with its runs,
``&compare=3-5-7``: ``link_view``), so a copied address reopens what was on screen. The
URL never holds the owner's secret (mtl_core/dashboard/state.py): ``session=`` from
older links is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mtl_core.config import DEFAULT, FIELDS, PER_TASK, RunConfig, from_dict
from mtl_core.dashboard.batch import BATCH
from mtl_core.dashboard.viewnames import V, every_name, from_slug, view_slug
from mtl_core.data.datasets import DATASETS, get_dataset
from mtl_core.data.tasks import valid_tasks
from mtl_core.data.variants import VARIANTS
from mtl_core.errors import ConfigError, MtlError
from mtl_core.studies.lessons import LESSONS, PRESET_TITLES, parse_seeds, seeds_text
from mtl_core.studies.presets import PRESETS

MAX_PARAM_LENGTH = 500
MAX_NOTE_LENGTH = 240
# Read by link_lesson, link_run, link_view and link_batch, not as config fields.
NON_CONFIG_PARAMS = ("session", "run", "preset", "lesson", "view", "compare") + tuple(
    p.name for p in BATCH
)
MAX_COMPARED = 64  # runs a link's ``compare=`` may name
MAX_LESSON_EPOCHS = 1000
MAIN_TASK_FALLBACK = ("digit", "class", "left")  # as the sidebar picks one (controls.py)


def _number(value: float) -> str:
    """Short when exact (0.001, 2); else the shortest text that reads back the same float."""
    if isinstance(value, int):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))


def _encode(value: object) -> str:
    if isinstance(value, tuple | list):
        return ",".join(value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{_number(v)}" for k, v in sorted(value.items()))
    if isinstance(value, float):
        return _number(value)
    return str(value)


def config_to_params(config: RunConfig, preset: str | None = None) -> dict[str, str]:
    """URL parameters: the preset's name (if any), then the fields that differ from its
    setup (from the defaults without a preset)."""
    out = {}
    base = DEFAULT
    if preset in PRESETS:
        out["preset"] = preset
        base = PRESETS[preset].config
    for name in FIELDS:
        value = getattr(config, name)
        if value != getattr(base, name):
            out[name] = _encode(value)
    return out


def batch_params(batch: Mapping[str, object]) -> dict[str, str]:
    """The Train batch's part of a link (``seeds=3``) and the study forms' Seeds
    (``depth_seeds=5``): each control not at its default."""
    return {
        p.name: p.write(batch[p.name]) for p in BATCH if batch.get(p.name, p.default) != p.default
    }


def setup_params(
    config: RunConfig, preset: str | None, batch: Mapping[str, object]
) -> dict[str, str]:
    """A link's setup, what the share link copies and the address bar starts with: the
    config's part (``config_to_params``), then the Train batch's (``batch_params``)."""
    return config_to_params(config, preset) | batch_params(batch)


# A link may name a preset by its id (``Maxout U-curve``, what links are written with) or
# by the name the Preset box shows (its lesson card's title, ``Overfitting: the U``).
_PRESET_IDS = {title: name for name, title in PRESET_TITLES.items()} | {p: p for p in PRESETS}


def link_preset(params: Mapping[str, str | Sequence[str]]) -> str | None:
    """The classroom preset a link names, if it names exactly one known preset."""
    value = params.get("preset")
    values = [value] if isinstance(value, str) else list(value or [])
    return _PRESET_IDS.get(values[0]) if len(values) == 1 else None


def _single(params: Mapping[str, str | Sequence[str]], name: str) -> str | None:
    """The parameter's one value (a repeated one is noted by ``params_to_config``)."""
    value = params.get(name)
    values = [value] if isinstance(value, str) else list(value or [])
    return values[0] if len(values) == 1 else None


def link_lesson(
    params: Mapping[str, str | Sequence[str]],
) -> tuple[str | None, tuple[int, ...] | None, int | None, list[str]]:
    """The lesson a link opens, the seeds it reproduces and the epochs per run it sets for
    lessons (or None each), and one note per unusable part: an unknown lesson opens the
    landing view. ``epochs=N`` shortens the runs of any lesson opened from the link,
    from a card too (short demonstrations, the browser tests); the page says so."""
    slug = _single(params, "lesson")
    notes: list[str] = []
    epochs = None
    text = _single(params, "epochs")
    if text is not None:
        if text.isdigit() and 1 <= int(text) <= MAX_LESSON_EPOCHS:
            epochs = int(text)
        elif slug is not None:  # without a lesson, params_to_config notes it
            notes.append(
                f"ignored URL parameter 'epochs' for the lesson: {text[:40]!r} is not "
                f"a whole number from 1 to {MAX_LESSON_EPOCHS}"
            )
    if slug is None:
        return None, None, epochs, notes
    if slug not in LESSONS:
        known = ", ".join(LESSONS)
        notes.append(f"unknown lesson {slug[:40]!r}: pick one below ({known})")
        return None, None, epochs, notes
    seeds = None
    text = _single(params, "seeds")
    if text is not None and text.strip().isdigit():  # how many, as outside a lesson (batch.py)
        notes.append(
            f"ignored URL parameter 'seeds': in a lesson's link seeds= is its draw of seeds "
            f"joined by '-' (seeds=1234-5678-9012), not how many, so {text[:40]!r} is no "
            "draw: press Run for a fresh one, as many as its Seeds per arm slider says"
        )
    elif text is not None:
        try:
            seeds = parse_seeds(text[:MAX_PARAM_LENGTH])
        except MtlError as exc:
            notes.append(f"ignored URL parameter 'seeds': {_short(str(exc))}")
    return slug, seeds, epochs, notes


def link_batch(
    params: Mapping[str, str | Sequence[str]],
) -> tuple[dict[str, int | bool], list[str]]:
    """The Train batch and study forms' Seeds a link sets, every control (its default
    where the link says nothing), and one note per unusable part. In a lesson's link
    ``seeds=`` is the lesson's draw (``link_lesson``), so Seeds keeps its default there."""
    batch: dict[str, int | bool] = {p.name: p.default for p in BATCH}
    notes = []
    for p in BATCH:
        text = _single(params, p.name)  # a repeated one is noted by params_to_config
        if text is None or (p.lesson_owns and "lesson" in params):
            continue
        try:
            batch[p.name] = p.read(p.name, text[:MAX_PARAM_LENGTH])
        except ConfigError as exc:
            notes.append(f"ignored URL parameter {p.name!r}: {_short(str(exc))}")
    return batch, notes


def link_run(params: Mapping[str, str | Sequence[str]]) -> tuple[int | None, list[str]]:
    """The run a link opens in Live (``run=7``), or None, and a note when the value is
    not a run number (the page opens on the lessons, as with no ``run`` at all)."""
    text = _single(params, "run")
    if text is None:
        return None, []
    if text.isdigit() and len(text) <= 18:
        return int(text), []
    return None, [
        f"ignored URL parameter 'run': {text[:40]!r} is not a run number; a run's link "
        "reads ?run=7 (History lists the stored runs and their numbers)"
    ]


def link_view(
    params: Mapping[str, str | Sequence[str]],
) -> tuple[str | None, list[int] | None, list[str]]:
    """The view a link opens (``view=history``) and the runs its Compare overlays
    (``compare=3-5-7``), or None each, and a note per unusable part."""
    notes: list[str] = []
    text = _single(params, "view")
    view = None if text is None else from_slug(text)
    if text is not None and view is None:
        known = ", ".join(view_slug(name) for name in every_name())
        notes.append(f"ignored URL parameter 'view': {text[:40]!r} is not a view; one of {known}")
    compared = None
    text = _single(params, "compare")
    if text is not None:
        parts = text[:MAX_PARAM_LENGTH].split("-")
        if all(p.isdigit() and len(p) <= 18 for p in parts) and len(parts) <= MAX_COMPARED:
            compared = list(dict.fromkeys(int(p) for p in parts))
        else:
            notes.append(
                f"ignored URL parameter 'compare': {text[:40]!r} is not a list of run "
                f"numbers joined by '-' (at most {MAX_COMPARED}), e.g. compare=3-5-7"
            )
    return view, compared, notes


def view_params(view: str | None, default: str, compared: Sequence[int]) -> dict[str, str]:
    """The view's part of the address: nothing for the view the link opens anyway
    (``default``), else its slug, with the runs Compare overlays in the order of their
    numbers (one comparison, one address, whatever order its runs were picked in; its
    colours follow that order too: pages/compare.py)."""
    out = {} if view in (None, default) else {"view": view_slug(view)}
    if view == V.compare and compared:
        out["compare"] = "-".join(str(i) for i in sorted({int(i) for i in compared}))
    return out


def lesson_params(slug: str, seeds: Sequence[int] | None, epochs: int | None) -> dict[str, str]:
    """A lesson's link: its slug, the seeds of the draw shown, the epochs the link set."""
    out = {"lesson": slug}
    if seeds:
        out["seeds"] = seeds_text(seeds)
    if epochs is not None:
        out["epochs"] = str(epochs)
    return out


def _decode(name: str, text: str) -> object:
    default = getattr(DEFAULT, name)
    if isinstance(default, dict):
        items = {}
        for part in filter(None, text.split(",")):
            key, sep, number = part.partition(":")
            if not sep:
                raise ConfigError(name, f"expected task:number pairs, got {part!r}")
            items[key] = number
        return items
    return text  # from_dict coerces and validates the rest


def _build(data: dict[str, object], base: RunConfig) -> RunConfig:
    """``base`` with ``data`` over it; tasks that the link's dataset or variant does not
    offer give way (a main task to the one the sidebar would pick), unless the link sets
    them itself: ``?dataset=fashion-mnist`` alone means class, not a refused dataset."""
    full = {**base.to_dict(), **data}
    changes_tasks = "dataset" in data or "variant" in data
    if changes_tasks and full["dataset"] in DATASETS and full["variant"] in VARIANTS:
        valid = valid_tasks(get_dataset(str(full["dataset"])).family, str(full["variant"]))
        if "tasks" not in data:
            kept = [t for t in base.tasks if t in valid]
            fallback = next((t for t in MAIN_TASK_FALLBACK if t in valid), valid[0])
            full["tasks"] = kept or [fallback]
        if "aux" not in data:
            full["aux"] = [t for t in base.aux if t in valid and t not in full["tasks"]]
        tasks = set(full["tasks"]) | set(full["aux"])
        for name in PER_TASK:
            if name not in data:
                full[name] = {k: v for k, v in getattr(base, name).items() if k in tasks}
    return from_dict(full)


def _culprit(data: dict[str, object], error: ConfigError, base: RunConfig) -> str | None:
    """The parameter behind an error about a field the URL does not set (say variant=multi
    with aux=parity): the last one whose removal moves the error elsewhere."""
    for name in reversed(list(data)):
        try:
            _build({k: v for k, v in data.items() if k != name}, base)
        except ConfigError as exc:
            if exc.field == error.field:
                continue
        return name
    return next(reversed(list(data)), None)


_LONG_NUMBER = re.compile(r"\d{16,}")


def _short_number(match: re.Match) -> str:
    """A whole number of 16+ digits as ``1e+308`` (1e308 printed 309 digits in a note)."""
    digits = match.group(0).lstrip("0") or "0"
    mantissa = digits[0] + ("." + digits[1:4].rstrip("0") if digits[1:4].strip("0") else "")
    return f"{mantissa}e+{len(digits) - 1}"


def _short(text: str) -> str:
    """An error message fit for a note: long numbers in scientific notation, cut at a length."""
    text = _LONG_NUMBER.sub(_short_number, " ".join(text.split()))
    return text if len(text) <= MAX_NOTE_LENGTH else text[: MAX_NOTE_LENGTH - 1] + "…"


def params_to_config(
    params: Mapping[str, str | Sequence[str]],
) -> tuple[RunConfig, list[str]]:
    """The config a URL describes, and one note per parameter that had to be dropped.

    A parameter's value may be a list (``st.query_params.get_all``): a parameter given
    more than once is ambiguous and dropped like any other unusable one.
    """
    notes: list[str] = []
    data: dict[str, object] = {}
    base = DEFAULT
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        if len(values) > 1:
            shown = ", ".join(repr(v[:40]) for v in values[:3]) + (", …" if len(values) > 3 else "")
            notes.append(
                f"ignored URL parameter {name[:40]!r}: given {len(values)} times "
                f"({shown}); keep one"
            )
            continue
        if not values:
            continue
        text = values[0]
        if name == "preset":
            if text in _PRESET_IDS:
                base = PRESETS[_PRESET_IDS[text]].config
            else:
                notes.append(
                    f"ignored URL parameter 'preset': unknown preset {text[:40]!r}; "
                    f"presets (as the Preset box names them): {', '.join(PRESET_TITLES.values())}"
                )
            continue
        if name in NON_CONFIG_PARAMS:
            continue
        if name not in FIELDS:
            notes.append(f"ignored unknown URL parameter {name[:40]!r}")
            continue
        if len(text) > MAX_PARAM_LENGTH:
            notes.append(f"ignored URL parameter {name!r}: too long")
            continue
        try:
            data[name] = _decode(name, text)
        except ConfigError as exc:
            notes.append(f"ignored URL parameter {name!r}: {_short(str(exc))}")
    for _ in range(len(data) + 1):
        try:
            return _build(data, base), notes
        except ConfigError as exc:
            bad = exc.field.split(".")[0]
            if bad not in data:  # a cross-field problem: the URL left that field at its default
                bad = _culprit(data, exc, base)
            if bad is None:
                break
            notes.append(f"ignored URL parameter {bad!r}: {_short(str(exc))}")
            data.pop(bad)
    return base, notes
