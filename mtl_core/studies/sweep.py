"""Sweep files: a grid of run configs × seeds, parsed, checked and expanded here.

A sweep file (YAML or JSON) names a ``base`` config, ``axes`` (config field -> list of
values), ``seeds`` (a list, or K meaning 0..K-1) and ``vary_data`` (also set data_seed to
each seed). It is checked like a run config: every problem is one ``ConfigError`` naming
the key and the fix, raised before anything is stored. Its parsed form (``to_dict``) is
what the store keeps as the sweep's spec, with values already in their field's type, so
the same file always gives the same spec (``--resume`` finds a sweep by it).

A combination of axis values that no config accepts (soft sharing without an auxiliary
task, say) is an error naming the combination, unless the caller asks to skip such
combinations: a grid is often wider than the valid region, but silently shrinking it
would hide a typo.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_core.config import FIELDS, LARGEST_NUMBER, RunConfig, coerce_field, from_dict, one_line
from mtl_core.errors import ConfigError
from mtl_core.studies.replicates import seed_name
from mtl_core.user_files import read_text
from mtl_core.written import as_written

KEYS = ("name", "base", "axes", "seeds", "vary_data")
MAX_SEEDS = 100
MAX_RUNS = 10_000
MAX_SEED = 2**31 - 1
SEED_KEYS = ("seed", "data_seed")


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file; values are JSON-ready (lists, not tuples)."""

    name: str
    base: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)
    vary_data: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The store's spec: ``{"name", "base", "axes", "seeds", "vary_data"}``."""
        return {
            "name": self.name,
            "base": dict(self.base),
            "axes": {k: list(v) for k, v in self.axes.items()},
            "seeds": list(self.seeds),
            "vary_data": self.vary_data,
        }

    def size(self) -> int:
        return math.prod(len(v) for v in self.axes.values()) * len(self.seeds)


@dataclass(frozen=True)
class SweepRun:
    """One run of a sweep: its config, its axis values and a readable name."""

    config: RunConfig
    values: dict[str, Any]
    name: str


@dataclass(frozen=True)
class Expansion:
    runs: list[SweepRun]
    skipped: list[str]  # combinations left out (with skip_invalid), each with its reason


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _field_value(where: str, name: str, value: Any) -> Any:
    try:
        return _jsonable(coerce_field(name, value))
    except ConfigError as exc:
        raise ConfigError(
            f"{where}.{one_line(str(name))}", str(exc)[len(exc.field) + 2 :]
        ) from None


def _check_field(where: str, name: Any, vary_data: bool) -> str:
    if not isinstance(name, str) or name not in FIELDS:
        raise ConfigError(
            f"{where}.{one_line(str(name))}",
            f"unknown config field; known fields: {', '.join(FIELDS)}",
        )
    if name == "seed":
        raise ConfigError(
            f"{where}.seed",
            "give seeds with the top-level `seeds:` key (a list, or K for seeds 0..K-1)",
        )
    if name == "data_seed" and vary_data:
        raise ConfigError(
            f"{where}.data_seed", "vary_data sets data_seed to each seed; drop one of the two"
        )
    return name


def _mapping(data: dict, key: str) -> dict:
    value = data.get(key, {})
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, f"expected a mapping of config field to value(s), got {value!r}")
    return value


def _seeds(value: Any) -> tuple[int, ...]:
    if isinstance(value, bool) or not isinstance(value, int | list):
        raise ConfigError("seeds", f"expected K (seeds 0..K-1) or a list of seeds, got {value!r}")
    if isinstance(value, int):
        if not 1 <= value <= MAX_SEEDS:
            shown = value if abs(value) <= LARGEST_NUMBER else "a huge number"
            raise ConfigError(
                "seeds", f"K must be a whole number from 1 to {MAX_SEEDS}, got {shown}"
            )
        return tuple(range(value))
    if not 1 <= len(value) <= MAX_SEEDS:
        raise ConfigError("seeds", f"list 1 to {MAX_SEEDS} seeds, got {len(value)}")
    for seed in value:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
            raise ConfigError(
                "seeds",
                f"each seed must be a whole number from 0 to {as_written(MAX_SEED)}, got {seed!r}",
            )
    if len(set(value)) != len(value):
        raise ConfigError("seeds", f"a seed is listed twice: {value}")
    return tuple(value)


