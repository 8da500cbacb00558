"""Where a benchmark's numbers go: one JSON file under bench/out/ (git-ignored).

Every benchmark printed what it measured and then wrote the same numbers the same way, in
three lines copied into each of them; they now call ``write_results``. The one percentile
two of them report (bench_class.py and its server_waits.py) is defined here once, so that
their p95s in one report are computed alike.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_results(path: Path, result: dict) -> None:
    """Write ``result`` to ``path`` as JSON (values it cannot encode as their text) and say
    where, relative to the checkout."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


def p95(values: list[float]) -> float | None:
    """The 95th percentile (nearest rank); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
