"""The control state in the page URL: share a link, get the same setup.

Only fields that differ from the defaults go into the URL. Reading is forgiving: a
malformed or hostile parameter is dropped (the default stands) with a visible note,
never an error page.
"""

from __future__ import annotations

from collections.abc import Mapping

from mtl_core.config import DEFAULT, FIELDS, RunConfig, from_dict
from mtl_core.errors import ConfigError

MAX_PARAM_LENGTH = 500
NON_CONFIG_PARAMS = ("session", "run", "preset")


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


def config_to_params(config: RunConfig) -> dict[str, str]:
    """URL parameters for the fields that differ from the defaults."""
    out = {}
    for name in FIELDS:
        value = getattr(config, name)
        if value != getattr(DEFAULT, name):
            out[name] = _encode(value)
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


def _culprit(data: dict[str, object], error: ConfigError) -> str | None:
    """The parameter behind an error about a field the URL does not set (say variant=multi
    with the default task, digit): the last one whose removal moves the error elsewhere."""
    for name in reversed(list(data)):
        try:
            from_dict({k: v for k, v in data.items() if k != name})
        except ConfigError as exc:
            if exc.field == error.field:
                continue
        return name
    return next(reversed(list(data)), None)


def params_to_config(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """The config a URL describes, and one note per parameter that had to be dropped."""
    notes: list[str] = []
    data: dict[str, object] = {}
    for name, text in params.items():
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
            notes.append(f"ignored URL parameter {name!r}: {exc}")
    for _ in range(len(data) + 1):
        try:
            return from_dict(data), notes
        except ConfigError as exc:
            bad = exc.field.split(".")[0]
            if bad not in data:  # a cross-field problem: the URL left that field at its default
                bad = _culprit(data, exc)
            if bad is None:
                break
            notes.append(f"ignored URL parameter {bad!r}: {exc}")
            data.pop(bad)
    return DEFAULT, notes