def parse_sweep(data: Any, default_name: str = "sweep") -> SweepSpec:
    """Check a sweep file's content (already parsed from YAML/JSON) and normalise it."""
    if not isinstance(data, dict):
        raise ConfigError("sweep", f"expected a mapping with the keys {', '.join(KEYS)}")
    unknown = [k for k in data if k not in KEYS]
    if unknown:
        raise ConfigError(
            one_line(str(unknown[0])), f"unknown key; a sweep file has {', '.join(KEYS)}"
        )
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ConfigError("name", f"expected a name of 1 to 200 characters, got {name!r}")
    vary_data = data.get("vary_data", False)
    if not isinstance(vary_data, bool):
        raise ConfigError("vary_data", f"expected true or false, got {vary_data!r}")
    seeds = _seeds(data.get("seeds", 1))
    base = {}
    for key, value in _mapping(data, "base").items():
        key = _check_field("base", key, vary_data)
        base[key] = _field_value("base", key, value)
    axes: dict[str, list[Any]] = {}
    for key, values in _mapping(data, "axes").items():
        key = _check_field("axes", key, vary_data)
        if key in base:
            raise ConfigError(f"axes.{key}", "also set in base; keep it in one place")
        if not isinstance(values, list):
            raise ConfigError(
                f"axes.{key}",
                f"expected a list of values such as [a, b], got "
                f"{values!r}; write [{values!r}] for one value",
            )
        if not values:
            raise ConfigError(
                f"axes.{key}", "empty list: give at least one value, or drop the axis"
            )
        coerced = [_field_value("axes", key, v) for v in values]
        seen = set()
        for value in coerced:
            marker = json.dumps(value, sort_keys=True)
            if marker in seen:
                raise ConfigError(f"axes.{key}", f"{show(value)} is listed twice")
            seen.add(marker)
        axes[key] = coerced
    spec = SweepSpec(name.strip(), base, axes, seeds, vary_data)
    if spec.size() > MAX_RUNS:
        raise ConfigError(
            "axes",
            f"the sweep expands to {spec.size():,} runs; the limit is "
            f"{MAX_RUNS:,}: split it into several files",
        )
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep file: JSON for ``*.json``, YAML otherwise (YAML also reads JSON)."""
    path, where = Path(path), one_line(str(path))
    text = read_text(path, "sweep")
    return parse_sweep(_parse_text(text, where, path.suffix.lower() == ".json"), path.stem)


def _parse_text(text: str, where: str, is_json: bool) -> Any:
    if is_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                "sweep", f"{where} is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        except (ValueError, RecursionError):
            raise ConfigError(
                "sweep", f"{where} is not readable JSON (a number or nesting too large)"
            ) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError("sweep", f"{where} is not valid YAML or JSON ({problem}{line})") from None
    except (ValueError, RecursionError):
        raise ConfigError(
            "sweep", f"{where} is not readable YAML (a value or nesting too large)"
        ) from None


# -- expansion --------------------------------------------------------------------------


def show(value: Any) -> str:
    """An axis value as a run name shows it: lists joined by +, numbers short."""
    if isinstance(value, list):
        return "+".join(map(str, value)) if value else "none"
    if isinstance(value, dict):
        return "+".join(f"{k}:{show(v)}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return one_line(str(value))


def label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={show(v)}" for k, v in values.items())


def _combinations(spec: SweepSpec) -> Iterator[dict[str, Any]]:
    for combo in itertools.product(*spec.axes.values()):
        yield dict(zip(spec.axes, combo, strict=True))


def _seeded(spec: SweepSpec, values: dict[str, Any], seed: int) -> dict[str, Any]:
    data = {**spec.base, **values, "seed": seed}
    if spec.vary_data:
        data["data_seed"] = seed
    return data


def expand(spec: SweepSpec, skip_invalid: bool = False) -> Expansion:
    """Every run of the sweep: seeds outermost (a first pass over the whole grid comes
    first), then the axes in file order. Each config is validated."""
    valid: list[dict[str, Any]] = []
    failures: list[tuple[dict[str, Any], ConfigError]] = []
    for values in _combinations(spec):
        try:
            from_dict(_seeded(spec, values, spec.seeds[0]))
            valid.append(values)
        except ConfigError as exc:
            failures.append((values, exc))
    if failures and (not skip_invalid or not valid):
        raise _explain(spec, failures, bool(valid))
    runs = []
    for seed in spec.seeds:
        for values in valid:
            config = from_dict(_seeded(spec, values, seed))
            runs.append(SweepRun(config, values, seed_name(label(values), config, spec.vary_data)))
    skipped = [f"{label(v)} ({exc})" for v, exc in failures]
    return Expansion(runs, skipped)


def _explain(
    spec: SweepSpec, failures: list[tuple[dict, ConfigError]], any_valid: bool
) -> ConfigError:
    """One error for the invalid combinations: a bad axis value, a bad base, or a bad mix."""
    values, exc = failures[0]
    root = exc.field.split(".")[0]
    if root in spec.axes:
        bad = [v for v, _ in failures if v[root] == values[root]]
        if len(bad) == math.prod(len(a) for k, a in spec.axes.items() if k != root):
            return ConfigError(f"axes.{root}", f"{show(values[root])} is invalid here: {exc}")
    if not any_valid:
        where = f"base.{root}" if root in spec.base else root
        return ConfigError(where, str(exc)[len(exc.field) + 2 :] + " (in every combination)")
    return ConfigError(
        "axes",
        f"the combination {label(values)} is invalid ({exc}); change "
        "the axes, or pass --skip-invalid to leave such combinations "
        "out",
    )
